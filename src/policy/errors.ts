// Stable reason codes for every way a request can fail the helper, for logs, tests and `switch`.

/** Why a token was not accepted (the request gets 401). */
export type AuthFailure =
  | "token_missing"
  | "token_malformed"
  | "token_expired"
  | "token_not_yet_valid"
  | "wrong_issuer"
  | "wrong_audience"
  | "bad_signature"
  | "alg_not_allowed"
  | "keys_unavailable";

export class AuthError extends Error {
  readonly code: AuthFailure;
  constructor(code: AuthFailure, message: string) {
    super(message);
    this.name = "AuthError";
    this.code = code;
  }
}

/** A policy or option that cannot work, thrown when it is created; `path` names the bad part. */
export class PolicyConfigError extends TypeError {
  readonly path: string;
  constructor(path: string, message: string) {
    super(`${path}: ${message}`);
    this.name = "PolicyConfigError";
    this.path = path;
  }
}
