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

export function claimsFor(user: DiscordUser, scopes: readonly SupportedScope[]): UserClaims {
  const claims: UserClaims = { id: user.id };
  if (scopes.includes("profile")) {
    claims.preferred_username = user.username;
    claims.name = user.global_name || user.username;
    claims.picture = avatarUrl(user);
  }
  if (scopes.includes("email") && typeof user.email === "string" && user.email !== "") {
    claims.email = user.email;
    // Only Discord's own word makes an address verified.
    claims.email_verified = user.verified === true;
  }
  return claims;
}
