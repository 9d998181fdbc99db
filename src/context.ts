// What every endpoint handler receives besides the request.
import { base64url } from "jose";
import { isLocalHost, type Settings } from "./config";

export interface RequestContext {
  readonly env: Env;
  readonly exec: ExecutionContext;
  readonly settings: Settings;
  /** The issuer: the configured one, or on a local run the request's origin. */
  readonly issuer: string;
  /** This request's id: in its log lines and in any error page or JSON error it gets. */
  readonly requestId: string;
}

/** A short id for one request (8 base64url characters, 48 random bits): enough to find its log line. */
export function newRequestId(): string {
  return base64url.encode(crypto.getRandomValues(new Uint8Array(6)));
}


/**
 * The issuer for this request: the configured one. Without one, only a local run may default to the
 * request's origin: a deployed bridge answering as whatever host a request names would be several
 * issuers at once (workers.dev and a custom domain), and would send Discord a redirect_uri on that host.
 */
export function issuerFor(settings: Settings, request: Request): string | undefined {
  if (settings.issuer !== undefined) return settings.issuer;
  const url = new URL(request.url);
  return isLocalHost(url.hostname) ? url.origin : undefined;
}

/** Where Discord sends the browser back to. Register exactly this URL in the Discord application. */
export function discordRedirectUri(issuer: string): string {
  return `${issuer}/callback`;
}
