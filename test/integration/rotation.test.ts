// Key rotation end to end: the scheduled handler over simulated months with logins in between; every
// token verifies against the live JWKS from issue until expiry, next keys are published a lead time
// ahead, retired keys leave after their margin, and a second run at the same instant writes nothing.
import { env } from "cloudflare:workers";
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { KEYSET_KV_KEY, parseKeySet, type KeySet } from "../../src/keys/keyset";
import { createWorker } from "../../src/worker";
import fixture from "../fixtures/config.json";
import { ACCESS, ISSUER, LEGACY, accessBasic, accessParams, call, codeFor, tokenRequest } from "../helpers/bridge";
import { rsaKeyPool, stockKeys } from "../helpers/keys";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const worker = createWorker(fixture);
const START = Date.parse("2033-01-01T00:00:00Z");

// Deployed (and stocked: one RS256 key in use, two in reserve) on the day the first test starts.
beforeAll(async () => {
  await stockKeys(START);
});

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["Date"] });
});
afterEach(() => {
  vi.useRealTimers();
});

async function cron(at: number): Promise<void> {
  vi.setSystemTime(at);
  const ctx = createExecutionContext();
  await worker.scheduled!(createScheduledController({ scheduledTime: new Date(at), cron: "17 * * * *" }), env, ctx);
  await waitOnExecutionContext(ctx);
}

async function keySet(): Promise<KeySet> {
  const set = parseKeySet(await env.KV.get(KEYSET_KV_KEY));
  expect(set).not.toBeNull();
  return set!;
}

