// Authorization responses back to the client's redirect_uri, always with `iss` (RFC 9207), in the
// client's response mode: a 302 with the query (RFC 6749 4.1.2) or a page that posts the parameters
// (OAuth 2.0 Form Post Response Mode). Only ever called with a redirect_uri that was checked against
// the client's registration.
import type { OAuthError } from "../errors";
import { formPostPage, redirect } from "../http";

/** The response modes the authorization endpoint supports (discovery lists them). */
export const RESPONSE_MODES = ["query", "form_post"] as const;
export type ResponseMode = (typeof RESPONSE_MODES)[number];

export function isResponseMode(value: unknown): value is ResponseMode {
  return (RESPONSE_MODES as readonly unknown[]).includes(value);
}

function withParams(redirectUri: string, params: Record<string, string | undefined>): string {
  const url = new URL(redirectUri);
  for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.append(k, v);
  return url.toString();
}

/** Where an RFC 6749 4.1.2.1 error response sends the browser (also used as a link on our pages). */
export function errorLocation(redirectUri: string, err: OAuthError, state: string | undefined, issuer: string): string {
  return withParams(redirectUri, errorParams(err, state, issuer));
}

/** The parameters of an RFC 6749 4.1.2.1 error response. */
export function errorParams(err: OAuthError, state: string | undefined, issuer: string): Record<string, string | undefined> {
  return { error: err.error, error_description: err.description, state, iss: issuer };
}

function respond(redirectUri: string, params: Record<string, string | undefined>, mode: ResponseMode): Response {
  return mode === "form_post" ? formPostPage(redirectUri, params) : redirect(withParams(redirectUri, params));
}

/** RFC 6749 4.1.2.1 error response. */
export function errorRedirect(redirectUri: string, err: OAuthError, state: string | undefined, issuer: string, mode: ResponseMode = "query"): Response {
  return respond(redirectUri, errorParams(err, state, issuer), mode);
}

/** RFC 6749 4.1.2 success response. */
export function codeRedirect(redirectUri: string, code: string, state: string | undefined, issuer: string, mode: ResponseMode = "query"): Response {
  return respond(redirectUri, { code, state, iss: issuer }, mode);
}
