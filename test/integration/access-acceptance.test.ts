// Acceptance, black box: openid-client plays Cloudflare Access against the bridge, as Access really
// behaves (../shared/protocol-notes.md): discovery, client_secret_basic with the id and secret NOT
// URL-encoded, PKCE S256, state and nonce, the scopes "openid email profile guilds", every claim read
// from the ID token (Access never calls userinfo), array claims matched element by element.
// The expected guild claims are computed here from the fake Discord's users and the fixture config,
// never from the bridge's own code.
import { exports } from "cloudflare:workers";
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet, type JWTPayload } from "jose";
import * as client from "openid-client";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import fixture from "../fixtures/config.json";
import { FAKE_USERS, G, R, type FakeUser } from "../helpers/fake-discord";
import { ACCESS, ISSUER, accessBasic, call, discordCalls, discordCode, rfcBasic } from "../helpers/bridge";

/** The ID token algorithms Access accepts. */
const ACCESS_ALGS = ["RS256", "RS512", "PS512", "ES256", "ES384", "ES512"];
const FULL_SCOPE = "openid email profile guilds";
const TOKEN = "POST /oauth2/token";
const REVOKE = "POST /oauth2/token/revoke";
const USER = "GET /users/@me";
const GUILDS = "GET /users/@me/guilds";
const MEMBER = "GET /users/@me/guilds/{id}/member";

// ---------------------------------------------------------------------------------------------
// The truth, from FAKE_USERS and test/fixtures/config.json only.

type Alias = { readonly guild: string; readonly anyRole?: readonly string[] };
const ALIASES: Readonly<Record<string, Alias>> = fixture.groups;
const ROLE_GUILDS: readonly string[] = fixture.roleGuilds;
const INCLUDE: readonly string[] | undefined = (fixture.guilds as { include?: readonly string[] }).include;

interface Truth {
  readonly user: FakeUser;
  readonly guilds: string[];
  /** `roles:<guildId>` -> role ids, for each role guild the user is in. */
  readonly roles: Record<string, string[]>;
  readonly groups: string[];
  readonly roleGuildsIn: string[];
}

function truth(name: string): Truth {
  const user = FAKE_USERS[name];
  if (!user) throw new Error(`no fake user ${name}`);
  const all = Object.keys(user.guilds);
  const guilds = INCLUDE ? all.filter((g) => INCLUDE.includes(g)) : all;
  const roleGuildsIn = ROLE_GUILDS.filter((g) => user.guilds[g] !== undefined);
  const roles: Record<string, string[]> = {};
  for (const g of roleGuildsIn) roles[`roles:${g}`] = [...(user.guilds[g] ?? [])];
  const aliases = Object.entries(ALIASES)
    .filter(([, a]) => {
      const held = user.guilds[a.guild];
      return held !== undefined && (!a.anyRole || a.anyRole.some((r) => held.includes(r)));
    })
    .map(([name]) => name);
  const groups = [...guilds, ...roleGuildsIn.flatMap((g) => (user.guilds[g] ?? []).map((r) => `${g}:${r}`)), ...aliases];
  return { user, guilds, roles, groups, roleGuildsIn };
}

const sorted = (xs: readonly unknown[]) => [...xs].map(String).sort();

// ---------------------------------------------------------------------------------------------
// Access as an openid-client relying party.

/** Every request openid-client sent to the bridge, as the bridge saw it. */
interface Exchange {
  readonly method: string;
  readonly path: string;
  readonly authorization: string | null;
  readonly status: number;
  readonly cacheControl: string | null;
}
let exchanges: Exchange[] = [];

const customFetch: client.CustomFetch = async (url, options) => {
  const res = await exports.default.fetch(url, { ...(options as RequestInit), redirect: "manual" });
  exchanges.push({
    method: options.method,
    path: new URL(url).pathname,
    authorization: new Headers(options.headers).get("Authorization"),
    status: res.status,
    cacheControl: res.headers.get("Cache-Control"),
  });
  return res as unknown as Awaited<ReturnType<client.CustomFetch>>;
};

/**
 * client_secret_basic the way Access sends it: `base64(id:secret)` with no form-encoding first.
 * (openid-client's own ClientSecretBasic form-encodes both, as RFC 6749 2.3.1 says.)
 */
