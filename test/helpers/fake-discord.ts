// A fake Discord for tests and `npm start`: OAuth2 token exchange and revoke, /users/@me, and a
// consent page. It runs in Node (miniflare's outboundService, or a local HTTP server).
// The Discord code a test sends to /callback picks the user and the fault: "alice~<nonce>",
// "fault:token-500~<nonce>" (as alice), "dave!member-500~<nonce>". Every call is logged under that
// code for tests to count (bot calls under the code of the user's latest login).
// The self-check's calls (the client-credentials grant and its revoke, /applications/@me, the bot's own
// user and memberships) are logged under APP_CALLS. Its faults: a wrong client secret (401
// invalid_client), and a bot token "fake-bot-token!no-redirect!outside-<guildId>!app-429" (the application's
// redirect URIs lack the bridge's callback; the bot is not in that guild; /applications/@me is
// rate-limited for 30 s); or, for Node tests, the
// instance's `redirectUris` and `botGuilds`.

export const FAKE_DISCORD_CLIENT_ID = "111111111111111111";
export const FAKE_DISCORD_CLIENT_SECRET = "fake-discord-client-secret";
export const FAKE_BOT_TOKEN = "fake-bot-token";
/** The fake application's bot user (like a modern Discord application, it has the application's id). */
export const FAKE_BOT_ID = FAKE_DISCORD_CLIENT_ID;
/** The key the self-check's calls are logged under (see FakeDiscord.calls). */
export const APP_CALLS = "app";

/** Guilds and roles the fake users belong to. */
export const G = { main: "300000000000000001", art: "300000000000000002", other: "300000000000000004" } as const;
export const R = { mod: "400000000000000001", member: "400000000000000002", artist: "400000000000000003" } as const;
const manyGuilds = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`5000000000000${String(i).padStart(5, "0")}`, [] as string[]]));

export interface FakeUser {
  readonly id: string;
  readonly username: string;
  readonly global_name: string | null;
  readonly avatar: string | null;
  readonly email?: string | null;
  readonly verified?: boolean;
  /** Guild id -> role ids. */
  readonly guilds: Readonly<Record<string, readonly string[]>>;
}

export const FAKE_USERS: Readonly<Record<string, FakeUser>> = {
  alice: { id: "80351110224678912", username: "alice", global_name: "Alice Liddell", avatar: "a_1b2c3d4e5f", email: "alice@example.com", verified: true, guilds: { [G.main]: [R.mod, R.member], [G.art]: [R.artist], [G.other]: [] } },
  bob: { id: "175928847299117063", username: "bob", global_name: null, avatar: null, email: "bob@example.net", verified: false, guilds: { [G.other]: [] } },
  carol: { id: "222222222222222222", username: "carol", global_name: "Carol", avatar: null, email: null, verified: false, guilds: {} },
  dave: { id: "333333333333333333", username: "dave", global_name: "Dave", avatar: null, email: "dave@example.org", verified: true, guilds: { ...manyGuilds, [G.main]: [R.member] } },
  tess: { id: "555555555555555555", username: "tess", global_name: "Tess", avatar: null, email: "tess@example.org", verified: true, guilds: { ...Object.fromEntries(Object.keys(manyGuilds).slice(0, 9).map((g) => [g, []])), [G.main]: [R.member] } },
  erin: { id: "444444444444444444", username: "erin", global_name: "Erin", avatar: null, email: "erin@example.org", verified: true, guilds: { [G.main]: [] } },
};

export type Fault =
  | "token-500" | "token-429" | "token-429-short" | "token-400" | "token-garbage" | "token-no-access-token"
  | "user-500" | "user-500-guilds-late" | "user-429" | "user-429-short" | "user-garbage" | "user-null" | "user-no-id" | "user-slow"
  | "guilds-500" | "guilds-429" | "guilds-429-short" | "guilds-garbage" | "guilds-slow"
  | "member-500" | "member-429" | "member-429-short" | "member-garbage" | "member-slow" | "member-403" | "member-gone"
  | "member-null" | "member-404-route" | "member-unknown-guild";

