// Discovery and JWKS: every required field, consistent issuer, public keys only.
import { env } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { createLocalJWKSet, jwtVerify } from "jose";
import { describe, expect, it, vi } from "vitest";
import { createWorker } from "../../src/worker";
import fixture from "../fixtures/config.json";
import { ACCESS, ISSUER, call, codeFor, redeem } from "../helpers/bridge";

/** GET `url` from a Worker with the fixture configuration changed by `change`, and `extraEnv`. */
async function landingOf(url: string, change: Record<string, unknown>, extraEnv: Record<string, string> = {}): Promise<Response> {
  return createWorker({ ...fixture, ...change }).fetch!(new Request(url), { ...env, ...extraEnv } as Env, createExecutionContext());
}

describe("discovery", () => {
  it("publishes the fields OIDC Discovery requires and what we support", async () => {
    const res = await call("/.well-known/openid-configuration");
    expect(res.status).toBe(200);
    expect(res.headers.get("Access-Control-Allow-Origin")).toBe("*");
    const doc = await res.json<Record<string, unknown>>();
    expect(doc).toMatchObject({
      issuer: ISSUER,
      authorization_endpoint: `${ISSUER}/authorize`,
      token_endpoint: `${ISSUER}/token`,
      userinfo_endpoint: `${ISSUER}/userinfo`,
      jwks_uri: `${ISSUER}/jwks.json`,
      response_types_supported: ["code"],
      subject_types_supported: ["public"],
      id_token_signing_alg_values_supported: ["RS256", "ES256"],
      token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post"],
      code_challenge_methods_supported: ["S256"],
      grant_types_supported: ["authorization_code"],
      scopes_supported: ["openid", "profile", "email", "guilds"],
      authorization_response_iss_parameter_supported: true,
    });
  });
});

describe("jwks", () => {
  it("holds public parameters only, cacheable, and verifies our ID tokens", async () => {
    const res = await call("/jwks.json");
    expect(res.headers.get("Cache-Control")).toMatch(/^public, max-age=\d+$/);
    const jwks = await res.json<{ keys: Record<string, unknown>[] }>();
    // One RS256 and one ES256 key in use, each with exactly its public members (RFC 7518 6.2.1, 6.3.1).
    expect(jwks.keys.map((k) => k.alg)).toEqual(["RS256", "ES256"]);
    for (const key of jwks.keys) {
      expect(Object.keys(key).sort()).toEqual(key.kty === "RSA" ? ["alg", "e", "kid", "kty", "n", "use"] : ["alg", "crv", "kid", "kty", "use", "x", "y"]);
    }
    const { id_token } = await (await redeem(await codeFor("alice"))).json<{ id_token: string }>();
    const { payload } = await jwtVerify(id_token, createLocalJWKSet(jwks as never), { issuer: ISSUER, audience: ACCESS.clientId, algorithms: ["ES256"] });
    expect(payload.sub).toBeTruthy();
  });
});

describe("landing page", () => {
  it("tells the operator what to paste into Discord and Access", async () => {
    const res = await call("/");
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Security-Policy")).toContain("default-src 'none'");
    expect(res.headers.get("X-Frame-Options")).toBe("DENY");
    const html = await res.text();
    for (const text of [`${ISSUER}/callback`, `${ISSUER}/authorize`, `${ISSUER}/token`, `${ISSUER}/jwks.json`, "access", "grafana", "openid email profile"]) {
      expect(html).toContain(text);
    }
    expect(html).not.toContain("sha256:");
    // The fixture configures role guilds and groups: the guilds scope and the claims to list in Access.
    expect(html).toContain("openid email profile guilds");
    expect(html).toContain("guilds, groups, roles:300000000000000001, roles:300000000000000002");
    expect(html).toContain("only members of The Main Community (300000000000000001) (checked at login)");
    expect(html).toContain("holding moderators");
    // What each client gets as email: never an unverified address.
    expect(html).toContain("only a Discord-verified address; none otherwise");
    expect(html).toContain("the Discord-verified address; else &#60;discord id&#62;@discord.bridge.test (email_verified false)");
    // How each client's ID tokens are signed: access names ES256, legacy-rs RS256, the rest are on the default.
    const signature = [...html.matchAll(/<th>ID token signature<\/th><td><code>([^<]*)<\/code>/g)].map((m) => m[1]);
    expect(signature).toEqual(["ES256", "RS256 (the default)", "RS256", "RS256 (the default)", "RS256 (the default)", "RS256 (the default)"]);
  });

  it("landingPage \"minimal\" shows only the bridge's own addresses; \"off\" answers 404", async () => {
    const minimal = await landingOf(`${ISSUER}/`, { landingPage: "minimal" });
    expect(minimal.status).toBe(200);
    const html = await minimal.text();
    expect(html).toContain(`${ISSUER}/callback`);
    expect(html).toContain(`${ISSUER}/.well-known/openid-configuration`);
    for (const hidden of ["grafana", "cloudflareaccess.com", "App ID", "Community Wiki", "moderators"]) expect(html).not.toContain(hidden);
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    const off = await landingOf(`${ISSUER}/`, { landingPage: "off" });
    expect(off.status).toBe(404);
    const body = await off.json<{ error: string; request_id: string }>();
    expect(body.error).toBe("invalid_request");
    expect(log.mock.calls.map((c) => JSON.parse(String(c[0])))).toContainEqual(expect.objectContaining({ event: "request_refused", path: "/", reason: "no_such_endpoint", request_id: body.request_id }));
    log.mockRestore();
    // Discovery and the rest are unaffected.
    expect((await landingOf(`${ISSUER}/.well-known/openid-configuration`, { landingPage: "off" })).status).toBe(200);
  });

  it("links npm start's demo application on a local bridge only", async () => {
    const demo = "http://127.0.0.1:8788/rp/start";
    const local = await (await landingOf("http://127.0.0.1:8787/", { issuer: undefined }, { DEMO_URL: demo })).text();
    expect(local).toContain(`<a href="${demo}">try a login with the demo application</a>`);
    const deployed = await (await landingOf(`${ISSUER}/`, {}, { DEMO_URL: demo })).text();
    expect(deployed).not.toContain(demo);
  });

  it("answers unknown paths with a 404 OAuth error", async () => {
    const res = await call("/nope");
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: "invalid_request" });
  });
});
