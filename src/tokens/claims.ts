// User claims from a Discord identity, filtered by the granted scopes (OIDC Core 5.4).
import type { DiscordUser } from "../discord/client";
import type { SupportedScope } from "./scopes";

export const CDN = "https://cdn.discordapp.com";

/** Discord's avatar URL, or its default avatar for users without one. */
export function avatarUrl(user: DiscordUser): string {
  if (user.avatar) return `${CDN}/avatars/${user.id}/${user.avatar}.png`;
  // Default avatars for migrated (discriminator "0") users: (id >> 22) % 6.
  const index = Number((BigInt(user.id) >> 22n) % 6n);
  return `${CDN}/embed/avatars/${index}.png`;
}

export type UserClaims = Record<string, string | boolean | readonly string[]>;

/** What a client gets for a user without a Discord-verified email (ClientConfig.syntheticEmailDomain). */
export interface EmailPolicy {
  readonly syntheticEmailDomain: string | undefined;
}

/**
 * The email claims. Cloudflare Access takes `email` as the user's identity and never looks at
 * `email_verified`, so an address Discord has not verified is never sent: anyone can type someone
 * else's address into Discord. A synthetic `<id>@<domain>` stands in when the client asks for one; it
 * names the Discord account, not a mailbox, so it is never `email_verified: true`.
 */
function emailClaims(user: DiscordUser, policy: EmailPolicy): UserClaims {
  if (user.verified === true && typeof user.email === "string" && user.email !== "") return { email: user.email, email_verified: true };
  if (policy.syntheticEmailDomain !== undefined) return { email: `${user.id}@${policy.syntheticEmailDomain}`, email_verified: false };
  return {};
}

export function claimsFor(user: DiscordUser, scopes: readonly SupportedScope[], policy: EmailPolicy): UserClaims {
  const claims: UserClaims = { id: user.id };
  if (scopes.includes("profile")) {
    claims.preferred_username = user.username;
    claims.name = user.global_name || user.username;
    claims.picture = avatarUrl(user);
  }
  if (scopes.includes("email")) Object.assign(claims, emailClaims(user, policy));
  return claims;
}
