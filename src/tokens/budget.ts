// The claim budget: Cloudflare Access carries the identity in a cookie (about 4 KB in browsers), so
// the ID token must stay well inside it. Tokens over the budget are still issued, but logged.

export const ID_TOKEN_BUDGET_BYTES = 3000;

/** Bytes one guild id adds to the ID token when it appears in `guilds` and `groups` (JSON, base64url). */
export const BYTES_PER_LISTED_GUILD = Math.ceil((2 * '"300000000000000001",'.length * 4) / 3);

export function overBudget(idToken: string): boolean {
  return idToken.length > ID_TOKEN_BUDGET_BYTES;
}
