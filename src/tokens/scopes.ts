// Scopes: what a client may ask for, and which Discord scopes each needs.

/** OIDC scopes the bridge understands; others are ignored (OIDC Core 3.1.2.1 / RFC 6749 3.3). */
export const SUPPORTED_SCOPES = ["openid", "profile", "email", "guilds"] as const;
export type SupportedScope = (typeof SUPPORTED_SCOPES)[number];

/** The supported scopes present in a space-separated scope string, in canonical order. */
export function grantedScopes(scope: string): SupportedScope[] {
  const requested = new Set(scope.split(" ").filter(Boolean));
  return SUPPORTED_SCOPES.filter((s) => requested.has(s));
}
