// Sealing keys only the bridge holds: a state or access token sealed with a key derived from the
// Discord client secret (how it was done before) is refused; the keys live beside the signing keys in
// KV, never in the JWKS, and rotate with an overlap that keeps logins in flight and live tokens working.
import { env } from "cloudflare:workers";
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { EncryptJWT, decodeProtectedHeader } from "jose";
import { afterEach, describe, expect, it, vi } from "vitest";
import { KEYSET_KV_KEY, parseKeySet, sealingKeyAt, type KeySet } from "../../src/keys/keyset";
import { clearKeyCache } from "../../src/keys/store";
import { createWorker } from "../../src/worker";
import fixture from "../fixtures/config.json";
import { FAKE_DISCORD_CLIENT_SECRET, FAKE_USERS } from "../helpers/fake-discord";
import { ACCESS, ISSUER, call, callback, codeFor, discordCalls, discordCode, redeem, startLogin } from "../helpers/bridge";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const worker = createWorker(fixture);

afterEach(() => {
  vi.useRealTimers();
});

/** The key the bridge used to derive from DISCORD_CLIENT_SECRET, which Discord and the portal's users know. */
async function discordSecretKey(purpose: string, version = "v1"): Promise<Uint8Array> {
  const enc = new TextEncoder();
  const ikm = await crypto.subtle.importKey("raw", enc.encode(FAKE_DISCORD_CLIENT_SECRET), "HKDF", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits({ name: "HKDF", hash: "SHA-256", salt: enc.encode("discord-oidc-bridge"), info: enc.encode(`seal:${purpose}:${version}`) }, ikm, 256);
  return new Uint8Array(bits);
}

async function forge(payload: Record<string, unknown>, purpose: string, header: Record<string, string> = {}, version = "v1"): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new EncryptJWT(payload).setProtectedHeader({ alg: "dir", enc: "A256GCM", ...header }).setIssuedAt(now).setExpirationTime(now + 600).encrypt(await discordSecretKey(purpose, version));
}

async function keySet(): Promise<KeySet> {
  const set = parseKeySet(await env.KV.get(KEYSET_KV_KEY));
  expect(set).not.toBeNull();
  return set!;
}

async function userinfo(token: string): Promise<Response> {
  return call("/userinfo", { headers: { Authorization: `Bearer ${token}` } });
}

const forgedClaims = { sub: FAKE_USERS.bob!.id, cid: ACCESS.clientId, scope: "openid email", iss: ISSUER, claims: { id: FAKE_USERS.bob!.id, email: "ceo@company.com", email_verified: true, groups: ["moderators"] } };

describe("holding the Discord client secret forges nothing", () => {
  it("an access token sealed with a key derived from the Discord secret is refused at /userinfo", async () => {
    await redeem(await codeFor("alice")); // the bridge has its keys
    const kid = sealingKeyAt(await keySet(), Date.now())!.kid;
    for (const token of [
      await forge(forgedClaims, "access-token"),
      await forge(forgedClaims, "access-token", { kid }),
      await forge(forgedClaims, "access-token", { kid }, "v2"),
    ]) {
      const res = await userinfo(token);
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ error: "invalid_token", error_description: "the access token is invalid or expired", request_id: expect.stringMatching(/^[\w-]{8}$/) });
    }
  });

  it("a state sealed with a key derived from the Discord secret is refused at /callback before any Discord call", async () => {
    const started = await startLogin();
    const kid = decodeProtectedHeader(started.state).kid!;
    const binding = started.cookie.split("=")[1]!;
    const pending = { c: ACCESS.clientId, r: ACCESS.redirectUri, sc: "openid email", b: binding, j: "forged-state-id-000000" };
    for (const state of [await forge(pending, "upstream-state"), await forge(pending, "upstream-state", { kid })]) {
      const code = discordCode("bob");
      const res = await callback({ ...started, state }, { code });
      expect(res.status).toBe(400);
      expect(await res.text()).toMatch(/not valid/);
      expect(await discordCalls(code)).toEqual([]);
    }
  });

  it("a sealed value is read strictly: the bridge's own token with whitespace or padding added is refused", async () => {
    const { access_token } = await (await redeem(await codeFor("alice"))).json<{ access_token: string }>();
    for (const token of [`${access_token}\r\n`, `${access_token} `, ` ${access_token}`, `${access_token}=`, access_token.replace(".", ".\n")]) {
      const res = await call("/userinfo", { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ access_token: token }) });
      expect(res.status, JSON.stringify(token.slice(-3))).toBe(401);
    }
    const started = await startLogin();
    const code = discordCode("alice");
    const res = await callback({ ...started, state: `${started.state}\r\n` }, { code });
    expect(res.status).toBe(400);
    expect(await discordCalls(code)).toEqual([]);
  });

  it("each purpose has its own subkey: the bridge's own sealed state is not an access token", async () => {
    const started = await startLogin();
    const res = await userinfo(started.state);
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: "invalid_token" });
  });

  it("the bridge's own tokens name their key and open: the same login works end to end", async () => {
    const res = await redeem(await codeFor("alice"));
    const { access_token } = await res.json<{ access_token: string }>();
    expect(decodeProtectedHeader(access_token)).toMatchObject({ alg: "dir", enc: "A256GCM", kid: expect.stringMatching(/^s-[A-Za-z0-9_-]{12}$/) });
    expect((await userinfo(access_token)).status).toBe(200);
  });
});

