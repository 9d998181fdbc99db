// Authorization responses back to the client's redirect_uri, always with `iss` (RFC 9207).
// Only ever called with a redirect_uri that was checked against the client's registration.
import type { OAuthError } from "../errors";
import { redirect } from "../http";

function withParams(redirectUri: string, params: Record<string, string | undefined>): string {
  const url = new URL(redirectUri);
  for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.append(k, v);
  return url.toString();
}

/** Where an RFC 6749 4.1.2.1 error response sends the browser (also used as a link on our pages). */
export function errorLocation(redirectUri: string, err: OAuthError, state: string | undefined, issuer: string): string {
  return withParams(redirectUri, { error: err.error, error_description: err.description, state, iss: issuer });
}

/** RFC 6749 4.1.2.1 error response. */
export function errorRedirect(redirectUri: string, err: OAuthError, state: string | undefined, issuer: string): Response {
  return redirect(errorLocation(redirectUri, err, state, issuer));
}

/** RFC 6749 4.1.2 success response. */
export function codeRedirect(redirectUri: string, code: string, state: string | undefined, issuer: string): Response {
  return redirect(withParams(redirectUri, { code, state, iss: issuer }));
}
