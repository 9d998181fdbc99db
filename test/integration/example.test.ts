// The example app (examples/worker.ts) as Cloudflare Access would drive it: application tokens of the
// team "testteam" (test/fixtures/access-team.json, a test-only key) with the bridge's claims at top
// level or under `custom`, keys fetched from the team's real certs URL (served by vitest.config.ts),
// and the live check asking a fake Discord of its own (example-discord.test).
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { generateKeyPair, importJWK, SignJWT, type CryptoKey, type JWTPayload } from "jose";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi, type MockInstance } from "vitest";
import worker, { type Env } from "../../examples/worker";
import team from "../fixtures/access-team.json";
import { FAKE_BOT_TOKEN, FAKE_USERS, G, R, type FakeUser } from "../helpers/fake-discord";

const AUD = "4714c1358e65fe4b408ad6d432a5f878f08194bdb4752441fd56faefa9b2b6f2";
const OTHER_APP_AUD = "b0d3c5f4a1e2d3c4b5a6978877665544332211ffeeddccbbaa99887766554433";
const CERTS_URL = "https://testteam.cloudflareaccess.com/cdn-cgi/access/certs";
const EXAMPLE_DISCORD = "https://example-discord.test";

const ENV: Env = { ACCESS_TEAM: "testteam", ACCESS_AUD: AUD };
const LIVE_ENV: Env = { ...ENV, DISCORD_BOT_TOKEN: FAKE_BOT_TOKEN, DISCORD_API_BASE: `${EXAMPLE_DISCORD}/api/v10` };

const alice = FAKE_USERS.alice!; // moderator in the main guild
const erin = FAKE_USERS.erin!; // member of the main guild, no roles
const bob = FAKE_USERS.bob!; // not in the main guild

const UNAUTHORIZED = { error: { code: "UNAUTHORIZED", message: expect.any(String) } };
const FORBIDDEN = { error: { code: "FORBIDDEN", message: expect.any(String) } };

// ---------------------------------------------------------------------------------------------
// Tokens as Access issues them for the app.

/**
 * The bridge's Discord claims for a fake user under test/fixtures/config.json (role guilds G.main and
 * G.art, the aliases "moderators" and "members"), worked out here from FAKE_USERS.
 */
function bridgeClaims(user: FakeUser): Record<string, unknown> {
  const guilds = Object.keys(user.guilds);
  const claims: Record<string, unknown> = { id: user.id, preferred_username: user.username, ...(user.email && user.verified && { email: user.email, email_verified: true }), guilds };
  const groups = [...guilds];
  for (const g of [G.main, G.art]) {
    const roles = user.guilds[g];
    if (roles === undefined) continue;
    claims[`roles:${g}`] = [...roles];
    groups.push(...roles.map((r) => `${g}:${r}`));
  }
  if (user.guilds[G.main]?.includes(R.mod)) groups.push("moderators");
  if (user.guilds[G.main]) groups.push("members");
  claims.groups = groups;
  return claims;
}

type Placement = "top level" | "custom";

interface TokenOptions {
  placement?: Placement;
  aud?: string;
  iss?: string;
  /** Seconds from now. */
  expiresIn?: number;
  key?: CryptoKey;
  kid?: string;
}

let teamKey: CryptoKey;
let foreignKey: CryptoKey;

beforeAll(async () => {
  teamKey = (await importJWK(team.privateJwk, "RS256")) as CryptoKey;
  foreignKey = (await generateKeyPair("RS256")).privateKey;
});

/** An Access application token: Access's own claims, the bridge's claims at top level or under `custom`. */
async function accessToken(claims: Record<string, unknown>, o: TokenOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const payload: JWTPayload = {
    type: "app",
    email: claims.email ?? `${String(claims.preferred_username)}@example.com`,
    identity_nonce: "6ei69kawdKzMIAPF",
    country: "NL",
    ...((o.placement ?? "top level") === "top level" ? claims : { custom: claims }),
  };
  return new SignJWT(payload)
    .setProtectedHeader({ alg: "RS256", kid: o.kid ?? team.privateJwk.kid })
    .setIssuer(o.iss ?? team.issuer)
    .setAudience([o.aud ?? AUD])
    .setSubject(crypto.randomUUID())
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + (o.expiresIn ?? 3600))
    .sign(o.key ?? teamKey);
}

const tokenFor = (user: FakeUser, o: TokenOptions = {}) => accessToken(bridgeClaims(user), o);

// ---------------------------------------------------------------------------------------------
// Calling the example, and reading its decision log.

let logSpy: MockInstance<typeof console.log>;
beforeEach(() => {
  logSpy = vi.spyOn(console, "log").mockImplementation(() => {});
});
afterEach(() => {
  vi.restoreAllMocks();
});

interface Answer {
  status: number;
  cacheControl: string | null;
  body: any;
  /** The example's log line for this request. */
  decision: Record<string, unknown> | undefined;
}