function accessSecretBasic(secret: string): client.ClientAuth {
  return (_as, c, _body, headers) => {
    headers.set("Authorization", `Basic ${btoa(`${c.client_id}:${secret}`)}`);
  };
}

let config: client.Configuration;
let lines: string[] = [];

beforeAll(async () => {
  config = await client.discovery(new URL(ISSUER), ACCESS.clientId, undefined, accessSecretBasic(ACCESS.secret), {
    execute: [client.allowInsecureRequests],
    [client.customFetch]: customFetch,
  });
});

beforeEach(() => {
  exchanges = [];
  lines = [];
  const capture = (...args: unknown[]) => void lines.push(args.map(String).join(" "));
  for (const level of ["log", "error", "warn", "info", "debug"] as const) vi.spyOn(console, level).mockImplementation(capture);
});

afterEach(() => {
  vi.restoreAllMocks();
});

function loginLines(): Record<string, unknown>[] {
  return lines.flatMap((l) => {
    try {
      const parsed: unknown = JSON.parse(l);
      return typeof parsed === "object" && parsed !== null && (parsed as { event?: unknown }).event === "login" ? [parsed as Record<string, unknown>] : [];
    } catch {
      return [];
    }
  });
}

interface Start {
  readonly url: URL;
  readonly verifier: string;
  readonly state: string;
  readonly nonce: string;
}

/** Access builds its authorization request (the operator's Auth URL may be a peer-style path). */
async function begin(path = "/authorize", scope = FULL_SCOPE): Promise<Start> {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: ACCESS.redirectUri,
    scope,
    state,
    nonce,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
  });
  url.pathname = path;
  return { url, verifier, state, nonce };
}

/** The browser: our /authorize, Discord's consent as `scenario`, our /callback. */
async function browser(authUrl: URL, scenario: string): Promise<{ res: Response; discord: URL; code: string }> {
  const a = await call(authUrl.toString());
  expect(a.status, await a.clone().text()).toBe(302);
  const discord = new URL(a.headers.get("Location") ?? "");
  expect(discord.origin + discord.pathname).toBe("https://discord.test/oauth2/authorize");
  const cookie = (a.headers.get("Set-Cookie") ?? "").split(";")[0] ?? "";
  expect(cookie).toMatch(/^__Host-[\w-]+=.+/);
  const sealed = discord.searchParams.get("state") ?? "";
  expect(sealed).not.toBe("");
  const back = new URL(discord.searchParams.get("redirect_uri") ?? "");
  expect(back.toString()).toBe(`${ISSUER}/callback`);
  const code = discordCode(scenario);
  back.searchParams.set("code", code);
  back.searchParams.set("state", sealed);
  const res = await call(back.toString(), { headers: { Cookie: cookie } });
  return { res, discord, code };
}

/** The URL the browser is sent back to Access with. */
function redirectBack(res: Response): URL {
  expect(res.status, `callback answered ${res.status}`).toBe(302);
  const location = new URL(res.headers.get("Location") ?? "");
  expect(location.origin + location.pathname).toBe(ACCESS.redirectUri);
  return location;
}

interface Login {
  readonly start: Start;
  readonly discord: URL;
  readonly code: string;
  readonly tokens: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers;
  readonly payload: JWTPayload & Record<string, unknown>;
  readonly header: { alg: string; kid?: string | undefined };
  readonly jwks: JSONWebKeySet;
}

/** A full successful login, the ID token's signature checked against the bridge's published keys. */
async function login(scenario: string, path = "/authorize", scope = FULL_SCOPE): Promise<Login> {
  const start = await begin(path, scope);
  const { res, discord, code } = await browser(start.url, scenario);
  const back = redirectBack(res);
  expect(back.searchParams.get("error"), back.searchParams.get("error_description") ?? "").toBeNull();
  expect(back.searchParams.get("iss")).toBe(ISSUER);
  const tokens = await client.authorizationCodeGrant(config, back, {
    pkceCodeVerifier: start.verifier,
    expectedState: start.state,
    expectedNonce: start.nonce,
    idTokenExpected: true,
  });
  expect(tokens.id_token).toBeTypeOf("string");
  const jwksRes = await call(config.serverMetadata().jwks_uri ?? "");
  expect(jwksRes.status).toBe(200);
  const jwks = await jwksRes.json<JSONWebKeySet>();
  const { payload, protectedHeader } = await jwtVerify(tokens.id_token ?? "", createLocalJWKSet(jwks), {
    issuer: ISSUER,
    audience: ACCESS.clientId,
    algorithms: ACCESS_ALGS,
  });
  return { start, discord, code, tokens, payload: payload as JWTPayload & Record<string, unknown>, header: protectedHeader, jwks };
}

