// liveMembership against the fake Discord's bot member endpoint: member, not member, missing role, the per-user cache and its expiry, fail closed/open on every kind of Discord failure, options, and live refusals through guard().
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { PolicyConfigError, accessVerifier, guard, liveMembership, toIdentity, type LiveOptions, type Outcome } from "../../src/policy/index.js";
import { FAKE_BOT_TOKEN, FAKE_USERS, FakeDiscord, G, R } from "../helpers/fake-discord";
import { AUD, TEAM, accessClaims, accessRequest, alice, bob, localKeys, makeKey, sign } from "./tokens";

const API = "https://discord.test/api/v10";
const erin = FAKE_USERS.erin!;
const dave = FAKE_USERS.dave!;
const member = (userId: string) => toIdentity({ id: userId }, "access");

/** A fetch that goes to this fake Discord, recording the URL and headers of every call. */
function viaFake(discord: FakeDiscord) {
  const seen: { url: string; authorization: string | null }[] = [];
  const fetchImpl: typeof fetch = async (input, init) => {
    const request = new Request(input, init);
    seen.push({ url: request.url, authorization: request.headers.get("Authorization") });
    return discord.fetch(request);
  };
  return { fetch: fetchImpl, seen };
}

function liveAgainst(discord: FakeDiscord, options: Partial<LiveOptions> = {}) {
  const wire = viaFake(discord);
  return { live: liveMembership({ botToken: FAKE_BOT_TOKEN, guild: G.main, apiBase: API, fetch: wire.fetch, ...options }), seen: wire.seen };
}

const botCalls = (discord: FakeDiscord, userId: string) => discord.calls(`bot:${userId}`).length;

afterEach(() => {
  vi.useRealTimers();
});

describe("liveMembership: Discord's answer", () => {
  it("a member passes, asked as the bot at /guilds/{guild}/members/{user}", async () => {
    const discord = new FakeDiscord();
    const { live, seen } = liveAgainst(discord);
    expect(await live(member(alice.id))).toEqual({ ok: true, reason: "live_member" });
    expect(seen).toEqual([{ url: `${API}/guilds/${G.main}/members/${alice.id}`, authorization: `Bot ${FAKE_BOT_TOKEN}` }]);
    expect(discord.calls(`bot:${alice.id}`)).toEqual([{ method: "GET", path: "/guilds/{id}/members/{user}" }]);
  });

  it("a non-member is refused: live_not_member", async () => {
    const { live } = liveAgainst(new FakeDiscord());
    expect(await live(member(bob.id))).toEqual({ ok: false, reason: "live_not_member" });
  });

  it("anyRole: a member without one of the roles is refused: live_missing_role", async () => {
    const { live } = liveAgainst(new FakeDiscord(), { anyRole: [R.mod] });
    expect(await live(member(erin.id))).toEqual({ ok: false, reason: "live_missing_role" });
    expect(await live(member(dave.id))).toEqual({ ok: false, reason: "live_missing_role" });
    expect(await live(member(alice.id))).toEqual({ ok: true, reason: "live_member" });
  });

  it("anyRole: any one of the roles is enough", async () => {
    const { live } = liveAgainst(new FakeDiscord(), { anyRole: [R.mod, R.member] });
    expect(await live(member(dave.id))).toEqual({ ok: true, reason: "live_member" });
  });

  it("a trailing slash on apiBase is fine", async () => {
    const { live, seen } = liveAgainst(new FakeDiscord(), { apiBase: `${API}/` });
    expect(await live(member(alice.id))).toEqual({ ok: true, reason: "live_member" });
    expect(seen[0]?.url).toBe(`${API}/guilds/${G.main}/members/${alice.id}`);
  });

  it("an identity without a user id is claims_missing, and Discord is not asked", async () => {
    const { live, seen } = liveAgainst(new FakeDiscord());
    expect(await live(toIdentity({ sub: "7335d417-61da-459d-899c-0a01c76a2f94" }, "access"))).toEqual({ ok: false, reason: "claims_missing" });
    expect(await live(member("../../users/@me"))).toEqual({ ok: false, reason: "claims_missing" });
    expect(seen).toEqual([]);
  });

  it("a wrong bot token (401) is live_unavailable, or live_unavailable_open when failing open", async () => {
    const discord = new FakeDiscord();
    const closed = liveAgainst(discord, { botToken: "not-the-bot-token" });
    expect(await closed.live(member(alice.id))).toEqual({ ok: false, reason: "live_unavailable" });
    expect(closed.seen).toHaveLength(1);
    const open = liveAgainst(discord, { botToken: "not-the-bot-token", failOpen: true });
    expect(await open.live(member(alice.id))).toEqual({ ok: true, reason: "live_unavailable_open" });
  });
});