async function get(path: string, token?: string, options: { env?: Env; via?: "header" | "cookie" } = {}): Promise<Answer> {
  const headers = new Headers();
  if (token !== undefined) {
    if (options.via === "cookie") headers.set("Cookie", `theme=dark; CF_Authorization=${token}`);
    else headers.set("Cf-Access-Jwt-Assertion", token);
  }
  const before = logSpy.mock.calls.length;
  const ctx = createExecutionContext();
  const response = await worker.fetch(new Request(`https://tool.example.com${path}`, { headers }), options.env ?? ENV, ctx);
  await waitOnExecutionContext(ctx);
  const lines = logSpy.mock.calls.slice(before).map(([line]) => String(line));
  expect(lines.length, "one decision logged per guarded request").toBeLessThanOrEqual(1);
  // Never the token in a log line (its signature part is unique to it).
  if (token) expect(lines.join("\n")).not.toContain(token.split(".")[2] || token);
  const logged = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  return { status: response.status, cacheControl: response.headers.get("Cache-Control"), body: await response.json(), decision: logged[0] };
}

/** How many bot calls the example's fake Discord has had for one user. */
async function botCalls(user: FakeUser): Promise<number> {
  const calls = (await (await fetch(`${EXAMPLE_DISCORD}/__calls?code=bot:${user.id}`)).json()) as unknown[];
  return calls.length;
}

// ---------------------------------------------------------------------------------------------

describe.each<Placement>(["top level", "custom"])("claims at %s", (placement) => {
  it("GET / shows a member of the main guild who they are", async () => {
    for (const user of [alice, erin]) {
      const { status, body, decision } = await get("/", await tokenFor(user, { placement }));
      expect(status, JSON.stringify(body)).toBe(200);
      expect(body.page).toBe("home");
      expect(body.you).toEqual({
        source: "access",
        userId: user.id,
        username: user.username,
        email: user.email,
        guilds: Object.keys(user.guilds),
        roles: Object.fromEntries([G.main, G.art].filter((g) => user.guilds[g]).map((g) => [g, user.guilds[g]])),
        groups: bridgeClaims(user).groups,
      });
      expect(decision).toMatchObject({ route: "/", status: 200, reason: "allowed", userId: user.id });
    }
  });

  it("GET / refuses someone outside the main guild with 403", async () => {
    const { status, cacheControl, body, decision } = await get("/", await tokenFor(bob, { placement }));
    expect(status).toBe(403);
    expect(body).toEqual(FORBIDDEN);
    expect(cacheControl).toBe("no-store");
    expect(decision).toEqual({ route: "/", status: 403, reason: "not_included", userId: bob.id });
  });

  it("GET /admin and /admin/claims let a moderator in", async () => {
    const token = await tokenFor(alice, { placement });
    const admin = await get("/admin", token);
    expect(admin.status, JSON.stringify(admin.body)).toBe(200);
    expect(admin.body).toMatchObject({ page: "admin", liveChecked: false, you: { userId: alice.id, username: "alice" } });
    expect(admin.body.you.groups).toContain("moderators");
    expect(admin.decision).toMatchObject({ route: "/admin", status: 200, reason: "allowed", userId: alice.id });

    const claims = await get("/admin/claims", token);
    expect(claims.status).toBe(200);
    const home = placement === "custom" ? claims.body.claims.custom : claims.body.claims;
    expect(home).toMatchObject({ id: alice.id, [`roles:${G.main}`]: [R.mod, R.member] });
    expect(claims.body.claims).toMatchObject({ iss: team.issuer, aud: [AUD], type: "app" });
  });

  it("GET /admin refuses a member who is not a moderator, and a non-member, with 403", async () => {
    for (const user of [erin, bob]) {
      for (const path of ["/admin", "/admin/claims"]) {
        const { status, body, decision } = await get(path, await tokenFor(user, { placement }));
        expect(status, `${user.username} ${path}`).toBe(403);
        expect(body).toEqual(FORBIDDEN);
        expect(decision).toEqual({ route: "/admin", status: 403, reason: "not_included", userId: user.id });
      }
    }
  });
});

