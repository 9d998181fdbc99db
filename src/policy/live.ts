// Optional live membership check: Access decides at login and sessions last hours, so an app that
// must notice a kick sooner asks Discord, as its bot, whether the user is still in the guild (and
// holds a role). Answers are cached briefly per user; when Discord cannot answer, the app chooses to
// fail closed (refuse, the default) or open (let the token's claims decide).
import { PolicyConfigError } from "./errors.js";
import type { DiscordIdentity } from "./identity.js";

export interface LiveOptions {
  /** Your bot's token; the bot must be in the guild. */
  readonly botToken: string;
  readonly guild: string;
  /** Also require one of these role ids in that guild. */
  readonly anyRole?: readonly string[];
  /** How long an answer is reused, in seconds (default 60). */
  readonly ttlSeconds?: number;
  /** When Discord cannot answer: true lets the request through, false (default) refuses it. */
  readonly failOpen?: boolean;
  /** Per call (default 3000 ms). */
  readonly timeoutMs?: number;
  readonly apiBase?: string;
  readonly fetch?: typeof fetch;
}

export type LiveReason = "live_member" | "live_unavailable_open" | "live_not_member" | "live_missing_role" | "live_unavailable" | "claims_missing";

export interface LiveResult {
  readonly ok: boolean;
  readonly reason: LiveReason;
}

export type LiveCheck = (identity: DiscordIdentity) => Promise<LiveResult>;

const MAX_CACHED = 1000;
/** A bot token Discord refuses (or a bot not in the guild) is not asked again for a minute. */
const AUTH_FAILURE_BACKOFF_MS = 60_000;
const SNOWFLAKE = /^\d{1,20}$/;

export function liveMembership(options: LiveOptions): LiveCheck {
  if (typeof options.botToken !== "string" || options.botToken === "") throw new PolicyConfigError("botToken", "is required");
  if (!SNOWFLAKE.test(options.guild)) throw new PolicyConfigError("guild", "must be a Discord guild id");
  if (options.anyRole !== undefined && options.anyRole.length === 0) throw new PolicyConfigError("anyRole", "must not be empty (leave it out to mean any member)");
  options.anyRole?.forEach((r, i) => {
    if (!SNOWFLAKE.test(r)) throw new PolicyConfigError(`anyRole[${i}]`, "must be a Discord role id");
  });
  const ttlMs = (options.ttlSeconds ?? 60) * 1000;
  if (!(ttlMs >= 0 && ttlMs <= 3_600_000)) throw new PolicyConfigError("ttlSeconds", "must be from 0 to 3600");
  const timeoutMs = options.timeoutMs ?? 3000;
  if (!(Number.isInteger(timeoutMs) && timeoutMs >= 1 && timeoutMs <= 30_000)) throw new PolicyConfigError("timeoutMs", "must be a whole number of milliseconds from 1 to 30000");
  const apiBase = (options.apiBase ?? "https://discord.com/api/v10").replace(/\/+$/, "");
  const fetchImpl = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init));
  const cache = new Map<string, { result: LiveResult; until: number }>();
  const inFlight = new Map<string, Promise<LiveResult | undefined>>();
  /** After a 429, 401 or 403 nobody is asked until then: Discord bans IPs that keep making such calls. */
  let quietUntil = 0;

  const ask = async (userId: string): Promise<LiveResult | undefined> => {
    let response: Response;
    try {
      response = await fetchImpl(`${apiBase}/guilds/${options.guild}/members/${userId}`, {
        headers: { Authorization: `Bot ${options.botToken}`, Accept: "application/json" },
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch {
      return undefined;
    }
    try {
      if (response.status === 429) {
        const seconds = Number(response.headers.get("Retry-After"));
        quietUntil = Date.now() + (Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds, 600) : 5) * 1000;
        return undefined;
      }
      if (response.status === 401 || response.status === 403) {
        quietUntil = Date.now() + AUTH_FAILURE_BACKOFF_MS;
        return undefined;
      }
      if (response.status === 404) {
        const body = (await response.json()) as { code?: unknown } | null;
        // 10007 Unknown Member: not in the guild. Anything else (e.g. the bot cannot see the guild): no answer.
        return body?.code === 10007 ? { ok: false, reason: "live_not_member" } : undefined;
      }
      if (!response.ok) return undefined;
      const member = (await response.json()) as { roles?: unknown } | null;
      const roles = member?.roles;
      if (!Array.isArray(roles)) return undefined;
      if (options.anyRole && !options.anyRole.some((r) => roles.includes(r))) return { ok: false, reason: "live_missing_role" };
      return { ok: true, reason: "live_member" };
    } catch {
      return undefined;
    } finally {
      if (!response.bodyUsed) await response.body?.cancel().catch(() => {});
    }
  };

  return async (identity) => {
    const userId = identity.userId;
    if (userId === undefined || !SNOWFLAKE.test(userId)) return { ok: false, reason: "claims_missing" };
    const now = Date.now();
    const hit = cache.get(userId);
    if (hit && hit.until > now) return hit.result;
    let pending = inFlight.get(userId);
    if (!pending && now >= quietUntil) {
      // Concurrent requests for one user share one Discord call.
      pending = ask(userId).finally(() => inFlight.delete(userId));
      inFlight.set(userId, pending);
    }
    const result = pending ? await pending : undefined;
    if (!result) return options.failOpen ? { ok: true, reason: "live_unavailable_open" } : { ok: false, reason: "live_unavailable" };
    cache.delete(userId);
    if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value as string);
    if (ttlMs > 0) cache.set(userId, { result, until: now + ttlMs });
    return result;
  };
}
