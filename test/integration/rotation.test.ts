// Key rotation end to end: the scheduled handler over simulated months with logins in between; every
// token verifies against the live JWKS from issue until expiry, next keys are published a lead time
// ahead, retired keys leave after their margin, and a second run at the same instant writes nothing.
import { env } from "cloudflare:workers";
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { KEYSET_KV_KEY, parseKeySet, type KeySet } from "../../src/keys/keyset";
import { createWorker } from "../../src/worker";
import fixture from "../fixtures/config.json";
import { ACCESS, ISSUER, LEGACY, accessBasic, accessParams, call, codeFor, tokenRequest } from "../helpers/bridge";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const worker = createWorker(fixture);

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
    const start = Date.parse("2033-01-01T00:00:00Z");
    const lead = 24 * HOUR;
    const seenKids = new Set<string>();
    const droppedKids = new Set<string>();
    const firstOfAlg = new Map<string, string>();
    for (let t = start; t < start + 90 * DAY; t += DAY) {
      await cron(t);
      const token = await login();
      const kid = decodeProtectedHeader(token).kid!;
      seenKids.add(kid);
      await verifyLive(token, ACCESS.clientId);
      // Until just before it expires, with another scheduled run in between.
      await cron(t + 59 * 60_000);
      vi.setSystemTime(t + 3599_000);
      await verifyLive(token, ACCESS.clientId);

      const set = await keySet();
      for (const k of set.keys) {
        // Every key but an algorithm's very first was published a full lead time before it signed.
        const immediate = k.createdAt === k.activatesAt;
        if (immediate) expect(firstOfAlg.has(k.alg) ? firstOfAlg.get(k.alg) : firstOfAlg.set(k.alg, k.kid).get(k.alg)).toBe(k.kid);
        else expect(Date.parse(k.activatesAt) - Date.parse(k.createdAt)).toBeGreaterThanOrEqual(lead);
        // No key stays beyond supersededAt + longest token + margin (the cron drops it).
        if (k.supersededAt) expect(Date.parse(k.supersededAt) + HOUR + 24 * HOUR).toBeGreaterThan(t + 59 * 60_000);
      }
      for (const kid of seenKids) if (!set.keys.some((k) => k.kid === kid)) droppedKids.add(kid);
    }
    expect(seenKids.size).toBe(3); // 2033-01-01, +30 d, +60 d
    expect(droppedKids.size).toBe(2);
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

  it("makes RS256 keys in the scheduled run for a client that asks for them, and discovery lists exactly what can sign", async () => {
    const at = Date.parse("2036-01-01T00:00:00Z");
    await cron(at);
    const doc = await (await call("/.well-known/openid-configuration")).json<{ id_token_signing_alg_values_supported: string[] }>();
    expect(doc.id_token_signing_alg_values_supported).toEqual(["ES256", "RS256"]);
    const token = await login(LEGACY);
    expect(decodeProtectedHeader(token).alg).toBe("RS256");
    await verifyLive(token, LEGACY.clientId);
    const jwks = await (await call("/jwks.json")).json<{ keys: Record<string, unknown>[] }>();
    for (const key of jwks.keys) {
      for (const secret of ["d", "p", "q", "dp", "dq", "qi"]) expect(key).not.toHaveProperty(secret);
    }
    expect(jwks.keys.find((k) => k.alg === "RS256")).toMatchObject({ kty: "RSA", e: "AQAB" });
  });
});
