// /authorize: the client and its redirect_uri, checked before anything may redirect
// (RFC 6749 4.1.2.1, OIDC Core 3.1.2.1: exact redirect_uri match against the registration).
import { findClient, type ClientConfig, type Settings } from "../config";
import { OAuthError } from "../errors";
import type { Params } from "./params";

export interface ClientAndRedirect {
  readonly client: ClientConfig;
  readonly redirectUri: string;
}

/** http loopback IP literals, whose port a native or local app picks at run time (RFC 8252 7.3). */
const LOOPBACK_IP = new Set(["127.0.0.1", "[::1]"]);

/** The URI without its port when it is an http loopback IP redirect, else undefined. */
function portless(uri: string): string | undefined {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return undefined;
  }
  if (url.protocol !== "http:" || !LOOPBACK_IP.has(url.hostname)) return undefined;
  url.port = "";
  return url.href;
}

/**
 * Whether `uri` is one of the client's redirect URIs: exactly (RFC 6749 3.1.2.3, OIDC Core 3.1.2.1), or
 * for an http loopback IP redirect with any port (RFC 8252 7.3: the authorization server MUST allow it).
 * The port is the only part that may differ; `localhost` and https URIs match exactly.
 */
export function isRegisteredRedirect(client: ClientConfig, uri: string): boolean {
  if (client.redirectUris.includes(uri)) return true;
  const wanted = portless(uri);
  return wanted !== undefined && client.redirectUris.some((r) => portless(r) === wanted);
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
  if (!isRegisteredRedirect(client, redirectUri)) {
    throw new OAuthError("invalid_request", "The redirect_uri is not registered for this application.", { detail: "unregistered_redirect_uri" });
  }
  return { client, redirectUri };
}