describe("liveMembership: the cache", () => {
  it("a second check of the same user makes no Discord call", async () => {
    const discord = new FakeDiscord();
    const { live } = liveAgainst(discord);
    expect(await live(member(alice.id))).toEqual({ ok: true, reason: "live_member" });
    expect(await live(member(alice.id))).toEqual({ ok: true, reason: "live_member" });
    expect(botCalls(discord, alice.id)).toBe(1);
  });

  it("caches refusals too, and per user", async () => {
    const discord = new FakeDiscord();
    const { live } = liveAgainst(discord);
    await live(member(alice.id));
    expect(await live(member(bob.id))).toEqual({ ok: false, reason: "live_not_member" });
    expect(await live(member(bob.id))).toEqual({ ok: false, reason: "live_not_member" });
    expect(botCalls(discord, alice.id)).toBe(1);
    expect(botCalls(discord, bob.id)).toBe(1);
  });

  it("asks again once ttlSeconds have passed", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const start = new Date("2026-01-01T00:00:00Z").getTime();
    vi.setSystemTime(start);
    const discord = new FakeDiscord();
    const { live } = liveAgainst(discord, { ttlSeconds: 60 });
    await live(member(alice.id));
    vi.setSystemTime(start + 59_000);
    await live(member(alice.id));
    expect(botCalls(discord, alice.id)).toBe(1);
    vi.setSystemTime(start + 61_000);
    expect(await live(member(alice.id))).toEqual({ ok: true, reason: "live_member" });
    expect(botCalls(discord, alice.id)).toBe(2);
  });

  it("ttlSeconds 0 never caches", async () => {
    const discord = new FakeDiscord();
    const { live } = liveAgainst(discord, { ttlSeconds: 0 });
    await live(member(alice.id));
    await live(member(alice.id));
    expect(botCalls(discord, alice.id)).toBe(2);
  });
});

