// Guild and role claims, groups aliases, login gating, bot or user role reads, the peer's entry
// points, and Discord faults on the guild and member calls, with every Discord call counted.
import { env } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { decodeJwt } from "jose";
import { afterEach, describe, expect, it, vi } from "vitest";
import { validateConfig } from "../../src/config";
import { heavyIdTokenBytes, ID_TOKEN_BUDGET_BYTES } from "../../src/tokens/budget";
import { createWorker } from "../../src/worker";
import fixture from "../fixtures/config.json";
import { FAKE_BOT_TOKEN, FAKE_USERS, G, LATE_MS, R } from "../helpers/fake-discord";
import { ACCESS, ISSUER, accessBasic, accessParams, call, callback, discordCalls, discordCode, startLogin, tokenRequest, useTarget } from "../helpers/bridge";

const WIKI = { clientId: "wiki", secret: "wiki-secret-0123456789", redirectUri: "https://wiki.example.com/oidc/callback" };
const MODTOOLS = { clientId: "modtools", secret: "modtools-secret-0123456789", redirectUri: "https://mod.example.com/callback" };
const OTHER = "300000000000000004";

afterEach(() => {
  useTarget(undefined);
  vi.restoreAllMocks();
});

function withWorker(config: unknown, extraEnv: Record<string, string> = {}): void {
  const worker = createWorker(config);
  const workerEnv = { ...env, ...extraEnv } as Env;
  useTarget(async (request) => worker.fetch!(request as Request<unknown, IncomingRequestCfProperties>, workerEnv, createExecutionContext()));
}

/** Log in through `client` as `scenario` and return the callback response and the Discord code used. */
async function loginVia(client: { clientId: string; redirectUri: string }, scenario: string, scope = "openid guilds") {
  const params = client === ACCESS ? accessParams({ scope }) : { response_type: "code", client_id: client.clientId, redirect_uri: client.redirectUri, scope, state: "st-1" };
  const started = await startLogin(params);
  const code = discordCode(scenario);
  const res = await callback(started, { code });
  return { res, code, started };
}

