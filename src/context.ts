// What every endpoint handler receives besides the request.
import type { Settings } from "./config";

export interface RequestContext {
  readonly env: Env;
  readonly exec: ExecutionContext;
  readonly settings: Settings;
  /** The issuer for this request: the configured one, or the request's origin. */
  readonly issuer: string;
}

export function issuerFor(settings: Settings, request: Request): string {
  return settings.issuer ?? new URL(request.url).origin;
}

/** Where Discord sends the browser back to. Register exactly this URL in the Discord application. */
export function discordRedirectUri(issuer: string): string {
  return `${issuer}/callback`;
}