/** How long "-slow" faults stall: longer than the tests' DISCORD_TIMEOUT_MS. */
export const SLOW_MS = 1500;
/** How long a "-late" answer takes: shorter than the tests' DISCORD_TIMEOUT_MS. */
export const LATE_MS = 300;

interface Grant {
  readonly user: string;
  readonly fault: Fault | undefined;
  readonly scope: string;
}

export interface LoggedCall {
  readonly method: string;
  readonly path: string;
}

const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });

const rateLimited = (retryAfter = 30) =>
  json({ message: "You are being rate limited.", retry_after: retryAfter, global: false }, 429, { "Retry-After": String(Math.ceil(retryAfter)), "X-RateLimit-Scope": "user" });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What a code grants when it does not say: every scope the bridge may ask for. */
const ALL_SCOPES = "identify email guilds guilds.members.read";

/**
 * Parse a code like "alice~abc", "fault:user-500~abc" or "alice~abc~identify,guilds" (the scopes the
 * user allowed at Discord's screen; the test helpers add those the bridge asked for) into its scenario.
 */
function scenario(code: string): { user: string; fault: Fault | undefined; scope: string } | undefined {
  const [base = "", , scopes] = code.split("~");
  const scope = scopes === undefined ? ALL_SCOPES : scopes.split(",").join(" ");
  if (base.startsWith("fault:")) return { user: "alice", fault: base.slice("fault:".length) as Fault, scope };
  const [user = "", fault] = base.split("!");
  return user in FAKE_USERS ? { user, fault: fault as Fault | undefined, scope } : undefined;
}

/** Calls are logged under the code without its scopes, the part a test chooses. */
const logKey = (code: string) => code.split("~").slice(0, 2).join("~");

const hasScope = (grant: Grant, scope: string) => grant.scope.split(" ").includes(scope);
const missingScope = (scope: string) => json({ message: `Missing Access: the token lacks the ${scope} scope`, code: 50001 }, 403);

export class FakeDiscord {
  readonly #calls = new Map<string, LoggedCall[]>();
  readonly #codesUsed = new Set<string>();
  readonly #tokens = new Map<string, { code: string; grant: Grant; revoked: boolean }>();
  readonly #lastCodeOfUser = new Map<string, { code: string; grant: Grant }>();
  /** Faults that fail once then let the retry through ("-429-short"). */
  readonly #shortLimited = new Set<string>();
  readonly #clientId: string;
  readonly #clientSecret: string;

  /** The application's registered redirect URIs, as GET /applications/@me lists them. */
  redirectUris: string[] = ["https://bridge.test/callback"];
  /** The guilds the application's bot is in. */
  botGuilds: string[] = Object.values(G);

  constructor(clientId = FAKE_DISCORD_CLIENT_ID, clientSecret = FAKE_DISCORD_CLIENT_SECRET) {
    this.#clientId = clientId;
    this.#clientSecret = clientSecret;
  }

