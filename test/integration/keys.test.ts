// Signing keys: the first bootstrap is race-free (one writer, a Durable Object), warm requests do not
// read KV, and a missing or corrupt KV entry recovers to the same key instead of minting a new one.
import { env } from "cloudflare:workers";
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { KEYSET_KV_KEY } from "../../src/keys/keyset";
import { clearKeyCache, loadKeys } from "../../src/keys/store";
import { ACCESS, ISSUER, LEGACY, accessBasic, call, codeFor, redeem, tokenRequest } from "../helpers/bridge";

beforeEach(() => {
  clearKeyCache();
  vi.restoreAllMocks();
});

async function liveJwks() {
  return createLocalJWKSet(await (await call("/jwks.json")).json());
}

describe("key bootstrap", () => {
  it("gives every concurrent first caller the same key, and publishes exactly that key", async () => {
    expect(await env.KV.get(KEYSET_KV_KEY)).toBeNull();
    const sets = await Promise.all(Array.from({ length: 20 }, () => env.KEYS.getByName("keys").keySet()));
    const kids = new Set(sets.map((s) => s.keys[0]?.kid));
    expect(kids.size).toBe(1);
    const published = JSON.parse((await env.KV.get(KEYSET_KV_KEY)) ?? "null");
    expect(published.keys.map((k: { kid: string }) => k.kid)).toEqual([...kids]);
  });

  it("tokens minted by concurrent cold isolates all verify against the published JWKS", async () => {
    const codes = await Promise.all(Array.from({ length: 5 }, () => codeFor("alice")));
    const responses = await Promise.all(codes.map((c) => { clearKeyCache(); return redeem(c); }));
    const jwks = await liveJwks();
    for (const res of responses) {
      const { id_token } = await res.json<{ id_token: string }>();
      await jwtVerify(id_token, jwks, { issuer: ISSUER, audience: ACCESS.clientId });
    }
  });

  it("reads KV once per isolate while warm", async () => {
    const get = vi.spyOn(env.KV, "get");
    await loadKeys(env);
    await loadKeys(env);
    await loadKeys(env);
    expect(get).toHaveBeenCalledTimes(1);
  });

  it("recovers the same key from a corrupt or deleted KV entry", async () => {
    const before = (await (await loadKeys(env)).signer("ES256")).kid;
    for (const damage of [() => env.KV.put(KEYSET_KV_KEY, "{not json"), () => env.KV.put(KEYSET_KV_KEY, '{"version":1,"keys":[]}'), () => env.KV.delete(KEYSET_KV_KEY)]) {
      await damage();
      clearKeyCache();
      expect((await (await loadKeys(env)).signer("ES256")).kid).toBe(before);
      const { id_token } = await (await redeem(await codeFor("alice"))).json<{ id_token: string }>();
      clearKeyCache();
      await jwtVerify(id_token, await liveJwks(), { issuer: ISSUER, audience: ACCESS.clientId });
    }
  });

  it("heals a corrupt KV entry, writing KV at most once a minute", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      vi.setSystemTime(new Date("2032-01-01T00:00:00Z"));
      const kid = (await env.KEYS.getByName("keys").keySet()).keys[0]!.kid;
      await env.KV.put(KEYSET_KV_KEY, "{corrupt");
      for (let i = 0; i < 5; i++) await env.KEYS.getByName("keys").keySet();
      expect(await env.KV.get(KEYSET_KV_KEY)).toBe("{corrupt"); // published less than a minute ago: no write
      vi.setSystemTime(new Date("2032-01-01T00:01:01Z"));
      for (let i = 0; i < 5; i++) await env.KEYS.getByName("keys").keySet();
      expect(JSON.parse((await env.KV.get(KEYSET_KV_KEY))!).keys[0].kid).toBe(kid);
    } finally {
      vi.useRealTimers();
    }
  });

  it("a truncated private key in KV counts as corrupt and heals to the keeper's copy, same key", async () => {
    const before = JSON.parse((await env.KV.get(KEYSET_KV_KEY))!);
    const kid = before.keys[0].kid;
    const damaged = { ...before, keys: [{ ...before.keys[0], privateJwk: { ...before.keys[0].privateJwk, d: before.keys[0].privateJwk.d.slice(0, 20) } }] };
    await env.KV.put(KEYSET_KV_KEY, JSON.stringify(damaged));
    clearKeyCache();
    const res = await redeem(await codeFor("alice"));
    expect(res.status).toBe(200);
    const { id_token } = await res.json<{ id_token: string }>();
    expect(decodeProtectedHeader(id_token).kid).toBe(kid);
  });

  it("a private key that is well formed but unusable is a clear 503 at /token, never a 500", async () => {
    const before = JSON.parse((await env.KV.get(KEYSET_KV_KEY))!);
    const bad = { ...before, revision: before.revision + 1, keys: before.keys.map((k: { privateJwk: object }) => ({ ...k, privateJwk: { ...k.privateJwk, d: "A".repeat(43) } })) };
    await env.KV.put(KEYSET_KV_KEY, JSON.stringify(bad));
    clearKeyCache();
    const log = vi.spyOn(console, "error").mockImplementation(() => {});
    const res = await redeem(await codeFor("alice"));
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ error: "temporarily_unavailable", error_description: "the login service's keys are not usable right now; try again in a minute" });
    expect(log.mock.calls.map((c) => String(c[0])).join("\n")).toMatch(/"where":"keys\.import:ES256/);
    await env.KV.put(KEYSET_KV_KEY, JSON.stringify(before));
    clearKeyCache();
  });

  it("answers an RS256 client with a clear 503 until the scheduled run or the CLI has made an RS256 key", async () => {
    const code = await codeFor("alice", { response_type: "code", client_id: LEGACY.clientId, redirect_uri: LEGACY.redirectUri, scope: "openid" });
    const res = await tokenRequest({ grant_type: "authorization_code", code, redirect_uri: LEGACY.redirectUri }, { Authorization: accessBasic(LEGACY.clientId, LEGACY.secret) });
    expect(res.status).toBe(503);
    const body = await res.json<{ error: string; error_description: string }>();
    expect(body.error).toBe("server_error");
    expect(body.error_description).toContain("npm run keys -- rotate --alg RS256");
    // Discovery does not claim an algorithm the set cannot sign with.
    const doc = await (await call("/.well-known/openid-configuration")).json<{ id_token_signing_alg_values_supported: string[] }>();
    expect(doc.id_token_signing_alg_values_supported).toEqual(["ES256"]);
  });
});
