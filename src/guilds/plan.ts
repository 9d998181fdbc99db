// What a login needs from Discord beyond the user: the guild list, and roles in which guilds.
// Member calls go only to configured guilds (role guilds, group aliases with roles, required roles).
import type { ClientConfig, GuildConfig } from "../config";
import type { SupportedScope } from "../tokens/scopes";

export interface GuildPlan {
  /** Fetch the user's guild list (for claims or for the client's membership check). */
  readonly guilds: boolean;
  /** Configured guilds whose roles matter; member calls go to those the user is in. */
  readonly roleGuilds: readonly string[];
  /** Put guilds/roles/groups claims in the tokens (the `guilds` scope was granted). */
  readonly claims: boolean;
}

export function guildPlan(config: GuildConfig, client: ClientConfig, scopes: readonly SupportedScope[]): GuildPlan {
  const claims = scopes.includes("guilds");
  const gate = client.requireGuilds.length > 0 || client.requireRoles.length > 0;
  const guilds = claims || gate;
  const roleGuilds = new Set<string>();
  if (claims) {
    for (const g of config.roleGuilds) roleGuilds.add(g);
    for (const alias of Object.values(config.groups)) if (alias.anyRole) roleGuilds.add(alias.guild);
  }
  for (const entry of client.requireRoles) {
    const alias = config.groups[entry];
    if (alias) {
      if (alias.anyRole) roleGuilds.add(alias.guild);
    } else {
      roleGuilds.add(entry.split(":")[0] ?? "");
    }
  }
  return { guilds, roleGuilds: guilds ? [...roleGuilds] : [], claims };
}

/** The Discord scopes a login needs. Roles come from the user's token unless a bot token reads them. */
export function discordScopesFor(scopes: readonly SupportedScope[], plan: GuildPlan, botToken: string | undefined): string[] {
  const out = ["identify"];
  if (scopes.includes("email")) out.push("email");
  if (plan.guilds) out.push("guilds");
  if (plan.roleGuilds.length > 0 && !botToken) out.push("guilds.members.read");
  return out;
}
