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

/** Does the client refuse users by guild or role at login? */
const hasGate = (client: ClientConfig) => client.requireGuilds.length > 0 || client.requireRoles.length > 0;

/** Does the configuration say anything about guilds (so the guilds scope is meant to be used)? */
export function usesGuilds(config: GuildConfig, clients: readonly ClientConfig[]): boolean {
  return (
    config.include !== undefined || config.roleGuilds.length > 0 || Object.keys(config.groups).length > 0 ||
    clients.some(hasGate)
  );
}

/** Guilds whose roles the claims need: roleGuilds and the guilds of aliases with anyRole. */
function claimRoleGuilds(config: GuildConfig): Set<string> {
  const out = new Set(config.roleGuilds);
  for (const alias of Object.values(config.groups)) if (alias.anyRole) out.add(alias.guild);
  return out;
}

/** Guilds whose roles a client's requireRoles rule needs. */
function gateRoleGuilds(config: GuildConfig, client: ClientConfig): Set<string> {
  const out = new Set<string>();
  for (const entry of client.requireRoles) {
    const alias = config.groups[entry];
    if (!alias) out.add(entry.split(":")[0] ?? "");
    else if (alias.anyRole) out.add(alias.guild);
  }
  return out;
}

/** Every guild a login may make a member call to, whatever the client and scopes. */
export function memberCallGuilds(config: GuildConfig, clients: readonly ClientConfig[]): string[] {
  const out = claimRoleGuilds(config);
  for (const client of clients) for (const g of gateRoleGuilds(config, client)) out.add(g);
  return [...out];
}

export function guildPlan(config: GuildConfig, client: ClientConfig, scopes: readonly SupportedScope[]): GuildPlan {
  const claims = scopes.includes("guilds");
  const guilds = claims || hasGate(client);
  if (!guilds) return { guilds, roleGuilds: [], claims };
  const roleGuilds = gateRoleGuilds(config, client);
  if (claims) for (const g of claimRoleGuilds(config)) roleGuilds.add(g);
  return { guilds, roleGuilds: [...roleGuilds], claims };
}

/** The Discord scopes a login needs. Roles come from the user's token unless a bot token reads them. */
export function discordScopesFor(scopes: readonly SupportedScope[], plan: GuildPlan, botToken: string | undefined): string[] {
  const out = ["identify"];
  if (scopes.includes("email")) out.push("email");
  if (plan.guilds) out.push("guilds");
  if (plan.roleGuilds.length > 0 && !botToken) out.push("guilds.members.read");
  return out;
}
