// What every endpoint handler receives besides the request.
import type { Settings } from "./config";

export interface RequestContext {
  readonly env: Env;
  readonly exec: ExecutionContext;
  readonly settings: Settings;
  /** The issuer: the configured one, or on a local run the request's origin. */
  readonly issuer: string;
}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/;

/**
 * The issuer for this request: the configured one. Without one, only a local run may default to the
 * request's origin: a deployed bridge answering as whatever host a request names would be several
 * issuers at once (workers.dev and a custom domain), and would send Discord a redirect_uri on that host.
 */
export function issuerFor(settings: Settings, request: Request): string | undefined {
  if (settings.issuer !== undefined) return settings.issuer;
  const url = new URL(request.url);
  return LOOPBACK.test(url.hostname) ? url.origin : undefined;
}

/** Where Discord sends the browser back to. Register exactly this URL in the Discord application. */
export function discordRedirectUri(issuer: string): string {
  return `${issuer}/callback`;
}
