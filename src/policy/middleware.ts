// Protect a handler: verify the token, check the policy (and the live membership, if asked), and
// answer 401 or 403 with a fixed JSON body that tells an attacker nothing; otherwise hand the
// verified identity to the handler. One guard, two shapes: a plain fetch wrapper and itty-router
// middleware (a function that returns a Response to stop, or nothing to go on).
import { AuthError, type AuthFailure } from "./errors.js";
import type { DiscordIdentity } from "./identity.js";
import type { LiveCheck, LiveReason } from "./live.js";
import { evaluate, parsePolicy, type DecisionReason, type Policy } from "./rules.js";
import type { Verifier } from "./verify.js";

export interface GuardOptions {
  readonly verifier: Verifier;
  /** Who may pass; checked once here (JSON from config is fine). Without one, any verified token passes. */
  readonly policy?: Policy;
  /** A live check (liveMembership) run after the policy allows. */
  readonly live?: LiveCheck;
  /** Told every outcome, for logs: status, stable reason and the Discord user id when known. */
  readonly onDecision?: (outcome: Outcome) => void;
}

export interface Outcome {
  readonly status: 200 | 401 | 403;
  readonly reason: AuthFailure | DecisionReason | LiveReason;
  readonly userId: string | undefined;
  /** The policy rule that decided, when one did. */
  readonly rule?: string;
}

export type GuardResult = { readonly ok: true; readonly identity: DiscordIdentity } | { readonly ok: false; readonly response: Response };

const body = (code: "UNAUTHORIZED" | "FORBIDDEN", message: string, status: 401 | 403) =>
  new Response(JSON.stringify({ error: { code, message } }), {
    status,
    headers: { "Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store" },
  });

export const unauthorized = (): Response => body("UNAUTHORIZED", "Authentication required.", 401);
export const forbidden = (): Response => body("FORBIDDEN", "You do not have access to this resource.", 403);

export function guard(options: GuardOptions): (request: Request) => Promise<GuardResult> {
  const policy = options.policy === undefined ? undefined : parsePolicy(options.policy);
  const onDecision = options.onDecision;
  // A throwing logger must not turn a 401/403 (or an allowed request) into an exception.
  const report = (outcome: Outcome) => {
    try {
      onDecision?.(outcome);
    } catch {
      // ignored
    }
  };
  return async (request) => {
    let identity: DiscordIdentity;
    try {
      identity = await options.verifier.verify(request);
    } catch (err) {
      report({ status: 401, reason: err instanceof AuthError ? err.code : "keys_unavailable", userId: undefined });
      return { ok: false, response: unauthorized() };
    }
    let rule: string | undefined;
    if (policy) {
      const decision = evaluate(policy, identity);
      rule = decision.rule;
      if (!decision.allow) {
        report({ status: 403, reason: decision.reason, userId: identity.userId, ...(rule && { rule }) });
        return { ok: false, response: forbidden() };
      }
    }
    let reason: Outcome["reason"] = "allowed";
    if (options.live) {
      const live = await options.live(identity);
      if (!live.ok) {
        report({ status: 403, reason: live.reason, userId: identity.userId });
        return { ok: false, response: forbidden() };
      }
      // Let through without Discord's word (failOpen): say so in the logs.
      if (live.reason === "live_unavailable_open") reason = live.reason;
    }
    report({ status: 200, reason, userId: identity.userId, ...(rule && { rule }) });
    return { ok: true, identity };
  };
}

/** Wrap a fetch-style handler: it runs only for allowed requests, with the verified identity. */
export function withDiscord<A extends unknown[]>(
  options: GuardOptions,
  handler: (request: Request, identity: DiscordIdentity, ...rest: A) => Response | Promise<Response>,
): (request: Request, ...rest: A) => Promise<Response> {
  const check = guard(options);
  return async (request, ...rest) => {
    const result = await check(request);
    return result.ok ? handler(request, result.identity, ...rest) : result.response;
  };
}

/** itty-router middleware: stops with 401/403, or sets `request.discord` and lets the route run. */
export function discordAuth(options: GuardOptions): (request: Request & { discord?: DiscordIdentity }) => Promise<Response | undefined> {
  const check = guard(options);
  return async (request) => {
    const result = await check(request);
    if (!result.ok) return result.response;
    request.discord = result.identity;
    return undefined;
  };
}