describe("sealing keys in the key set", () => {
  it("are 256 random bits stored beside the signing keys, and never in the JWKS or discovery", async () => {
    const set = await keySet();
    expect(set.sealingKeys!.length).toBeGreaterThanOrEqual(1);
    const secrets = set.sealingKeys!.map((k) => k.secret);
    for (const secret of secrets) expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const published = (await (await call("/jwks.json")).text()) + (await (await call("/.well-known/openid-configuration")).text());
    for (const secret of secrets) expect(published).not.toContain(secret);
    expect(published).not.toContain('"oct"');
  });

  it("a key set from before sealing keys existed gets one on the first request, keeping its signing keys", async () => {
    const before = await keySet();
    const legacy = { version: 1, revision: before.revision + 5, updatedAt: before.updatedAt, keys: before.keys };
    await env.KV.put(KEYSET_KV_KEY, JSON.stringify(legacy));
    clearKeyCache();
    const res = await redeem(await codeFor("alice"));
    expect(res.status).toBe(200);
    const after = await keySet();
    expect(after.keys).toEqual(before.keys);
    expect(sealingKeyAt(after, Date.now())).toBeDefined();
    expect(after.revision).toBeGreaterThan(legacy.revision);
    expect((await userinfo((await res.json<{ access_token: string }>()).access_token)).status).toBe(200);
  });
});

describe("sealing key rotation", () => {
  async function cron(at: number): Promise<void> {
    vi.setSystemTime(at);
    const ctx = createExecutionContext();
    await worker.scheduled!(createScheduledController({ scheduledTime: new Date(at), cron: "17 * * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);
    clearKeyCache();
  }

  it("a login in flight and a live access token survive the hand-over; the old key goes once nothing it sealed can live", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    // Years after the keys of the tests above: the scheduled run publishes a successor, which takes over a day later.
    const t0 = Date.parse("2034-03-01T00:00:00Z");
    await cron(t0);
    await cron(t0 + 2 * DAY);
    const first = sealingKeyAt(await keySet(), t0 + 2 * DAY)!;
    const firstKid = first.kid;

    // Just before the hand-over: a token, and a login that goes to Discord.
    const handOver = Date.parse(first.activatesAt) + 30 * DAY;
    await cron(handOver - 24 * HOUR);
    const next = (await keySet()).sealingKeys!.find((k) => Date.parse(k.activatesAt) > handOver - 24 * HOUR)!;
    expect(Date.parse(next.activatesAt)).toBe(handOver);
    vi.setSystemTime(handOver - 60_000);
    const { access_token: oldToken } = await (await redeem(await codeFor("alice"))).json<{ access_token: string }>();
    expect(decodeProtectedHeader(oldToken).kid).toBe(firstKid);
    const inFlight = await startLogin();
    expect(decodeProtectedHeader(inFlight.state).kid).toBe(firstKid);

    // After it: new seals use the next key, and both old values still open.
    await cron(handOver + 60_000);
    const { access_token: newToken } = await (await redeem(await codeFor("alice"))).json<{ access_token: string }>();
    expect(decodeProtectedHeader(newToken).kid).toBe(next.kid);
    expect((await callback(inFlight, { code: discordCode("alice") })).status).toBe(302);
    expect((await userinfo(oldToken)).status).toBe(200);

    // The old key stays while its tokens live (1 h) plus the margin (24 h), then goes.
    await cron(handOver + HOUR + 24 * HOUR - 60_000);
    expect((await keySet()).sealingKeys!.map((k) => k.kid)).toContain(firstKid);
    await cron(handOver + HOUR + 24 * HOUR + 60_000);
    expect((await keySet()).sealingKeys!.map((k) => k.kid)).toEqual([next.kid]);
    expect((await userinfo(newToken)).status).toBe(401); // expired meanwhile
  });
});