async function idToken(client: { clientId: string; secret: string; redirectUri: string }, scenario: string, scope = "openid guilds") {
  const { res, code } = await loginVia(client, scenario, scope);
  expect(res.status, await res.clone().text()).toBe(302);
  const ourCode = new URL(res.headers.get("Location")!).searchParams.get("code")!;
  const token = await tokenRequest(
    { grant_type: "authorization_code", code: ourCode, redirect_uri: client.redirectUri, ...(client === ACCESS && { code_verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk" }) },
    { Authorization: accessBasic(client.clientId, client.secret) },
  );
  expect(token.status, await token.clone().text()).toBe(200);
  const raw = (await token.json<{ id_token: string }>()).id_token;
  return { claims: decodeJwt(raw), raw, calls: () => discordCalls(code) };
}

const MEMBER = "GET /users/@me/guilds/{id}/member";

/** One test per [fault, expected error (null: the login succeeds), Discord calls made], as alice via Access. */
function faultTests(cases: readonly [string, string | null, string[]][], extraEnv: Record<string, string> = {}): void {
  for (const [fault, error, calls] of cases) {
    it(`${fault} -> ${error ?? "login succeeds"}, ${calls.length} Discord calls`, async () => {
      withWorker(fixture, extraEnv);
      const { res, code } = await loginVia(ACCESS, `alice!${fault}`);
      expect(res.status).toBe(302);
      const location = new URL(res.headers.get("Location")!);
      expect(location.searchParams.get("error")).toBe(error);
      if (error) expect(location.searchParams.get("state")).toBe("client-state-123");
      else expect(location.searchParams.get("code")).toBeTruthy();
      await expect.poll(() => discordCalls(code).then((c) => [...c].sort())).toEqual([...calls].sort());
    });
  }
}

describe("guild and role claims", () => {
  it("member of many guilds with roles in two role guilds: guilds, roles:<id>, groups with aliases; 2 + 2 member calls", async () => {
    const { claims, calls } = await idToken(ACCESS, "alice");
    expect(claims.guilds).toEqual([G.main, G.art, OTHER]);
    expect(claims[`roles:${G.main}`]).toEqual([R.mod, R.member]);
    expect(claims[`roles:${G.art}`]).toEqual([R.artist]);
    expect(claims.groups).toEqual([G.main, G.art, OTHER, `${G.main}:${R.mod}`, `${G.main}:${R.member}`, `${G.art}:${R.artist}`, "moderators", "artists", "members"]);
    await expect.poll(calls).toEqual(["POST /oauth2/token", "GET /users/@me", "GET /users/@me/guilds", MEMBER, MEMBER, "POST /oauth2/token/revoke"]);
  });

  it("member of one guild that is not a role guild: no member call, no roles claims", async () => {
    const { claims, calls } = await idToken(ACCESS, "bob");
    expect(claims.guilds).toEqual([OTHER]);
    expect(Object.keys(claims).filter((k) => k.startsWith("roles:"))).toEqual([]);
    expect(claims.groups).toEqual([OTHER]);
    await expect.poll(calls).toEqual(["POST /oauth2/token", "GET /users/@me", "GET /users/@me/guilds", "POST /oauth2/token/revoke"]);
  });

  it("member of no guild: empty guilds and groups (present, not absent)", async () => {
    const { claims } = await idToken(ACCESS, "carol");
    expect(claims.guilds).toEqual([]);
    expect(claims.groups).toEqual([]);
  });

  it("member of a role guild without roles: the guild alias applies, role aliases do not", async () => {
    const { claims } = await idToken(ACCESS, "erin");
    expect(claims[`roles:${G.main}`]).toEqual([]);
    expect(claims.groups).toEqual([G.main, "members"]);
  });

  it("no guilds scope: no guild claims and no guild calls; Discord is asked for identify and email only", async () => {
    const { discord } = await startLogin(accessParams({ scope: "openid email" }));
    expect(discord.searchParams.get("scope")).toBe("identify email");
    const { claims, calls } = await idToken(ACCESS, "alice", "openid email");
    expect(claims.guilds).toBeUndefined();
    expect(claims.groups).toBeUndefined();
    await expect.poll(calls).toEqual(["POST /oauth2/token", "GET /users/@me", "POST /oauth2/token/revoke"]);
  });

  it("the guilds scope asks Discord for guilds and guilds.members.read", async () => {
    const { discord } = await startLogin(accessParams({ scope: "openid email guilds" }));
    expect(discord.searchParams.get("scope")).toBe("identify email guilds guilds.members.read");
  });

  it("guilds.include keeps the guilds claim to the guilds that matter", async () => {
    withWorker({ ...fixture, guilds: { ...fixture.guilds, include: [G.main] } });
    const { claims } = await idToken(ACCESS, "alice");
    expect(claims.guilds).toEqual([G.main]);
    expect(claims.groups).toEqual([G.main, `${G.main}:${R.mod}`, `${G.main}:${R.member}`, `${G.art}:${R.artist}`, "moderators", "artists", "members"]);
  });
});

describe("roles with a bot token", () => {
  it("reads roles through the bot, asks the user only for guilds, same claims", async () => {
    withWorker(fixture, { DISCORD_BOT_TOKEN: FAKE_BOT_TOKEN });
    const { discord } = await startLogin(accessParams({ scope: "openid guilds" }));
    expect(discord.searchParams.get("scope")).toBe("identify guilds");
    const { claims, calls } = await idToken(ACCESS, "alice");
    expect(claims[`roles:${G.main}`]).toEqual([R.mod, R.member]);
    expect(claims.groups).toContain("moderators");
    await expect.poll(calls).toEqual(["POST /oauth2/token", "GET /users/@me", "GET /users/@me/guilds", "GET /guilds/{id}/members/{user}", "GET /guilds/{id}/members/{user}", "POST /oauth2/token/revoke"]);
  });
});

describe("Discord faults with a bot token", () => {
  const T = "POST /oauth2/token", U = "GET /users/@me", GL = "GET /users/@me/guilds", RV = "POST /oauth2/token/revoke", BOT = "GET /guilds/{id}/members/{user}";
  const cases: [string, string | null, string[]][] = [
    // The bot's member calls need the user's id: a slow user read means no member call at all.
    ["user-slow", "temporarily_unavailable", [T, U, GL, RV]],
    ["member-500", "temporarily_unavailable", [T, U, GL, BOT, BOT, RV]],
    ["member-429", "temporarily_unavailable", [T, U, GL, BOT, BOT, RV]],
    ["member-429-short", null, [T, U, GL, BOT, BOT, BOT, BOT, RV]],
    ["member-garbage", "server_error", [T, U, GL, BOT, BOT, RV]],
    // 403 Missing Access: the bot is not in that guild, an operator's problem, not the user's.
    ["member-403", "server_error", [T, U, GL, BOT, BOT, RV]],
    // Unknown Guild to the bot: the bot cannot see that guild. Fail loudly rather than drop the guild.
    ["member-unknown-guild", "server_error", [T, U, GL, BOT, BOT, RV]],
  ];
  faultTests(cases, { DISCORD_BOT_TOKEN: FAKE_BOT_TOKEN });

  it("404 Unknown Member from the bot means not a member: the guild and its roles drop out", async () => {
    withWorker(fixture, { DISCORD_BOT_TOKEN: FAKE_BOT_TOKEN });
    const { claims } = await idToken(ACCESS, "alice!member-gone");
    expect(claims.guilds).toEqual([OTHER]);
    expect(Object.keys(claims).filter((k) => k.startsWith("roles:"))).toEqual([]);
  });

  it("a wrong bot token is a server_error, not a login without roles", async () => {
    withWorker(fixture, { DISCORD_BOT_TOKEN: "not-the-bot-token" });
    const { res } = await loginVia(ACCESS, "alice");
    expect(new URL(res.headers.get("Location")!).searchParams.get("error")).toBe("server_error");
  });
});

describe("login gating", () => {
  it("requireGuilds lets a member in, even without the guilds scope (and then puts no guild claims in)", async () => {
    const { discord } = await startLogin({ response_type: "code", client_id: WIKI.clientId, redirect_uri: WIKI.redirectUri, scope: "openid" });
    expect(discord.searchParams.get("scope")).toBe("identify guilds");
    const { claims } = await idToken(WIKI, "erin", "openid");
    expect(claims.sub).toBe(FAKE_USERS.erin!.id);
    expect(claims.guilds).toBeUndefined();
  });

  it("requireGuilds refuses a non-member with a page naming the community, a join link, a retry and a way back; no code", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    const { res, code } = await loginVia(WIKI, "bob", "openid");
    expect(res.status).toBe(403);
    expect(res.headers.get("Location")).toBeNull();
    const html = await res.text();
    expect(html).toContain("Community Wiki");
    expect(html).toContain("The Main Community");
    expect(html).toContain('href="https://discord.gg/example"');
    const retry = /href="([^"]*\/authorize\?[^"]*)"/.exec(html)?.[1]?.replace(/&#38;/g, "&");
    expect(retry).toBeDefined();
    const again = new URL(retry!);
    expect(again.origin).toBe(ISSUER);
    expect(Object.fromEntries(again.searchParams)).toMatchObject({ client_id: WIKI.clientId, redirect_uri: WIKI.redirectUri, scope: "openid", state: "st-1" });
    const back = /href="(https:\/\/wiki\.example\.com[^"]*)"/.exec(html)?.[1]?.replace(/&#38;/g, "&");
    expect(Object.fromEntries(new URL(back!).searchParams)).toMatchObject({ error: "access_denied", state: "st-1", iss: ISSUER });
    expect(html).not.toMatch(/[?&]code=/);
    // The Discord account that was used, and a way to use another: Discord's screen again (prompt=login).
    expect(html).toContain("You signed in to Discord as <strong>@bob</strong>.");
    const other = /href="([^"]*)">Use another Discord account</.exec(html)?.[1]?.replace(/&#38;/g, "&");
    expect(Object.fromEntries(new URL(other!).searchParams)).toMatchObject({ client_id: WIKI.clientId, redirect_uri: WIKI.redirectUri, state: "st-1", prompt: "login" });
    // The page's reference is the request id of its log line.
    const ref = /Reference: <code>([\w-]{8})<\/code>/.exec(html)?.[1];
    const lines = log.mock.calls.map((c) => JSON.parse(String(c[0])));
    expect(lines).toContainEqual(expect.objectContaining({ event: "login", result: "denied", client: "wiki", discord_user_id: FAKE_USERS.bob!.id, reason: "not_in_required_guild", request_id: ref }));
    await expect.poll(() => discordCalls(code)).toEqual(["POST /oauth2/token", "GET /users/@me", "GET /users/@me/guilds", "POST /oauth2/token/revoke"]);
  });

  it("requireRoles (an alias) lets a moderator in and refuses a member without the role", async () => {
    const { claims } = await idToken(MODTOOLS, "alice", "openid");
    expect(claims.sub).toBe(FAKE_USERS.alice!.id);
    const { res } = await loginVia(MODTOOLS, "erin", "openid");
    expect(res.status).toBe(403);
    const html = await res.text();
    expect(html).toContain("you need one of these in The Main Community on Discord: <strong>moderators</strong>");
    expect(html).toContain("Ask the server's moderators for the role");
    expect(html).toContain("You signed in to Discord as <strong>Erin (@erin)</strong>.");
    // erin is already a member: no advice to join.
    expect(html).not.toContain("Join the server");
    expect(html).not.toMatch(/[?&]code=/);
  });

  it("with prompt=none a refused user is not shown a page: the client gets access_denied", async () => {
    const started = await startLogin({ response_type: "code", client_id: WIKI.clientId, redirect_uri: WIKI.redirectUri, scope: "openid", state: "st-2", prompt: "none" });
    expect(started.discord.searchParams.get("prompt")).toBe("none");
    const res = await callback(started, { code: discordCode("bob") });
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get("Location")!);
    expect(location.origin + location.pathname).toBe(WIKI.redirectUri);
    expect(Object.fromEntries(location.searchParams)).toMatchObject({ error: "access_denied", state: "st-2", iss: ISSUER });
    expect(location.searchParams.get("code")).toBeNull();
  });
});