/** The identity and guild claims Access will see, against the truth. */
function expectClaims(l: Login, t: Truth): void {
  const p = l.payload;
  expect(p.iss).toBe(ISSUER);
  expect(p.sub).toBe(t.user.id);
  expect(p.aud).toBe(ACCESS.clientId);
  expect(p.nonce).toBe(l.start.nonce);
  expect(ACCESS_ALGS).toContain(l.header.alg);
  expect(l.jwks.keys.map((k) => k.kid)).toContain(l.header.kid);
  // openid-client's own reading of the same token agrees.
  expect(l.tokens.claims()).toMatchObject({ sub: t.user.id, iss: ISSUER, aud: ACCESS.clientId, nonce: l.start.nonce });

  expect(p.preferred_username).toBe(t.user.username);
  // Access takes `email` as the identity: only an address Discord verified is sent.
  if (t.user.email && t.user.verified === true) expect(p).toMatchObject({ email: t.user.email, email_verified: true });
  else expect([p.email, p.email_verified]).toEqual([undefined, undefined]);

  // guilds and groups: always present with the guilds scope (empty for carol), no duplicates.
  expect(Array.isArray(p.guilds), "guilds claim is an array").toBe(true);
  expect(Array.isArray(p.groups), "groups claim is an array").toBe(true);
  expect(sorted(p.guilds as unknown[])).toEqual(sorted(t.guilds));
  expect(new Set(p.guilds as unknown[]).size).toBe((p.guilds as unknown[]).length);
  expect(sorted(p.groups as unknown[])).toEqual(sorted(t.groups));
  expect(new Set(p.groups as unknown[]).size).toBe((p.groups as unknown[]).length);
  const roleClaims = Object.keys(p).filter((k) => k.startsWith("roles:"));
  expect(roleClaims.sort()).toEqual(Object.keys(t.roles).sort());
  for (const [k, roles] of Object.entries(t.roles)) {
    expect(Array.isArray(p[k]), `${k} is an array`).toBe(true);
    expect(sorted(p[k] as unknown[]), k).toEqual(sorted(roles));
  }

  // Access matches array claims element by element, exact strings only.
  const arrays = Object.entries(p).filter(([, v]) => Array.isArray(v));
  expect(arrays.map(([k]) => k)).toEqual(expect.arrayContaining(["guilds", "groups", ...Object.keys(t.roles)]));
  for (const [k, v] of arrays) {
    for (const element of v as unknown[]) expect(typeof element, `${k} element ${JSON.stringify(element)}`).toBe("string");
  }
}

/** Discord's bill for one successful login, once the background revoke has happened. */
async function expectDiscordBudget(code: string, t: Truth, retries: { token?: number; reads?: number } = {}): Promise<string[]> {
  await expect.poll(() => discordCalls(code)).toContain(REVOKE);
  const calls = await discordCalls(code);
  expect(calls.filter((c) => c === TOKEN), calls.join(", ")).toHaveLength(1 + (retries.token ?? 0));
  expect(calls.filter((c) => c === REVOKE), calls.join(", ")).toHaveLength(1);
  expect(calls).toContain(USER);
  const reads = calls.filter((c) => c !== TOKEN && c !== REVOKE);
  for (const r of reads) expect([USER, GUILDS, MEMBER]).toContain(r);
  expect(reads.length, calls.join(", ")).toBeLessThanOrEqual(2 + t.roleGuildsIn.length + (retries.reads ?? 0));
  return calls;
}

function expectNoDiscordTokenInLogs(): void {
  expect(lines.length, "something was logged").toBeGreaterThan(0);
  for (const line of lines) expect(line).not.toContain("fake-access-");
}

// ---------------------------------------------------------------------------------------------