describe("liveMembership: when Discord cannot answer", () => {
  /** Never answers, but gives up when the request's signal aborts. */
  const hanging: typeof fetch = (_input, init) =>
    new Promise<Response>((_resolve, reject) => {
      const signal = init?.signal;
      signal?.addEventListener("abort", () => reject(signal.reason));
    });
  const failures: [string, typeof fetch][] = [
    ["a 500", async () => Response.json({ message: "Internal Server Error" }, { status: 500 })],
    ["a 500 whose body looks like a member", async () => Response.json({ roles: [R.mod] }, { status: 500 })],
    ["a 429", async () => Response.json({ message: "You are being rate limited.", retry_after: 1, global: false }, { status: 429 })],
    ["a fetch that throws", async () => Promise.reject(new TypeError("Network connection lost."))],
    ["a timeout", hanging],
    ["garbage JSON", async () => new Response("{", { status: 200 })],
    ["a member without roles", async () => Response.json({ nick: null })],
    ["null", async () => Response.json(null)],
    ["404 Unknown Guild (10004: the bot is not in the guild)", async () => Response.json({ message: "Unknown Guild", code: 10004 }, { status: 404 })],
    ["404 that is not JSON", async () => new Response("<html>404</html>", { status: 404 })],
  ];

  it.each(failures)("%s: live_unavailable when failing closed (the default)", async (_, stub) => {
    const live = liveMembership({ botToken: FAKE_BOT_TOKEN, guild: G.main, fetch: stub, timeoutMs: 50 });
    expect(await live(member(alice.id))).toEqual({ ok: false, reason: "live_unavailable" });
  });

  it.each(failures)("%s: ok with live_unavailable_open when failOpen", async (_, stub) => {
    const live = liveMembership({ botToken: FAKE_BOT_TOKEN, guild: G.main, fetch: stub, timeoutMs: 50, failOpen: true });
    expect(await live(member(alice.id))).toEqual({ ok: true, reason: "live_unavailable_open" });
  });

  it("the timeout aborts the call after timeoutMs", async () => {
    let signal: AbortSignal | undefined;
    const stub: typeof fetch = (input, init) => {
      signal = init?.signal ?? undefined;
      return hanging(input, init);
    };
    const live = liveMembership({ botToken: FAKE_BOT_TOKEN, guild: G.main, fetch: stub, timeoutMs: 50 });
    const started = performance.now();
    expect(await live(member(alice.id))).toEqual({ ok: false, reason: "live_unavailable" });
    expect(signal?.aborted).toBe(true);
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it("failures are not cached: the next check asks Discord again", async () => {
    const discord = new FakeDiscord();
    let calls = 0;
    const flaky: typeof fetch = async (input, init) => (++calls === 1 ? new Response("upstream error", { status: 503 }) : discord.fetch(new Request(input, init)));
    const live = liveMembership({ botToken: FAKE_BOT_TOKEN, guild: G.main, apiBase: API, fetch: flaky, failOpen: true });
    expect(await live(member(alice.id))).toEqual({ ok: true, reason: "live_unavailable_open" });
    expect(await live(member(alice.id))).toEqual({ ok: true, reason: "live_member" });
    expect(await live(member(alice.id))).toEqual({ ok: true, reason: "live_member" });
    expect(calls).toBe(2);
  });
});

describe("liveMembership: sparing Discord", () => {
  it("concurrent requests for one user share one Discord call", async () => {
    const discord = new FakeDiscord();
    const { live } = liveAgainst(discord);
    const results = await Promise.all([live(member(alice.id)), live(member(alice.id)), live(member(alice.id))]);
    expect(results).toEqual([0, 1, 2].map(() => ({ ok: true, reason: "live_member" })));
    expect(botCalls(discord, alice.id)).toBe(1);
  });

  it("after a 401 or 403, nobody is asked for a minute (Discord bans IPs that keep at it)", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    for (const status of [401, 403]) {
      let calls = 0;
      const stub: typeof fetch = async () => {
        calls++;
        return Response.json({ message: "401: Unauthorized", code: 0 }, { status });
      };
      const live = liveMembership({ botToken: FAKE_BOT_TOKEN, guild: G.main, fetch: stub });
      expect(await live(member(alice.id))).toEqual({ ok: false, reason: "live_unavailable" });
      expect(await live(member(erin.id))).toEqual({ ok: false, reason: "live_unavailable" });
      expect(calls, String(status)).toBe(1);
      vi.setSystemTime(Date.now() + 61_000);
      await live(member(erin.id));
      expect(calls, String(status)).toBe(2);
    }
  });

  it("after a 429, nobody is asked until Retry-After has passed", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    let calls = 0;
    const stub: typeof fetch = async () => {
      calls++;
      return Response.json({ message: "You are being rate limited.", retry_after: 20, global: false }, { status: 429, headers: { "Retry-After": "20" } });
    };
    const live = liveMembership({ botToken: FAKE_BOT_TOKEN, guild: G.main, fetch: stub, failOpen: true });
    expect(await live(member(alice.id))).toEqual({ ok: true, reason: "live_unavailable_open" });
    vi.setSystemTime(Date.now() + 19_000);
    expect(await live(member(erin.id))).toEqual({ ok: true, reason: "live_unavailable_open" });
    expect(calls).toBe(1);
    vi.setSystemTime(Date.now() + 2_000);
    await live(member(erin.id));
    expect(calls).toBe(2);
  });
});