describe("the best-known peer's entry points", () => {
  it("/authorize/guilds, /authorize/roles and /authorize/email add their scopes", async () => {
    for (const [path, scope] of [["/authorize/guilds", "identify email guilds guilds.members.read"], ["/authorize/roles", "identify email guilds guilds.members.read"], ["/authorize/email", "identify email"]] as const) {
      const url = new URL(path, ISSUER);
      for (const [k, v] of Object.entries(accessParams({ scope: "openid" }))) if (v) url.searchParams.set(k, v);
      const res = await call(url.toString());
      expect(res.status, path).toBe(302);
      expect(new URL(res.headers.get("Location")!).searchParams.get("scope"), path).toBe(scope);
    }
  });

  it("a whole login through /authorize/guilds gives the peer's claims, even when the client asked only for email", async () => {
    const url = new URL("/authorize/guilds", ISSUER);
    for (const [k, v] of Object.entries(accessParams({ scope: "email" }))) if (v) url.searchParams.set(k, v);
    const res = await call(url.toString());
    expect(res.status).toBe(302);
    const discord = new URL(res.headers.get("Location")!);
    const started = { discord, state: discord.searchParams.get("state")!, cookie: res.headers.get("Set-Cookie")!.split(";")[0]! };
    const back = await callback(started, { code: discordCode("alice") });
    const ours = new URL(back.headers.get("Location")!).searchParams.get("code")!;
    const token = await tokenRequest({ grant_type: "authorization_code", code: ours, redirect_uri: ACCESS.redirectUri, code_verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk" });
    const body = await token.json<{ id_token: string; scope: string }>();
    expect(body.scope).toBe("openid profile email guilds");
    const claims = decodeJwt(body.id_token);
    expect(claims).toMatchObject({ id: FAKE_USERS.alice!.id, preferred_username: "alice", name: "Alice Liddell", email: "alice@example.com", guilds: [G.main, G.art, OTHER] });
    expect(claims[`roles:${G.main}`]).toEqual([R.mod, R.member]);
  });

  it("POST /authorize/email adds the scopes to the form", async () => {
    const form = new URLSearchParams(accessParams({ scope: "openid" }) as Record<string, string>);
    const res = await call("/authorize/email", { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" }, body: form.toString() });
    expect(res.status).toBe(302);
    expect(new URL(res.headers.get("Location")!).searchParams.get("scope")).toBe("identify email");
  });

  it("an unknown client on a peer path is a page, not a redirect", async () => {
    const res = await call(`/authorize/guilds?response_type=code&client_id=nobody&redirect_uri=${encodeURIComponent(ACCESS.redirectUri)}&scope=openid`);
    expect(res.status).toBe(400);
    expect(res.headers.get("Location")).toBeNull();
  });

  it("an unknown mode is a page, not a redirect", async () => {
    const res = await call(`/authorize/everything?client_id=access&redirect_uri=${encodeURIComponent(ACCESS.redirectUri)}`);
    expect(res.status).toBe(404);
    expect(res.headers.get("Location")).toBeNull();
  });
});

describe("Discord faults on guild and member calls", () => {
  const T = "POST /oauth2/token", U = "GET /users/@me", GL = "GET /users/@me/guilds", RV = "POST /oauth2/token/revoke";
  const cases: [string, string | null, string[]][] = [
    ["token-429-short", null, [T, T, U, GL, MEMBER, MEMBER, RV]],
    ["user-429-short", null, [T, U, U, GL, MEMBER, MEMBER, RV]],
    // Member calls start as soon as the guild list is in, without waiting for the slow user read.
    ["user-slow", "temporarily_unavailable", [T, U, GL, MEMBER, MEMBER, RV]],
    ["guilds-500", "temporarily_unavailable", [T, U, GL, RV]],
    ["guilds-429", "temporarily_unavailable", [T, U, GL, RV]],
    ["guilds-429-short", null, [T, U, GL, GL, MEMBER, MEMBER, RV]],
    ["guilds-garbage", "server_error", [T, U, GL, RV]],
    ["guilds-slow", "temporarily_unavailable", [T, U, GL, RV]],
    ["member-500", "temporarily_unavailable", [T, U, GL, MEMBER, MEMBER, RV]],
    ["member-429", "temporarily_unavailable", [T, U, GL, MEMBER, MEMBER, RV]],
    ["member-429-short", null, [T, U, GL, MEMBER, MEMBER, MEMBER, MEMBER, RV]],
    ["member-garbage", "server_error", [T, U, GL, MEMBER, MEMBER, RV]],
    ["member-slow", "temporarily_unavailable", [T, U, GL, MEMBER, MEMBER, RV]],
    ["member-403", "server_error", [T, U, GL, MEMBER, MEMBER, RV]],
    ["member-null", "server_error", [T, U, GL, MEMBER, MEMBER, RV]],
    // A 404 without Discord's Unknown Guild / Unknown Member code is not "not a member".
    ["member-404-route", "server_error", [T, U, GL, MEMBER, MEMBER, RV]],
  ];
  faultTests(cases);

  it("a JSON null from /users/@me is a server_error redirect, not a 500", async () => {
    const { res } = await loginVia(ACCESS, "alice!user-null");
    expect(res.status).toBe(302);
    expect(new URL(res.headers.get("Location")!).searchParams.get("error")).toBe("server_error");
  });

  it("Unknown Guild (10004) to the user's own token means not a member", async () => {
    const { claims } = await idToken(ACCESS, "alice!member-unknown-guild");
    expect(claims.guilds).toEqual([OTHER]);
  });

  it("once the login has failed, the reads still to come are cancelled: no member call after the user read fails", async () => {
    const { res, code } = await loginVia(ACCESS, "alice!user-500-guilds-late");
    expect(new URL(res.headers.get("Location")!).searchParams.get("error")).toBe("temporarily_unavailable");
    // Without the cancellation, the late guild list would start two member calls LATE_MS from now,
    // while the (slow) revoke keeps the request's context alive.
    await new Promise((r) => setTimeout(r, 4 * LATE_MS));
    expect((await discordCalls(code)).sort()).toEqual(["POST /oauth2/token", "GET /users/@me", "GET /users/@me/guilds", "POST /oauth2/token/revoke"].sort());
  });

  it("a 404 on a member call means not a member: that guild and its roles drop out", async () => {
    const { claims } = await idToken(ACCESS, "alice!member-gone");
    expect(claims.guilds).toEqual([OTHER]);
    expect(Object.keys(claims).filter((k) => k.startsWith("roles:"))).toEqual([]);
  });
});

describe("claim budget", () => {
  const LEGACY_RS = { clientId: "legacy-rs", secret: "legacy-secret-0123456789", redirectUri: "https://legacy.example.com/oauth/callback" };
  const FULL = "openid email profile guilds";
  const USERS = [["1", "erin"], ["10", "tess"], ["101", "dave"]] as const;
  const INCLUDE = { ...fixture, guilds: { ...fixture.guilds, include: [G.main, G.art] } };

  it("measures ID token size for users in 1, 10 and 101 guilds, with and without guilds.include, and logs tokens over budget", async () => {
    // The RS256 key is the one test/helpers/setup.ts stocked, as `npm run deploy` does.
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const sizes: Record<string, number> = {};
    for (const [label, config] of [["all guilds", fixture], ["include 2", INCLUDE]] as const) {
      withWorker(config);
      for (const [n, user] of USERS) {
        sizes[`${n} guilds, ${label}, ES256`] = (await idToken(ACCESS, user, FULL)).raw.length;
        sizes[`${n} guilds, ${label}, RS256`] = (await idToken(LEGACY_RS, user, FULL)).raw.length;
      }
    }
    console.info(`ID token bytes (scope "${FULL}"): ${JSON.stringify(sizes, null, 1)}`);
    expect(sizes["1 guilds, all guilds, ES256"]).toBeLessThan(1200);
    expect(sizes["10 guilds, all guilds, ES256"]).toBeLessThan(2000);
    expect(sizes["101 guilds, all guilds, ES256"]).toBeGreaterThan(ID_TOKEN_BUDGET_BYTES);
    for (const [k, v] of Object.entries(sizes)) if (k.includes("include")) expect(v, k).toBeLessThan(1500);
    // Each token over the budget is logged, naming the client and user: dave's two.
    const exceeded = warn.mock.calls.map((c) => JSON.parse(String(c[0]))).filter((w) => w.event === "claim_budget_exceeded");
    expect(exceeded).toEqual([
      expect.objectContaining({ client: "access", discord_user_id: FAKE_USERS.dave!.id, id_token_bytes: sizes["101 guilds, all guilds, ES256"] }),
      expect.objectContaining({ client: "legacy-rs", discord_user_id: FAKE_USERS.dave!.id, id_token_bytes: sizes["101 guilds, all guilds, RS256"] }),
    ]);
  });

  it("the estimate for a heavy user bounds real tokens from above", async () => {
    const settings = validateConfig(fixture);
    const access = settings.clients.find((c) => c.clientId === "access")!;
    const dave = (await idToken(ACCESS, "dave", FULL)).raw.length;
    expect(heavyIdTokenBytes(settings.guilds, access, ISSUER)).toBeGreaterThan(dave);
    const included = validateConfig(INCLUDE);
    withWorker(INCLUDE);
    const alice = (await idToken(ACCESS, "alice", FULL)).raw.length;
    expect(heavyIdTokenBytes(included.guilds, access, ISSUER)).toBeGreaterThanOrEqual(alice);
    expect(heavyIdTokenBytes(included.guilds, access, ISSUER)).toBeLessThan(ID_TOKEN_BUDGET_BYTES);
  });

  it("the Worker warns once at start-up when a configuration can exceed the budget, and not when guilds.include keeps it small", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    withWorker(fixture);
    await call("/.well-known/openid-configuration");
    await call("/.well-known/openid-configuration");
    withWorker(INCLUDE);
    await call("/.well-known/openid-configuration");
    withWorker({ ...INCLUDE, clients: INCLUDE.clients.filter((c) => c.idTokenSigningAlg === "ES256") });
    await call("/.well-known/openid-configuration");
    const lines = warn.mock.calls.map((c) => JSON.parse(String(c[0])));
    expect(lines).toEqual([
      { event: "config_warning", warnings: [expect.stringMatching(/200 guilds .* \(clients access, grafana, legacy-rs, wiki, modtools, outline\), over the 3000-byte budget.*set guilds\.include/)] },
      // Two included guilds keep ES256 tokens (the Access client) inside the budget; RS256's longer
      // signature (every other client, on the default) does not.
      { event: "config_warning", warnings: [expect.stringMatching(/every guild of guilds\.include .* \(clients grafana, legacy-rs, wiki, modtools, outline\), over the 3000-byte budget/)] },
    ]);
  });
});
