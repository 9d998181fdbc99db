// Structured logs: one JSON line per login outcome. Never a token, code, secret or cookie value.

export type LoginResult = "code_issued" | "token_issued" | "denied" | "error";

export interface LoginEvent {
  readonly step: "authorize" | "callback" | "token";
  readonly result: LoginResult;
  readonly client?: string | undefined;
  readonly discordUserId?: string | undefined;
  /** A short stable reason, e.g. "invalid_grant:code_unknown" or "discord:rate_limited". */
  readonly reason?: string | undefined;
}

export function logLogin(event: LoginEvent): void {
  const line = {
    event: "login",
    step: event.step,
    result: event.result,
    client: event.client ?? null,
    discord_user_id: event.discordUserId ?? null,
    reason: event.reason ?? null,
    time: new Date().toISOString(),
  };
  if (event.result === "error") console.error(JSON.stringify(line));
  else console.log(JSON.stringify(line));
}

/** For failures nobody else reports: the error's name and message only, never a stack or request body. */
export function logUnexpected(where: string, err: unknown): void {
  const name = err instanceof Error ? err.name : typeof err;
  const message = err instanceof Error ? err.message : String(err);
  console.error(JSON.stringify({ event: "unexpected_error", where, name, message, time: new Date().toISOString() }));
}
