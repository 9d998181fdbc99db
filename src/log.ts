// Structured logs: one JSON line per login outcome and per refused request, each with the request's id
// (which its error page or JSON error shows too). Never a token, code, secret or cookie value.
import type { OAuthError, OAuthErrorCode } from "./errors";
import type { Reason } from "./reasons";

export type LoginResult = "code_issued" | "token_issued" | "denied" | "error";

export interface LoginEvent {
  readonly step: "authorize" | "callback" | "token";
  readonly result: LoginResult;
  readonly requestId: string;
  readonly client?: string | undefined;
  readonly discordUserId?: string | undefined;
  /** A stable code from REASONS (README "Troubleshooting"), e.g. "code_unknown" or "discord:rate_limited". */
  readonly reason?: Reason | undefined;
  /** The OAuth error code the client was given, if any. */
  readonly error?: OAuthErrorCode | undefined;
}

export function logLogin(event: LoginEvent): void {
  const line = {
    event: "login",
    step: event.step,
    result: event.result,
    client: event.client ?? null,
    discord_user_id: event.discordUserId ?? null,
    reason: event.reason ?? null,
    ...(event.error !== undefined && { error: event.error }),
    request_id: event.requestId,
    time: new Date().toISOString(),
  };
  if (event.result === "error") console.error(JSON.stringify(line));
  else console.log(JSON.stringify(line));
}

/** A login step a client got an OAuthError for: its reason and error code. */
export function logDenied(step: LoginEvent["step"], requestId: string, err: OAuthError, who: { client?: string | undefined; discordUserId?: string | undefined } = {}): void {
  logLogin({ step, result: "denied", requestId, reason: err.detail, error: err.error, ...who });
}

/** A refused request outside a login (/userinfo, an unknown path, a bridge that is not set up). */
export function logRefused(requestId: string, path: string, status: number, reason: Reason, error?: OAuthErrorCode): void {
  const line = { event: "request_refused", path: path.slice(0, 100), status, reason, ...(error !== undefined && { error }), request_id: requestId, time: new Date().toISOString() };
  if (status >= 500) console.error(JSON.stringify(line));
  else console.log(JSON.stringify(line));
}

/** For failures nobody else reports: the error's name and message only, never a stack or request body. */
export function logUnexpected(where: string, err: unknown, requestId?: string): void {
  const name = err instanceof Error ? err.name : typeof err;
  const message = err instanceof Error ? err.message : String(err);
  console.error(JSON.stringify({ event: "unexpected_error", where, name, message, ...(requestId !== undefined && { request_id: requestId }), time: new Date().toISOString() }));
}