  /** The faults named after a bot token ("fake-bot-token!no-redirect"), or undefined for no bot token of ours. */
  #bot(request: Request): string[] | undefined {
    const [token, ...faults] = (request.headers.get("Authorization") ?? "").replace(/^Bot /, "").split("!");
    return request.headers.get("Authorization")?.startsWith("Bot ") && token === FAKE_BOT_TOKEN ? faults : undefined;
  }

  /** Calls made for one Discord code (including calls with the tokens it produced). */
  calls(code: string): LoggedCall[] {
    return this.#calls.get(logKey(code)) ?? [];
  }

  #log(code: string, request: Request, path: string): void {
    const list = this.#calls.get(logKey(code)) ?? [];
    list.push({ method: request.method, path });
    this.#calls.set(logKey(code), list);
  }

  /**
   * The grant behind a Bearer token. Every call with a token we issued is logged, even one that
   * arrives after the revoke (it still reached Discord); a revoked token then gets undefined (401).
   */
  #bearer(request: Request, loggedPath: string): { code: string; grant: Grant } | undefined {
    const entry = this.#tokens.get((request.headers.get("Authorization") ?? "").replace(/^Bearer /, ""));
    if (entry) this.#log(entry.code, request, loggedPath);
    return entry && !entry.revoked ? entry : undefined;
  }

  #clientOk(request: Request): boolean {
    return request.headers.get("Authorization") === `Basic ${btoa(`${this.#clientId}:${this.#clientSecret}`)}`;
  }

  /** The fetch handler: everything under /api/v10 plus the test control endpoint /__calls. */
  readonly fetch = async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    const path = url.pathname.replace(/^\/api(\/v\d+)?/, "");
    if (url.pathname === "/__calls") return json(this.calls(url.searchParams.get("code") ?? ""));

    if (request.method === "POST" && path === "/oauth2/token") {
      const form = new URLSearchParams(await request.text());
      if (form.get("grant_type") === "client_credentials") {
        // A token for the application's owner, no user involved: proves the client id and secret.
        this.#log(APP_CALLS, request, path);
        if (!this.#clientOk(request)) return json({ error: "invalid_client" }, 401);
        const accessToken = `fake-app-${crypto.randomUUID()}`;
        const scope = form.get("scope") ?? "identify";
        this.#tokens.set(accessToken, { code: APP_CALLS, grant: { user: "alice", fault: undefined, scope }, revoked: false });
        return json({ access_token: accessToken, token_type: "Bearer", expires_in: 604800, scope });
      }
      const code = form.get("code") ?? "";
      this.#log(code, request, path);
      if (!this.#clientOk(request)) return json({ error: "invalid_client" }, 401);
      const sc = scenario(code);
      if (sc?.fault === "token-429-short" && !this.#shortLimited.has(code)) {
        this.#shortLimited.add(code);
        return rateLimited(0.05);
      }
      if (sc?.fault === "token-500") return new Response("upstream connect error", { status: 502 });
      if (sc?.fault === "token-429") return rateLimited();
      if (sc?.fault === "token-garbage") return new Response("<html>oops</html>", { status: 200, headers: { "Content-Type": "text/html" } });
      if (sc?.fault === "token-no-access-token") return json({ token_type: "Bearer" });
      if (!sc || sc.fault === "token-400" || this.#codesUsed.has(code) || form.get("grant_type") !== "authorization_code") {
        return json({ error: "invalid_grant", error_description: 'Invalid "code" in request.' }, 400);
      }
      this.#codesUsed.add(code);
      const accessToken = `fake-access-${crypto.randomUUID()}`;
      const grant = { user: sc.user, fault: sc.fault, scope: sc.scope };
      this.#tokens.set(accessToken, { code, grant, revoked: false });
      this.#lastCodeOfUser.set(FAKE_USERS[sc.user]!.id, { code, grant });
      return json({ access_token: accessToken, token_type: "Bearer", expires_in: 604800, refresh_token: `fake-refresh-${crypto.randomUUID()}`, scope: grant.scope });
    }

    if (request.method === "POST" && path === "/oauth2/token/revoke") {
      const form = new URLSearchParams(await request.text());
      const entry = this.#tokens.get(form.get("token") ?? "");
      if (entry) {
        this.#log(entry.code, request, path);
        // A slow revoke keeps the login's request context alive after the response.
        if (entry.grant.fault === "user-500-guilds-late") await sleep(3 * LATE_MS);
        entry.revoked = true;
      }
      return this.#clientOk(request) ? new Response(null, { status: 200 }) : json({ error: "invalid_client" }, 401);
    }

    if (request.method === "GET" && path === "/applications/@me") {
      const faults = this.#bot(request);
      this.#log(APP_CALLS, request, path);
      if (!faults) return json({ message: "401: Unauthorized", code: 0 }, 401);
      if (faults.includes("app-429")) return rateLimited();
      const redirectUris = faults.includes("no-redirect") ? this.redirectUris.filter((u) => !u.endsWith("/callback")).concat("https://old-bridge.example.com/oauth/discord") : this.redirectUris;
      return json({ id: this.#clientId, name: "Fake application", icon: null, description: "", bot_public: false, bot_require_code_grant: false, flags: 0, redirect_uris: redirectUris, bot: { id: FAKE_BOT_ID, username: "fake-bot", discriminator: "0", bot: true } });
    }

    if (request.method === "GET" && path === "/users/@me" && request.headers.get("Authorization")?.startsWith("Bot ")) {
      this.#log(APP_CALLS, request, path);
      if (!this.#bot(request)) return json({ message: "401: Unauthorized", code: 0 }, 401);
      return json({ id: FAKE_BOT_ID, username: "fake-bot", global_name: null, avatar: null, discriminator: "0", bot: true });
    }

    if (request.method === "GET" && path === "/users/@me") {
      const entry = this.#bearer(request, path);
      if (!entry) return json({ message: "401: Unauthorized", code: 0 }, 401);
      const fault = entry.grant.fault;
      if (fault === "user-500" || fault === "user-500-guilds-late") return json({ message: "Internal Server Error" }, 500);
      if (fault === "user-429") return rateLimited();
      if (fault === "user-429-short" && !this.#shortLimited.has(`${entry.code}:user`)) {
        this.#shortLimited.add(`${entry.code}:user`);
        return rateLimited(0.05);
      }
      if (fault === "user-garbage") return new Response("not json", { status: 200 });
      if (fault === "user-no-id") return json({ username: "x" });
      if (fault === "user-null") return json(null);
      if (fault === "user-slow") await sleep(SLOW_MS);
      const { guilds: _, email, verified, ...user } = FAKE_USERS[entry.grant.user]!;
      // Like Discord, the address only with the email scope.
      return json({ ...user, discriminator: "0", ...(hasScope(entry.grant, "email") && { email, verified }) });
    }

    if (request.method === "GET" && path === "/users/@me/guilds") {
      const entry = this.#bearer(request, path);
      if (!entry) return json({ message: "401: Unauthorized", code: 0 }, 401);
      if (!hasScope(entry.grant, "guilds")) return missingScope("guilds");
      const fault = entry.grant.fault;
      if (fault === "guilds-500") return json({ message: "Internal Server Error" }, 500);
      if (fault === "guilds-429") return rateLimited();
      if (fault === "guilds-429-short" && !this.#shortLimited.has(`${entry.code}:guilds`)) {
        this.#shortLimited.add(`${entry.code}:guilds`);
        return rateLimited(0.05);
      }
      if (fault === "guilds-garbage") return json({ not: "an array" });
      if (fault === "user-500-guilds-late") await sleep(LATE_MS);
      if (fault === "guilds-slow") await sleep(SLOW_MS);
      const guilds = Object.keys(FAKE_USERS[entry.grant.user]!.guilds);
      return json(guilds.map((id) => ({ id, name: `Guild ${id}`, icon: null, owner: false, permissions: "0", features: [] })));
    }

    const userMember = /^\/users\/@me\/guilds\/(\d+)\/member$/.exec(path);
    const botMember = /^\/guilds\/(\d+)\/members\/(\d+)$/.exec(path);
    if (request.method === "GET" && (userMember || botMember)) {
      let entry: { code: string; grant: Grant } | undefined;
      if (userMember) {
        entry = this.#bearer(request, "/users/@me/guilds/{id}/member");
        if (!entry) return json({ message: "401: Unauthorized", code: 0 }, 401);
        if (!hasScope(entry.grant, "guilds.members.read")) return missingScope("guilds.members.read");
      } else {
        const faults = this.#bot(request);
        if (!faults) return json({ message: "401: Unauthorized", code: 0 }, 401);
        const userId = botMember![2]!;
        if (userId === FAKE_BOT_ID) {
          // The bot reading its own membership: like Discord, a guild it is not in answers Missing Access.
          const guildId = botMember![1]!;
          this.#log(APP_CALLS, request, "/guilds/{id}/members/{bot}");
          if (!this.botGuilds.includes(guildId) || faults.includes(`outside-${guildId}`)) return json({ message: "Missing Access", code: 50001 }, 403);
          return json({ user: { id: FAKE_BOT_ID, username: "fake-bot", bot: true }, roles: [], nick: null, joined_at: "2024-01-01T00:00:00.000000+00:00", deaf: false, mute: false, flags: 0 });
        }
        // Outside a login (e.g. an app's live membership check), the user is looked up by id and the
        // call is logged under "bot:<userId>".
        const known = Object.entries(FAKE_USERS).find(([, u]) => u.id === userId);
        entry = this.#lastCodeOfUser.get(userId) ?? (known && { code: `bot:${userId}`, grant: { user: known[0], fault: undefined, scope: ALL_SCOPES } });
        if (!entry) return json({ message: "Unknown Member", code: 10007 }, 404);
        this.#log(entry.code, request, "/guilds/{id}/members/{user}");
      }
      const guildId = (userMember ?? botMember)![1]!;
      const fault = entry.grant.fault;
      if (fault === "member-500") return json({ message: "Internal Server Error" }, 500);
      if (fault === "member-429") return rateLimited();
      if (fault === "member-429-short" && !this.#shortLimited.has(`${entry.code}:${guildId}`)) {
        this.#shortLimited.add(`${entry.code}:${guildId}`);
        return rateLimited(0.05);
      }
      if (fault === "member-garbage") return new Response("{", { status: 200 });
      if (fault === "member-403") return json({ message: "Missing Access", code: 50001 }, 403);
      if (fault === "member-null") return json(null);
      if (fault === "member-404-route") return new Response("<html>404 Not Found</html>", { status: 404, headers: { "Content-Type": "text/html" } });
      if (fault === "member-unknown-guild") return json({ message: "Unknown Guild", code: 10004 }, 404);
      if (fault === "member-slow") await sleep(SLOW_MS);
      const roles = FAKE_USERS[entry.grant.user]!.guilds[guildId];
      // Not a member: Discord answers Unknown Guild to the user's token, Unknown Member to a bot.
      if (roles === undefined || fault === "member-gone") {
        return userMember ? json({ message: "Unknown Guild", code: 10004 }, 404) : json({ message: "Unknown Member", code: 10007 }, 404);
      }
      return json({ roles, nick: null, joined_at: "2024-01-01T00:00:00.000000+00:00", deaf: false, mute: false, flags: 0 });
    }

    if (request.method === "GET" && url.pathname === "/oauth2/authorize") return this.consentPage(url);
    return json({ message: "404: Not Found", code: 0 }, 404);
  };

  /** Discord's consent screen, faked: one button per user, plus "Cancel". */
  consentPage(url: URL): Response {
    const redirectUri = url.searchParams.get("redirect_uri") ?? "";
    const state = url.searchParams.get("state") ?? "";
    const scopes = (url.searchParams.get("scope") ?? "").split(" ").filter(Boolean);
    const link = (params: Record<string, string>) => {
      const target = new URL(redirectUri);
      for (const [k, v] of Object.entries({ ...params, state })) target.searchParams.set(k, v);
      return target.toString().replace(/&/g, "&amp;").replace(/"/g, "&quot;");
    };
    const buttons = Object.entries(FAKE_USERS)
      .map(([name, u]) => `<li><a href="${link({ code: `${name}~${crypto.randomUUID()}~${scopes.join(",")}` })}">Log in as ${name} (${u.id})</a></li>`)
      .join("\n");
    const html = `<!doctype html><meta charset="utf-8"><title>Fake Discord</title>
<h1>Fake Discord: authorize</h1><p>Scopes: ${(url.searchParams.get("scope") ?? "").replace(/</g, "&lt;")}</p>
<ul>${buttons}</ul><p><a href="${link({ error: "access_denied", error_description: "The resource owner or authorization server denied the request" })}">Cancel</a></p>`;
    return new Response(html, { headers: { "Content-Type": "text/html; charset=utf-8" } });
  }
}
