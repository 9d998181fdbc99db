// Signing keys on a namespace nobody stocked (deployed with a plain `wrangler deploy`): the first
// bootstrap is race-free (one writer, a Durable Object), warm requests do not read KV, a missing or
// corrupt KV entry recovers to the same key instead of minting a new one, and without RSA keys made ahead
// of time the RS256 default falls back to ES256 until `npm run keys -- stock` has run.
import { env } from "cloudflare:workers";
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { KEYSET_KV_KEY, type KeySet } from "../../src/keys/keyset";
import { clearKeyCache, loadKeys } from "../../src/keys/store";
import { ACCESS, CHALLENGE, GRAFANA, ISSUER, LEGACY, VERIFIER, accessBasic, call, codeFor, redeem, tokenRequest } from "../helpers/bridge";
import { rsaKeyPool } from "../helpers/keys";

beforeAll(async () => {
  await env.KV.delete(KEYSET_KV_KEY);
});

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
    expect(await res.json()).toEqual({ error: "temporarily_unavailable", error_description: "the login service's keys are not usable right now; try again in a minute", request_id: expect.stringMatching(/^[\w-]{8}$/) });
    expect(log.mock.calls.map((c) => String(c[0])).join("\n")).toMatch(/"where":"keys\.import:ES256/);
    await env.KV.put(KEYSET_KV_KEY, JSON.stringify(before));
    clearKeyCache();
  });

  it("without RSA keys made ahead of time: a client naming RS256 gets a clear 503, one on the default is signed ES256 with a warning; after a stock, RS256", async () => {
    const legacyCode = await codeFor("alice", { response_type: "code", client_id: LEGACY.clientId, redirect_uri: LEGACY.redirectUri, scope: "openid" });
    const res = await tokenRequest({ grant_type: "authorization_code", code: legacyCode, redirect_uri: LEGACY.redirectUri }, { Authorization: accessBasic(LEGACY.clientId, LEGACY.secret) });
    expect(res.status).toBe(503);
    const body = await res.json<{ error: string; error_description: string }>();
    expect(body.error).toBe("temporarily_unavailable");
    expect(body.error_description).toContain("npm run keys -- stock --remote");
    // Discovery lists RS256 all the same (OpenID Connect Discovery 3: MUST).
    const doc = await (await call("/.well-known/openid-configuration")).json<{ id_token_signing_alg_values_supported: string[] }>();
    expect(doc.id_token_signing_alg_values_supported).toEqual(["RS256", "ES256"]);

    const grafanaToken = async () => {
      const code = await codeFor("alice", { response_type: "code", client_id: GRAFANA.clientId, redirect_uri: GRAFANA.redirectUri, scope: "openid", code_challenge: CHALLENGE, code_challenge_method: "S256" });
      const r = await tokenRequest({ grant_type: "authorization_code", code, redirect_uri: GRAFANA.redirectUri, code_verifier: VERIFIER }, { Authorization: accessBasic(GRAFANA.clientId, GRAFANA.secret) });
      expect(r.status).toBe(200);
      return (await r.json<{ id_token: string }>()).id_token;
    };
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const fallback = await grafanaToken();
    expect(decodeProtectedHeader(fallback).alg).toBe("ES256");
    await jwtVerify(fallback, await liveJwks(), { issuer: ISSUER, audience: GRAFANA.clientId });
    const warnings = warn.mock.calls.map((c) => JSON.parse(String(c[0])) as Record<string, unknown>);
    expect(warnings).toContainEqual({ event: "signing_fallback", client: GRAFANA.clientId, wanted: "RS256", used: "ES256", hint: "no RS256 key: run `npm run keys -- stock --remote`", request_id: expect.stringMatching(/^[\w-]{8}$/) });

    // The operator runs `npm run keys -- stock`: RSA keys land in the reserve. The next reader sees a key
    // the keeper can put in use, and the keeper publishes the first one; the ES256 key stays the same.
    const set: KeySet = await env.KEYS.getByName("keys").keySet(); // the healthy copy (a test above left KV damaged)
    const es256 = set.keys.find((k) => k.alg === "ES256")!.kid;
    await env.KV.put(KEYSET_KV_KEY, JSON.stringify({ ...set, revision: set.revision + 1, reserve: rsaKeyPool() }));
    clearKeyCache();
    warn.mockClear();
    const signed = await grafanaToken();
    expect(decodeProtectedHeader(signed)).toMatchObject({ alg: "RS256", kid: rsaKeyPool()[0]!.kid });
    await jwtVerify(signed, await liveJwks(), { issuer: ISSUER, audience: GRAFANA.clientId, algorithms: ["RS256"] });
    expect(warn).not.toHaveBeenCalled();
    const after = JSON.parse((await env.KV.get(KEYSET_KV_KEY))!) as KeySet;
    expect(after.keys.map((k) => [k.alg, k.kid])).toEqual([["RS256", rsaKeyPool()[0]!.kid], ["ES256", es256]]);
    expect(after.reserve?.map((k) => k.kid)).toEqual(rsaKeyPool().slice(1).map((k) => k.kid));
    // The reserve is never published.
    const jwks = await (await call("/jwks.json")).json<{ keys: { kid: string }[] }>();
    expect(jwks.keys.map((k) => k.kid).sort()).toEqual([rsaKeyPool()[0]!.kid, es256].sort());
  });
});