async function login(client: { clientId: string; secret: string; redirectUri: string } = ACCESS): Promise<string> {
  const params = client === ACCESS ? accessParams() : { response_type: "code", client_id: client.clientId, redirect_uri: client.redirectUri, scope: "openid" };
  const code = await codeFor("alice", params);
  const res = await tokenRequest(
    { grant_type: "authorization_code", code, redirect_uri: client.redirectUri, ...(client === ACCESS && { code_verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk" }) },
    { Authorization: accessBasic(client.clientId, client.secret) },
  );
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json<{ id_token: string }>()).id_token;
}

async function verifyLive(token: string, audience: string): Promise<void> {
  const jwks = createLocalJWKSet(await (await call("/jwks.json")).json());
  await jwtVerify(token, jwks, { issuer: ISSUER, audience });
}

describe("scheduled key rotation", () => {
  // (Requests through the test pool get slower the more a file makes, so this walks a day at a time.)
  it("over 90 days of scheduled runs and logins, every token verifies until it expires", async () => {
    const start = START;
    const lead = 24 * HOUR;
    const seenKids = new Set<string>();
    const droppedKids = new Set<string>();
    const seenRsKids = new Set<string>();
    const firstOfAlg = new Map<string, string>();
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    for (let t = start; t < start + 90 * DAY; t += DAY) {
      await cron(t);
      const token = await login();
      const kid = decodeProtectedHeader(token).kid!;
      seenKids.add(kid);
      await verifyLive(token, ACCESS.clientId);
      // An RS256 client (every sixth day, hand-over days included): its keys come from the reserve.
      const rsToken = (t - start) % (6 * DAY) === 0 ? await login(LEGACY) : undefined;
      if (rsToken) {
        expect(decodeProtectedHeader(rsToken).alg).toBe("RS256");
        seenRsKids.add(decodeProtectedHeader(rsToken).kid!);
        await verifyLive(rsToken, LEGACY.clientId);
      }
      // Until just before it expires, with another scheduled run in between.
      await cron(t + 59 * 60_000);
      vi.setSystemTime(t + 3599_000);
      await verifyLive(token, ACCESS.clientId);
      if (rsToken) await verifyLive(rsToken, LEGACY.clientId);

      const set = await keySet();
      for (const k of set.keys) {
        // Every key but an algorithm's very first was published a full lead time before it signed.
        const published = Date.parse(k.publishedAt ?? k.createdAt);
        const immediate = published === Date.parse(k.activatesAt);
        if (immediate) expect(firstOfAlg.has(k.alg) ? firstOfAlg.get(k.alg) : firstOfAlg.set(k.alg, k.kid).get(k.alg)).toBe(k.kid);
        else expect(Date.parse(k.activatesAt) - published).toBeGreaterThanOrEqual(lead);
        // No key stays beyond supersededAt + longest token + margin (the cron drops it).
        if (k.supersededAt) expect(Date.parse(k.supersededAt) + HOUR + 24 * HOUR).toBeGreaterThan(t + 59 * 60_000);
      }
      for (const kid of seenKids) if (!set.keys.some((k) => k.kid === kid)) droppedKids.add(kid);
    }
    expect(seenKids.size).toBe(3); // 2033-01-01, +30 d, +60 d
    expect(droppedKids.size).toBe(2);
    // The stock's three RSA keys, in the order they were made; none made by the Worker.
    expect([...seenRsKids]).toEqual(rsaKeyPool().map((k) => k.kid));
    // The reserve is now empty: the scheduled run says what to do before the next rotation is due.
    expect((await keySet()).reserve).toBeUndefined();
    const warnings = warn.mock.calls.map((c) => String(c[0])).filter((l) => l.includes('"keys_warning"'));
    expect(warnings.join("\n")).toMatch(/no RS256 key left in the reserve for the rotation due 2033-04-01T00:00:00.000Z; run `npm run keys -- stock --remote`/);
  }, 120_000);

  it("a token signed one minute before the hand-over verifies after it, until it expires", async () => {
    const start = Date.parse("2034-01-01T00:00:00Z");
    await cron(start);
    await cron(start + 2 * DAY); // any catch-up key from earlier tests is signing by now
    const current = (await keySet()).keys.find((k) => k.status === "current" && k.alg === "ES256")!;
    await cron(Date.parse(current.activatesAt) + 29 * DAY);
    const next = (await keySet()).keys.find((k) => k.status === "next" && k.alg === "ES256")!;
    const handOver = Date.parse(next.activatesAt);
    vi.setSystemTime(handOver - 60_000);
    const before = await login();
    vi.setSystemTime(handOver + 60_000);
    await cron(handOver + 60_000);
    const after = await login();
    expect(decodeProtectedHeader(after).kid).toBe(next.kid);
    expect(decodeProtectedHeader(before).kid).not.toBe(next.kid);
    await verifyLive(before, ACCESS.clientId);
    vi.setSystemTime(handOver - 60_000 + HOUR - 1000);
    await cron(handOver - 60_000 + HOUR - 1000);
    await verifyLive(before, ACCESS.clientId);
  });

  it("running the scheduled handler twice at the same instant changes nothing", async () => {
    const at = Date.parse("2035-01-01T00:00:00Z");
    for (const t of [at, at + 29 * DAY, at + 30 * DAY, at + 31 * DAY + 2 * HOUR]) {
      await cron(t);
      const once = await env.KV.get(KEYSET_KV_KEY);
      await cron(t);
      expect(await env.KV.get(KEYSET_KV_KEY)).toBe(once);
    }
  });

  it("with the reserve used up, the scheduled run keeps the RS256 key in use signing and makes no RSA key; discovery lists RS256 and ES256", async () => {
    const at = Date.parse("2036-01-01T00:00:00Z");
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    await cron(at);
    const set = await keySet();
    expect(set.keys.filter((k) => k.alg === "RS256").map((k) => k.kid)).toEqual([rsaKeyPool()[2]!.kid]);
    expect(warn.mock.calls.map((c) => String(c[0])).join("\n")).toMatch(/no RS256 key left in the reserve: the RS256 key in use keeps signing past its rotation period/);
    const doc = await (await call("/.well-known/openid-configuration")).json<{ id_token_signing_alg_values_supported: string[] }>();
    expect(doc.id_token_signing_alg_values_supported).toEqual(["RS256", "ES256"]);
    const token = await login(LEGACY);
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: "RS256", kid: rsaKeyPool()[2]!.kid });
    await verifyLive(token, LEGACY.clientId);
    const jwks = await (await call("/jwks.json")).json<{ keys: Record<string, unknown>[] }>();
    for (const key of jwks.keys) {
      for (const secret of ["d", "p", "q", "dp", "dq", "qi"]) expect(key).not.toHaveProperty(secret);
    }
    expect(jwks.keys.find((k) => k.alg === "RS256")).toMatchObject({ kty: "RSA", e: "AQAB", use: "sig" });
  });
});
