// /authorize: the client and its redirect_uri, checked before anything may redirect
// (RFC 6749 4.1.2.1, OIDC Core 3.1.2.1: exact redirect_uri match against the registration).
import { findClient, type ClientConfig, type Settings } from "../config";
import { OAuthError } from "../errors";
import type { Params } from "./params";

export interface ClientAndRedirect {
  readonly client: ClientConfig;
  readonly redirectUri: string;
}

/** Throws OAuthError; the caller must show it as a page, never redirect. */
export function checkClientAndRedirect(settings: Settings, params: Params): ClientAndRedirect {
  if (params.duplicates.includes("client_id")) throw new OAuthError("invalid_request", "client_id is repeated.", { detail: "param_repeated" });
  if (params.duplicates.includes("redirect_uri")) throw new OAuthError("invalid_request", "redirect_uri is repeated.", { detail: "param_repeated" });
  const clientId = params.values.get("client_id");
  if (!clientId) throw new OAuthError("invalid_request", "The request has no client_id.", { detail: "client_id_missing" });
  const client = findClient(settings, clientId);
  if (!client) throw new OAuthError("invalid_client", "The application (client_id) is not registered with this login service.", { detail: "unknown_client" });
  const redirectUri = params.values.get("redirect_uri");
  if (!redirectUri) throw new OAuthError("invalid_request", "The request has no redirect_uri.", { detail: "redirect_uri_missing" });
  if (!client.redirectUris.includes(redirectUri)) {
    throw new OAuthError("invalid_request", "The redirect_uri is not registered for this application.", { detail: "unregistered_redirect_uri" });
  }
  return { client, redirectUri };
}