describe("Access's view of the bridge", () => {
  it("discovery and keys give Access what it needs", async () => {
    const m = config.serverMetadata();
    expect(m.issuer).toBe(ISSUER);
    expect(m.authorization_endpoint).toBe(`${ISSUER}/authorize`);
    expect(m.token_endpoint).toBe(`${ISSUER}/token`);
    expect(m.jwks_uri).toBe(`${ISSUER}/jwks.json`);
    expect(m.token_endpoint_auth_methods_supported).toContain("client_secret_basic");
    expect(m.code_challenge_methods_supported).toContain("S256");
    expect(m.authorization_response_iss_parameter_supported).toBe(true);
    expect((m.id_token_signing_alg_values_supported ?? []).filter((a) => ACCESS_ALGS.includes(a))).not.toEqual([]);
    const jwks = await (await call("/jwks.json")).json<JSONWebKeySet>();
    expect(jwks.keys.length).toBeGreaterThan(0);
    for (const k of jwks.keys) {
      expect(k.kid).toBeTypeOf("string");
      expect(Object.keys(k)).not.toContain("d");
    }
  });

  it("the token call carries Access's Basic header (id and secret not URL-encoded), and the bridge takes it", async () => {
    // The secret has ':', '%' and '+': the two encodings differ, so this exercises the quirk.
    expect(accessBasic()).not.toBe(rfcBasic(ACCESS.clientId, ACCESS.secret));
    const l = await login("bob");
    const tokenCalls = exchanges.filter((e) => e.path === "/token");
    expect(tokenCalls).toEqual([{ method: "POST", path: "/token", authorization: accessBasic(), status: 200, cacheControl: "no-store" }]);
    expect(l.tokens.token_type.toLowerCase()).toBe("bearer");
    expect(JSON.stringify(l.tokens)).not.toContain("fake-access-");
  });
});

describe("claims for each kind of Discord user (scope openid email profile guilds)", () => {
  // The fixture really has the shapes these tests are about.
  it("the fake users have the shapes under test", () => {
    const alice = truth("alice");
    expect(alice.roleGuildsIn).toHaveLength(2);
    for (const g of alice.roleGuildsIn) expect(alice.roles[`roles:${g}`]?.length).toBeGreaterThan(0);
    expect(alice.groups).toEqual(expect.arrayContaining(["moderators", "artists", "members", `${G.main}:${R.mod}`, `${G.art}:${R.artist}`]));
    const bob = truth("bob");
    expect([bob.guilds.length, bob.roleGuildsIn.length]).toEqual([1, 0]);
    expect(truth("carol").guilds).toEqual([]);
    expect(truth("erin").roles).toEqual({ [`roles:${G.main}`]: [] });
    expect(truth("erin").groups).toEqual([G.main, "members"]);
    expect(truth("dave").guilds).toHaveLength(101);
  });

  for (const name of ["alice", "bob", "carol", "erin", "dave"]) {
    it(`${name}: signed ID token with the right sub, iss, aud, nonce, guilds, roles and groups; Discord budget kept`, async () => {
      const t = truth(name);
      const l = await login(name);
      expect(l.discord.searchParams.get("scope")).toBe("identify email guilds guilds.members.read");
      expect(l.tokens.scope?.split(" ").sort()).toEqual(["email", "guilds", "openid", "profile"]);
      expectClaims(l, t);
      await expectDiscordBudget(l.code, t);
      const events = loginLines();
      expect(events).toContainEqual(expect.objectContaining({ step: "callback", result: "code_issued", client: ACCESS.clientId, discord_user_id: t.user.id }));
      expect(events).toContainEqual(expect.objectContaining({ step: "token", result: "token_issued", client: ACCESS.clientId, discord_user_id: t.user.id }));
      expect(events.filter((e) => e.result === "error")).toEqual([]);
      expectNoDiscordTokenInLogs();
    });
  }

  it("a replayed code is refused (one login, one token)", async () => {
    const start = await begin();
    const { res } = await browser(start.url, "alice");
    const back = redirectBack(res);
    const checks = { pkceCodeVerifier: start.verifier, expectedState: start.state, expectedNonce: start.nonce, idTokenExpected: true };
    await client.authorizationCodeGrant(config, back, checks);
    await expect(client.authorizationCodeGrant(config, back, checks)).rejects.toMatchObject({ error: "invalid_grant" });
    expect(exchanges.filter((e) => e.path === "/token").map((e) => e.status)).toEqual([200, 400]);
  });
});

