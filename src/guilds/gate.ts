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

/**
 * The entries of a client's rule a user met at login ("none": the client has no rule), which the
 * login ledger records (src/ledger/).
 */
export type PassedRule = "none" | { readonly requireGuilds: readonly string[]; readonly requireRoles: readonly string[] };

export type GateResult = { readonly allowed: true; readonly passed: PassedRule } | Refusal;

export function checkGate(client: ClientConfig, m: Membership, config: GuildConfig): GateResult {
  const guilds = client.requireGuilds.filter((g) => m.guildIds.includes(g));
  if (client.requireGuilds.length > 0 && guilds.length === 0) {
    return { allowed: false, reason: "not_in_required_guild", guilds: client.requireGuilds, needs: client.requireGuilds };
  }
  const roles = client.requireRoles.filter((entry) => holds(m, entry, config));
  if (client.requireRoles.length > 0 && roles.length === 0) {
    const guilds = client.requireRoles.map((e) => config.groups[e]?.guild ?? e.split(":")[0] ?? "");
    return { allowed: false, reason: "missing_required_role", guilds: [...new Set(guilds)], needs: client.requireRoles };
  }
  return { allowed: true, passed: guilds.length + roles.length === 0 ? "none" : { requireGuilds: guilds, requireRoles: roles } };
}