describe("tokens the example does not accept: 401", () => {
  const cases: [string, () => Promise<string | undefined>, string][] = [
    ["no token", async () => undefined, "token_missing"],
    ["not a JWT", async () => "hello", "token_malformed"],
    ["expired", () => tokenFor(alice, { expiresIn: -3600 }), "token_expired"],
    ["for another Access application", () => tokenFor(alice, { aud: OTHER_APP_AUD }), "wrong_audience"],
    ["from another team", () => tokenFor(alice, { iss: "https://otherteam.cloudflareaccess.com" }), "wrong_issuer"],
    ["signed by another key under the team's kid", () => tokenFor(alice, { key: foreignKey }), "bad_signature"],
    ["signed by another key with its own kid", () => tokenFor(alice, { key: foreignKey, kid: "foreign" }), "bad_signature"],
  ];

  it.each(cases)("%s", async (_name, make, reason) => {
    const token = await make();
    for (const [path, route] of [["/", "/"], ["/admin", "/admin"]] as const) {
      const { status, cacheControl, body, decision } = await get(path, token);
      expect(status, path).toBe(401);
      expect(body).toEqual(UNAUTHORIZED);
      expect(cacheControl).toBe("no-store");
      expect(decision).toEqual({ route, status: 401, reason, userId: undefined });
    }
  });

  it("the CF_Authorization cookie works like the header, refusals included", async () => {
    const ok = await get("/", await tokenFor(erin), { via: "cookie" });
    expect(ok.status).toBe(200);
    expect(ok.body.you.userId).toBe(erin.id);
    const expired = await get("/", await tokenFor(erin, { expiresIn: -3600 }), { via: "cookie" });
    expect(expired.status).toBe(401);
    expect(expired.decision?.reason).toBe("token_expired");
  });
});

describe("live membership check on /admin (DISCORD_BOT_TOKEN set)", () => {
  /** A token whose claims say "moderator of the main guild", for any user id. */
  const claimsModerator = (user: FakeUser) =>
    accessToken({ id: user.id, preferred_username: user.username, guilds: [G.main], groups: [G.main, "moderators"] });

  it("lets a moderator in after asking Discord once, then answers from its cache", async () => {
    const before = await botCalls(alice);
    const first = await get("/admin", await tokenFor(alice), { env: LIVE_ENV });
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body).toMatchObject({ page: "admin", liveChecked: true, you: { userId: alice.id } });
    expect(await botCalls(alice)).toBe(before + 1);
    const second = await get("/admin/claims", await tokenFor(alice), { env: LIVE_ENV });
    expect(second.status).toBe(200);
    expect(await botCalls(alice)).toBe(before + 1);
  });

  it("refuses a token claiming moderators for a user Discord says is not in the guild", async () => {
    const token = await claimsModerator(bob);
    // Without the bot token the claims decide (the control), with it Discord does.
    const claimsOnly = await get("/admin", token, { env: ENV });
    expect(claimsOnly.status).toBe(200);
    const live = await get("/admin", token, { env: LIVE_ENV });
    expect(live.status).toBe(403);
    expect(live.body).toEqual(FORBIDDEN);
    expect(live.decision).toEqual({ route: "/admin", status: 403, reason: "live_not_member", userId: bob.id });
    expect(await botCalls(bob)).toBeGreaterThan(0);
  });

  it("refuses a member whose moderator role Discord no longer shows", async () => {
    const token = await claimsModerator(erin);
    expect((await get("/admin", token, { env: ENV })).status).toBe(200);
    const live = await get("/admin", token, { env: LIVE_ENV });
    expect(live.status).toBe(403);
    expect(live.decision).toMatchObject({ status: 403, reason: "live_missing_role", userId: erin.id });
  });

  it("does not ask Discord for the members' page", async () => {
    const before = await botCalls(alice);
    const home = await get("/", await tokenFor(alice), { env: LIVE_ENV });
    expect(home.status).toBe(200);
    expect(await botCalls(alice)).toBe(before);
  });
});

describe("the team's keys", () => {
  it("are fetched from the team's certs URL once per env, then come from jose's cache", async () => {
    const fetchSpy = vi.spyOn(globalThis, "fetch");
    const certFetches = () => fetchSpy.mock.calls.filter(([input]) => String(input instanceof Request ? input.url : input) === CERTS_URL).length;

    // A fresh env object, as a new isolate would have: the example builds its verifier on the first request.
    const env: Env = { ...ENV };
    expect((await get("/", await tokenFor(alice), { env })).status).toBe(200);
    expect(certFetches()).toBe(1);
    const statuses = [
      (await get("/", await tokenFor(erin), { env })).status,
      (await get("/", await tokenFor(bob), { env })).status,
      (await get("/admin", await tokenFor(alice, { placement: "custom" }), { env })).status,
      (await get("/", await tokenFor(alice, { expiresIn: -3600 }), { env })).status,
      // An unknown kid does not make jose refetch within its cooldown.
      (await get("/", await tokenFor(alice, { key: foreignKey, kid: "foreign" }), { env })).status,
    ];
    expect(statuses).toEqual([200, 403, 200, 401, 401]);
    expect(certFetches()).toBe(1);

    // Another env object gets an app (and a key cache) of its own.
    expect((await get("/", await tokenFor(erin), { env: { ...ENV } })).status).toBe(200);
    expect(certFetches()).toBe(2);
  });
});

describe("everything else", () => {
  it("answers 404 for an unknown page", async () => {
    const { status, body } = await get("/nope", await tokenFor(alice));
    expect(status).toBe(404);
    expect(body.error.code).toBe("NOT_FOUND");
  });
});
