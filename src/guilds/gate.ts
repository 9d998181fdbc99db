// Login gating (clients[].requireGuilds / requireRoles), checked at /callback where the browser is.
import type { ClientConfig, GuildConfig } from "../config";
import { holds, type Membership } from "./membership";

export interface Refusal {
  readonly allowed: false;
  readonly reason: "not_in_required_guild" | "missing_required_role";
  /** The guilds the rule is about, for the refusal page. */
  readonly guilds: readonly string[];
  /** The rule's entries the user lacks (requireRoles: aliases or "<guildId>:<roleId>"). */
  readonly needs: readonly string[];
}

export type GateResult = { readonly allowed: true } | Refusal;

export function checkGate(client: ClientConfig, m: Membership, config: GuildConfig): GateResult {
  if (client.requireGuilds.length > 0 && !client.requireGuilds.some((g) => m.guildIds.includes(g))) {
    return { allowed: false, reason: "not_in_required_guild", guilds: client.requireGuilds, needs: client.requireGuilds };
  }
  if (client.requireRoles.length > 0 && !client.requireRoles.some((entry) => holds(m, entry, config))) {
    const guilds = client.requireRoles.map((e) => config.groups[e]?.guild ?? e.split(":")[0] ?? "");
    return { allowed: false, reason: "missing_required_role", guilds: [...new Set(guilds)], needs: client.requireRoles };
  }
  return { allowed: true };
}