describe("the peer-compatible Auth URL /authorize/guilds", () => {
  for (const name of ["alice", "erin", "carol"]) {
    it(`${name}: scope "openid email profile" at /authorize/guilds gives the same guild claims`, async () => {
      const t = truth(name);
      const l = await login(name, "/authorize/guilds", "openid email profile");
      expect(l.discord.searchParams.get("scope")).toBe("identify email guilds guilds.members.read");
      expect(l.tokens.scope?.split(" ")).toContain("guilds");
      expectClaims(l, t);
      await expectDiscordBudget(l.code, t);
    });
  }
});

describe("Discord faults end at Access's redirect_uri as clean OAuth errors", () => {
  /** Log in as alice with `fault`, expect `error` at Access, and hand it to openid-client as Access would. */
  async function failingLogin(fault: string, error: string): Promise<{ code: string; state: string }> {
    const start = await begin();
    const { res, code } = await browser(start.url, `alice!${fault}`);
    const back = redirectBack(res);
    expect(back.searchParams.get("error"), fault).toBe(error);
    expect(back.searchParams.get("state"), fault).toBe(start.state);
    expect(back.searchParams.get("iss"), fault).toBe(ISSUER);
    expect(back.searchParams.has("code"), fault).toBe(false);
    expect(back.toString()).not.toContain("fake-access-");
    await expect(
      client.authorizationCodeGrant(config, back, { pkceCodeVerifier: start.verifier, expectedState: start.state, expectedNonce: start.nonce, idTokenExpected: true }),
    ).rejects.toMatchObject({ name: "AuthorizationResponseError", error });
    expect(exchanges.filter((e) => e.path === "/token"), "no token call for a failed login").toEqual([]);
    // Discord's token is still revoked after a failed read.
    await expect.poll(() => discordCalls(code)).toContain(REVOKE);
    return { code, state: start.state };
  }

  function expectErrorLogs(count: number): void {
    const errors = loginLines().filter((e) => e.result === "error");
    expect(errors).toHaveLength(count);
    for (const e of errors) {
      expect(e).toMatchObject({ step: "callback", client: ACCESS.clientId });
      expect(e.reason).toMatch(/^discord:/);
    }
    expect(loginLines().filter((e) => e.result === "code_issued")).toEqual([]);
    expectNoDiscordTokenInLogs();
  }

  const fast: [string, string][] = [];
  for (const call of ["user", "guilds", "member"]) {
    fast.push([`${call}-429`, "temporarily_unavailable"], [`${call}-500`, "temporarily_unavailable"], [`${call}-garbage`, "server_error"]);
  }
  for (const [fault, error] of fast) {
    it(`${fault} -> ${error}`, async () => {
      await failingLogin(fault, error);
      expectErrorLogs(1);
    });
  }

  // The fake stalls 1.5 s and then answers normally, so only a timeout (1 s in tests) can make these
  // fail. Run side by side: one timeout's wait instead of three.
  it("user-slow, guilds-slow, member-slow (past DISCORD_TIMEOUT_MS) -> temporarily_unavailable", async () => {
    await Promise.all(["user-slow", "guilds-slow", "member-slow"].map((fault) => failingLogin(fault, "temporarily_unavailable")));
    expectErrorLogs(3);
  });

  for (const [fault, retried] of [
    ["token-429-short", { token: 1 }],
    ["guilds-429-short", { reads: 1 }],
    ["member-429-short", { reads: truth("alice").roleGuildsIn.length }],
  ] as const) {
    it(`${fault} (retry_after 0.05 s) -> one retry, and the login succeeds`, async () => {
      const t = truth("alice");
      const l = await login(`alice!${fault}`);
      expectClaims(l, t);
      const calls = await expectDiscordBudget(l.code, t, retried);
      if (fault === "guilds-429-short") expect(calls.filter((c) => c === GUILDS)).toHaveLength(2);
      if (fault === "member-429-short") expect(calls.filter((c) => c === MEMBER)).toHaveLength(2 * t.roleGuildsIn.length);
      expect(loginLines().filter((e) => e.result === "error")).toEqual([]);
      expectNoDiscordTokenInLogs();
    });
  }
});
