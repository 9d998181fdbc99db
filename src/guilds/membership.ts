// A user's Discord standing as the bridge sees it: guild ids and roles per configured guild, and the
// group aliases that follow from them.
import type { GroupAlias, GuildConfig } from "../config";

export interface Membership {
  /** All the user's guild ids, as Discord listed them. */
  readonly guildIds: readonly string[];
  /** Roles in each configured role guild the user belongs to. */
  readonly roles: Readonly<Record<string, readonly string[]>>;
}

export function inAlias(m: Membership, alias: GroupAlias): boolean {
  if (!m.guildIds.includes(alias.guild)) return false;
  if (!alias.anyRole) return true;
  const roles = m.roles[alias.guild] ?? [];
  return alias.anyRole.some((r) => roles.includes(r));
}

/** Does the user hold `entry`: "<guildId>:<roleId>" or an alias name? */
export function holds(m: Membership, entry: string, config: GuildConfig): boolean {
  const alias = config.groups[entry];
  if (alias) return inAlias(m, alias);
  const [guild = "", role = ""] = entry.split(":");
  return (m.roles[guild] ?? []).includes(role);
}

/** The ID token claims: `guilds`, `roles:<guildId>` and the flat `groups` an Access rule matches on. */
export function guildClaims(m: Membership, config: GuildConfig): Record<string, string[]> {
  const guilds = config.include ? m.guildIds.filter((g) => config.include?.includes(g)) : [...m.guildIds];
  const claims: Record<string, string[]> = { guilds };
  const groups = [...guilds];
  for (const guild of config.roleGuilds) {
    const roles = m.roles[guild];
    if (!roles) continue;
    claims[`roles:${guild}`] = [...roles];
    for (const role of roles) groups.push(`${guild}:${role}`);
  }
  for (const [name, alias] of Object.entries(config.groups)) if (inAlias(m, alias)) groups.push(name);
  claims.groups = groups;
  return claims;
}