describe("liveMembership: options", () => {
  const cases: [string, Partial<LiveOptions>, string][] = [
    ["an empty bot token", { botToken: "" }, "botToken"],
    ["a guild that is not an id", { guild: "main" }, "guild"],
    ["a role that is not an id", { anyRole: [R.mod, "moderator"] }, "anyRole[1]"],
    ["a negative ttl", { ttlSeconds: -1 }, "ttlSeconds"],
    ["a ttl over an hour", { ttlSeconds: 3601 }, "ttlSeconds"],
    ["a NaN ttl", { ttlSeconds: Number.NaN }, "ttlSeconds"],
    ["a zero timeout", { timeoutMs: 0 }, "timeoutMs"],
    ["an empty anyRole", { anyRole: [] }, "anyRole"],
    ["a NaN timeout", { timeoutMs: Number.NaN }, "timeoutMs"],
    ["a timeout over 30 s", { timeoutMs: 30_001 }, "timeoutMs"],
  ];
  it.each(cases)("%s throws PolicyConfigError naming %s", (_, options, path) => {
    const make = () => liveMembership({ botToken: FAKE_BOT_TOKEN, guild: G.main, ...options });
    expect(make).toThrow(PolicyConfigError);
    expect(make).toThrow(`${path}: `);
  });
});

describe("live check through guard()", () => {
  let request: (userId: string) => Promise<Request>;
  let verifier: ReturnType<typeof accessVerifier>;
  beforeAll(async () => {
    const key = await makeKey("RS256", "access-1");
    verifier = accessVerifier({ team: TEAM, audience: AUD, keys: localKeys(key) });
    request = async (userId) => accessRequest(await sign(key, accessClaims({ id: userId, guilds: [G.main, G.other] })));
  });

  it("a live refusal gives the 403 body, and onDecision the live reason", async () => {
    const discord = new FakeDiscord();
    const outcomes: Outcome[] = [];
    const check = guard({ verifier, live: liveAgainst(discord).live, onDecision: (o) => outcomes.push(o) });
    const result = await check(await request(bob.id));
    expect(result.ok).toBe(false);
    const response = result.ok ? undefined : result.response;
    expect(response?.status).toBe(403);
    expect(response?.headers.get("Cache-Control")).toBe("no-store");
    expect(await response?.text()).toBe('{"error":{"code":"FORBIDDEN","message":"You do not have access to this resource."}}');
    expect(outcomes).toEqual([{ status: 403, reason: "live_not_member", userId: bob.id }]);
  });

  it("Discord down while failing closed gives the 403 too", async () => {
    const outcomes: Outcome[] = [];
    const live = liveMembership({ botToken: FAKE_BOT_TOKEN, guild: G.main, fetch: async () => new Response("", { status: 502 }) });
    const result = await guard({ verifier, live, onDecision: (o) => outcomes.push(o) })(await request(alice.id));
    expect(result.ok ? 200 : result.response.status).toBe(403);
    expect(outcomes).toEqual([{ status: 403, reason: "live_unavailable", userId: alice.id }]);
  });

  it("Discord down while failing open lets the request through, and onDecision says so", async () => {
    const outcomes: Outcome[] = [];
    const live = liveMembership({ botToken: FAKE_BOT_TOKEN, guild: G.main, failOpen: true, fetch: async () => new Response("", { status: 502 }) });
    const result = await guard({ verifier, policy: { include: [{ guild: G.main }] }, live, onDecision: (o) => outcomes.push(o) })(await request(alice.id));
    expect(result.ok && result.identity.userId).toBe(alice.id);
    expect(outcomes).toEqual([{ status: 200, reason: "live_unavailable_open", userId: alice.id, rule: "include[0]" }]);
  });

  it("a live member passes", async () => {
    const discord = new FakeDiscord();
    const outcomes: Outcome[] = [];
    const live = liveAgainst(discord, { anyRole: [R.mod] }).live;
    const result = await guard({ verifier, policy: { include: [{ guild: G.main }] }, live, onDecision: (o) => outcomes.push(o) })(await request(alice.id));
    expect(result.ok && result.identity.userId).toBe(alice.id);
    expect(botCalls(discord, alice.id)).toBe(1);
    expect(outcomes).toEqual([{ status: 200, reason: "allowed", userId: alice.id, rule: "include[0]" }]);
  });

  it("Discord is not asked when the policy already refuses", async () => {
    const discord = new FakeDiscord();
    const { live, seen } = liveAgainst(discord);
    const result = await guard({ verifier, policy: { include: [{ user: alice.id }] }, live })(await request(bob.id));
    expect(result.ok ? 200 : result.response.status).toBe(403);
    expect(seen).toEqual([]);
  });
});
