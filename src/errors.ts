// The two error families: ConfigError (operator mistakes, found once at startup) and OAuthError
// (client mistakes, answered in the protocol's own format). Public text and log-only detail stay apart.
import type { Reason } from "./reasons";

/** An invalid configuration: each problem names the exact field (e.g. `clients[0].redirectUris[1]`). */
export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid configuration:\n  - ${problems.join("\n  - ")}`);
    this.name = "ConfigError";
    this.problems = problems;
  }
}

/** RFC 6749 section 4.1.2.1 / 5.2 and OIDC Core 3.1.2.6 error codes the bridge emits. */
export type OAuthErrorCode =
  | "invalid_request"
  | "invalid_client"
  | "invalid_grant"
  | "unauthorized_client"
  | "unsupported_grant_type"
  | "unsupported_response_type"
  | "invalid_scope"
  | "access_denied"
  | "server_error"
  | "temporarily_unavailable"
  | "login_required"
  | "request_not_supported"
  | "request_uri_not_supported"
  | "invalid_token";

const DEFAULT_STATUS: Partial<Record<OAuthErrorCode, number>> = {
  invalid_client: 401,
  invalid_token: 401,
  server_error: 500,
  temporarily_unavailable: 503,
};

/** An error a client caused or must hear about. `description` goes on the wire; `detail` (a stable reason code) to logs. */
export class OAuthError extends Error {
  readonly error: OAuthErrorCode;
  readonly description: string;
  readonly status: number;
  readonly detail: Reason;
  constructor(error: OAuthErrorCode, description: string, options: { status?: number; detail: Reason }) {
    super(`${error}: ${description}`);
    this.name = "OAuthError";
    this.error = error;
    this.description = description;
    this.status = options.status ?? DEFAULT_STATUS[error] ?? 400;
    this.detail = options.detail;
  }
}
