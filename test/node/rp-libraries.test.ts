// Relying-party libraries nobody here wrote sign users in through the bridge and the fake Discord, at
// their default settings: express-openid-connect (Auth0's Express middleware) and Auth.js (@auth/core)
// with its generic OIDC provider. Each library gets only what its own docs ask for: the issuer, its
// client id and secret (and for express-openid-connect, which defaults to the implicit id_token flow,
// response_type=code and the scope with guilds). Everything else (PKCE, state, nonce, client
// authentication, ID token algorithm, response mode, cookies) is the library's default.
//
// The bridge is the real Worker bundled by wrangler and run in Miniflare; each library is served by a
// Node HTTP server; a small cookie jar (cookies are per host, not per port, like a browser's) plays the
// browser, following redirects and clicking the fake Discord's "Log in as" link. Every server listens
// on port 0; the client registrations (exact redirect URIs on those ports) are written into a config
// file next to a temporary Worker entry before it is bundled.
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type RequestListener, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Auth, type AuthConfig } from "@auth/core";
import type { Account, Profile } from "@auth/core/types";
import express, { type ErrorRequestHandler } from "express";
import { auth, claimIncludes } from "express-openid-connect";
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import type { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sendWebResponse, toWebRequest } from "../../scripts/lib/node-http.ts";
import { startBundledBridge, writeEntry } from "../helpers/bundled-bridge.ts";
import { FAKE_DISCORD_CLIENT_ID, FAKE_USERS, FakeDiscord, G, R } from "../helpers/fake-discord.ts";

const alice = FAKE_USERS.alice!;
const bob = FAKE_USERS.bob!;

const EOC = { clientId: "express-oidc", secret: "express-oidc-secret-0123456789" } as const;
const AUTHJS = { clientId: "authjs", secret: "authjs-secret-0123456789" } as const;
/** express-openid-connect asking for response_mode=form_post (its own default mode, kept with the code flow). */
const EOC_POST = { clientId: "express-oidc-post", secret: "express-oidc-post-secret-0123456789" } as const;
/** The scope with guild claims (express-openid-connect's default is "openid profile email"). */
const GUILD_SCOPE = "openid profile email guilds";

const secretHash = (secret: string) => `sha256:${createHash("sha256").update(secret).digest("base64url")}`;

const work = mkdtempSync(join(tmpdir(), "bridge-rplibs-"));
const discord = new FakeDiscord();
const servers: Server[] = [];
let mf: Miniflare;
let fake = "";
let bridge = "";
let eocOrigin = "";
let authOrigin = "";
/** What Auth.js's signIn callback was given, per login. */
const authjsSignIns: { profile: Profile | undefined; account: Account | null | undefined }[] = [];

/** A Node server on a free port; its handler can be set once the other servers' addresses are known. */
async function listen(handler: () => RequestListener | undefined): Promise<string> {
  const server = createServer((req, res) => {
    const h = handler();
    if (h) h(req, res);
    else res.writeHead(503).end("not ready");
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A Web-fetch handler served by node:http (the fake Discord, Auth.js). */
function webHandler(origin: () => string, fetch: (request: Request) => Promise<Response>): RequestListener {
  return (req, res) => {
    void toWebRequest(req, origin())
      .then(fetch)
      .catch((err: unknown) => new Response(`handler failed: ${String(err)}`, { status: 500 }))
      .then((response) => sendWebResponse(res, response));
  };
}

let eocApp: RequestListener | undefined;
let eocPostApp: RequestListener | undefined;
let eocPostOrigin = "";
let authApp: RequestListener | undefined;

function expressApp(baseURL: string, clientID: string, extra: Record<string, string> = {}): express.Express {
  const app = express();
  app.use(
    auth({
      issuerBaseURL: bridge,
      baseURL,
      clientID,
      clientSecret: clientID === EOC.clientId ? EOC.secret : EOC_POST.secret,
      secret: "express-openid-connect-cookie-secret-0123456789",
      // Its default is response_type "id_token" (implicit, response_mode form_post), which the bridge does not offer.
      authorizationParams: { response_type: "code", scope: GUILD_SCOPE, ...extra },
    }),
  );
  app.get("/profile", (req, res) => {
    res.json({ user: req.oidc.user, claims: req.oidc.idTokenClaims, idToken: req.oidc.idToken });
  });
  app.get("/mods", claimIncludes("groups", "moderators"), (req, res) => {
    res.json({ moderator: req.oidc.user?.sub });
  });
  const errors: ErrorRequestHandler = (err: { status?: number; message?: string }, _req, res, _next) => {
    res.status(err.status ?? 500).json({ error: err.message });
  };
  app.use(errors);
  return app;
}

function authjsConfig(): AuthConfig {
  return {
    basePath: "/auth",
    trustHost: true,
    secret: "authjs-cookie-secret-0123456789-0123456789",
    providers: [{ id: "bridge", name: "Discord", type: "oidc", issuer: bridge, clientId: AUTHJS.clientId, clientSecret: AUTHJS.secret }],
    callbacks: {
      signIn({ profile, account }) {
        authjsSignIns.push({ profile, account });
        const groups = profile?.groups;
        return Array.isArray(groups) && groups.includes("moderators");
      },
    },
  };
}

beforeAll(async () => {
  const fakeApp = webHandler(() => fake, discord.fetch);
  fake = await listen(() => fakeApp);
  eocOrigin = await listen(() => eocApp);
  eocPostOrigin = await listen(() => eocPostApp);
  authOrigin = await listen(() => authApp);

  // The Worker: createWorker with our own configuration, registering the libraries' callbacks on their ports.
  const config = {
    discord: { clientId: FAKE_DISCORD_CLIENT_ID },
    clients: [
      { clientId: EOC.clientId, name: "express-openid-connect", redirectUris: [`${eocOrigin}/callback`], clientSecretHash: secretHash(EOC.secret), requirePkce: true },
      { clientId: EOC_POST.clientId, name: "express-openid-connect (form_post)", redirectUris: [`${eocPostOrigin}/callback`], clientSecretHash: secretHash(EOC_POST.secret) },
      { clientId: AUTHJS.clientId, name: "Auth.js", redirectUris: [`${authOrigin}/auth/callback/bridge`], clientSecretHash: secretHash(AUTHJS.secret), requirePkce: true },
    ],
    guilds: { names: { [G.main]: "The Main Community" } },
    roleGuilds: [G.main],
    groups: { moderators: { guild: G.main, anyRole: [R.mod] } },
  };
  // No issuer in the configuration: the bridge is the loopback origin it is reached at.
  ({ mf, origin: bridge } = await startBundledBridge(writeEntry(work, config), work, fake));

  eocApp = expressApp(eocOrigin, EOC.clientId);
  eocPostApp = expressApp(eocPostOrigin, EOC_POST.clientId, { response_mode: "form_post" });
  const authjs = authjsConfig();
  authApp = webHandler(
    () => authOrigin,
    async (request) => (new URL(request.url).pathname.startsWith("/auth/") ? Auth(request, authjs) : new Response("the app", { status: 200 })),
  );
}, 60_000);

afterAll(async () => {
  await mf?.dispose();
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  rmSync(work, { recursive: true, force: true });
});

interface StoredCookie {
  readonly name: string;
  readonly value: string;
  readonly path: string;
}

const BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

interface RequestOptions {
  readonly method?: string;
  readonly form?: URLSearchParams;
  /** The Accept header; a browser's by default. */
  readonly accept?: string;
}

interface Page {
  readonly url: URL;
  readonly status: number;
  readonly text: string;
}

/** A browser without JavaScript: a cookie jar (per host, like a browser's: ports share cookies) and redirects. */
class Browser {
  readonly #jar = new Map<string, StoredCookie[]>();
  /** Every URL requested, in order. */
  readonly visited: URL[] = [];

  #cookieHeader(url: URL): string {
    const pathMatches = (path: string) => url.pathname === path || url.pathname.startsWith(path.endsWith("/") ? path : `${path}/`);
    return (this.#jar.get(url.hostname) ?? [])
      .filter((c) => pathMatches(c.path))
      .map((c) => `${c.name}=${c.value}`)
      .join("; ");
  }

  #store(url: URL, setCookies: string[]): void {
    for (const line of setCookies) {
      const [pair = "", ...attrs] = line.split(";").map((s) => s.trim());
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      const attr = (n: string) => attrs.find((a) => a.toLowerCase().startsWith(`${n}=`))?.slice(n.length + 1);
      const flag = (n: string) => attrs.some((a) => a.toLowerCase() === n);
      // Over http a browser keeps no Secure cookie (no library here should set one on an http origin).
      if (flag("secure") && url.protocol !== "https:") continue;
      const path = attr("path")?.startsWith("/") ? attr("path")! : url.pathname.replace(/\/[^/]*$/, "") || "/";
      const maxAge = attr("max-age");
      const expires = attr("expires");
      const expired = maxAge !== undefined ? Number(maxAge) <= 0 : expires !== undefined && Date.parse(expires) <= Date.now();
      const kept = (this.#jar.get(url.hostname) ?? []).filter((c) => !(c.name === name && c.path === path));
      this.#jar.set(url.hostname, expired ? kept : [...kept, { name, value, path }]);
    }
  }

  cookieNames(origin: string): string[] {
    return (this.#jar.get(new URL(origin).hostname) ?? []).map((c) => c.name);
  }

  /** One request; no redirect followed. */
  async send(url: URL, init: RequestOptions = {}): Promise<Response> {
    this.visited.push(url);
    const headers = new Headers({ Accept: init.accept ?? BROWSER_ACCEPT });
    const cookie = this.#cookieHeader(url);
    if (cookie) headers.set("Cookie", cookie);
    if (init.form) headers.set("Content-Type", "application/x-www-form-urlencoded");
    const response = await fetch(url, { method: init.method ?? "GET", headers, redirect: "manual", ...(init.form && { body: init.form.toString() }) });
    this.#store(url, response.headers.getSetCookie());
    return response;
  }

  /** Navigate: follow redirects (as GETs) to the page they end on. */
  async open(target: string | URL, init: RequestOptions = {}): Promise<Page> {
    let url = new URL(target);
    let response = await this.send(url, init);
    for (let hops = 0; response.status >= 300 && response.status < 400; hops++) {
      if (hops === 20) throw new Error(`too many redirects: ${this.visited.map(String).join(" -> ")}`);
      url = new URL(response.headers.get("Location") ?? "", url);
      await response.body?.cancel();
      response = await this.send(url, { ...(init.accept !== undefined && { accept: init.accept }) });
    }
    return { url, status: response.status, text: await response.text() };
  }

  /** A page's one form, submitted as a browser does with its button (hidden fields as they are). */
  async submitForm(page: Page): Promise<Page> {
    const unescape = (v: string) => v.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
    const form = /<form\b[^>]*\bmethod="post"[^>]*\baction="([^"]*)"[^>]*>([\s\S]*?)<\/form>/i.exec(page.text) ?? /<form\b[^>]*\baction="([^"]*)"[^>]*\bmethod="post"[^>]*>([\s\S]*?)<\/form>/i.exec(page.text);
    if (!form) throw new Error(`no POST form on ${page.url}: ${page.text.slice(0, 300)}`);
    const fields = new URLSearchParams();
    for (const input of form[2]!.matchAll(/<input\b[^>]*>/gi)) {
      const attr = (n: string) => new RegExp(`\\b${n}="([^"]*)"`).exec(input[0])?.[1];
      if (attr("type") === "hidden" && attr("name") !== undefined) fields.append(unescape(attr("name")!), unescape(attr("value") ?? ""));
    }
    return this.open(new URL(unescape(form[1]!), page.url), { method: "POST", form: fields });
  }

  /** On the fake Discord's consent page, log in as `user`. */
  async consentAs(page: Page, user: string): Promise<Page> {
    expect(`${page.url.origin}${page.url.pathname}`, `expected the fake Discord's consent page, got ${page.status}: ${page.text.slice(0, 300)}`).toBe(`${fake}/oauth2/authorize`);
    const href = new RegExp(`<a href="([^"]*)">Log in as ${user} \\(`).exec(page.text)?.[1];
    if (href === undefined) throw new Error(`no "Log in as ${user}" link on the consent page`);
    return this.open(href.replace(/&quot;/g, '"').replace(/&amp;/g, "&"));
  }

  /** The authorization request the relying party sent to the bridge (the last one). */
  authorizeRequest(): URL {
    const found = this.visited.filter((u) => u.origin === bridge && u.pathname === "/authorize").at(-1);
    if (!found) throw new Error(`the relying party never sent the browser to ${bridge}/authorize`);
    return found;
  }
}

function json(page: Page): unknown {
  try {
    return JSON.parse(page.text);
  } catch {
    throw new Error(`expected JSON from ${page.url}, got ${page.status}: ${page.text.slice(0, 300)}`);
  }
}

/** Alice's guild claims as the configuration above makes them. */
const aliceGuildClaims = {
  guilds: Object.keys(alice.guilds),
  [`roles:${G.main}`]: [R.mod, R.member],
  groups: [...Object.keys(alice.guilds), `${G.main}:${R.mod}`, `${G.main}:${R.member}`, "moderators"],
};

describe("express-openid-connect 3.x at its defaults", () => {
  it("signs alice in: sub, email and guild claims in req.oidc, an RS256 ID token, PKCE and a nonce, and the session persists", async () => {
    const b = new Browser();
    const consent = await b.open(`${eocOrigin}/profile`);
    const authorize = b.authorizeRequest();
    expect(Object.fromEntries(authorize.searchParams)).toMatchObject({ client_id: EOC.clientId, redirect_uri: `${eocOrigin}/callback`, response_type: "code", scope: GUILD_SCOPE, code_challenge_method: "S256" });
    expect(authorize.searchParams.get("nonce")).toBeTruthy();
    expect(authorize.searchParams.get("state")).toBeTruthy();
    // The library's default for the code flow: no response_mode, so the bridge's default (query).
    expect(authorize.searchParams.has("response_mode")).toBe(false);

    const page = await b.consentAs(consent, "alice");
    expect(page.url.toString(), page.text.slice(0, 500)).toBe(`${eocOrigin}/profile`);
    expect(page.status).toBe(200);
    // The code came back in the query, with RFC 9207's iss.
    const callback = b.visited.find((u) => u.origin === eocOrigin && u.pathname === "/callback");
    expect(callback?.searchParams.get("iss")).toBe(bridge);
    const { user, claims, idToken } = json(page) as { user: Record<string, unknown>; claims: Record<string, unknown>; idToken: string };
    expect(user).toMatchObject({ sub: alice.id, email: alice.email, email_verified: true, preferred_username: "alice", name: "Alice Liddell", ...aliceGuildClaims });
    expect(claims).toMatchObject({ iss: bridge, aud: EOC.clientId, sub: alice.id });
    expect(decodeProtectedHeader(idToken).alg).toBe("RS256");
    expect(b.cookieNames(eocOrigin)).toContain("appSession");

    // The session cookie alone serves the next requests: no redirect, no new login.
    const before = b.visited.length;
    const again = await b.open(`${eocOrigin}/profile`);
    expect(again.status).toBe(200);
    expect(b.visited.slice(before).map(String)).toEqual([`${eocOrigin}/profile`]);
    expect((json(again) as { user: { sub: string } }).user.sub).toBe(alice.id);
    const mods = await b.open(`${eocOrigin}/mods`);
    expect(mods.status).toBe(200);
    expect(json(mods)).toEqual({ moderator: alice.id });

    // A browser without that cookie is sent to log in.
    const stranger = new Browser();
    expect((await stranger.open(`${eocOrigin}/profile`)).url.origin).toBe(fake);
  });

  it("claimIncludes('groups', 'moderators') refuses bob, who is signed in but not a moderator", async () => {
    const b = new Browser();
    const page = await b.consentAs(await b.open(`${eocOrigin}/mods`), "bob");
    // Back from his login, /mods is not served: the library (errorOnRequiredAuth false, its default)
    // sends a browser that fails the claim check to log in again.
    expect(page.url.origin, `${page.url} ${page.status}: ${page.text.slice(0, 300)}`).toBe(fake);
    expect(b.visited.filter((u) => u.origin === bridge && u.pathname === "/authorize")).toHaveLength(2);
    // Yet he is signed in, with his own claims: no verified email, only the guild he is in.
    const profile = await b.open(`${eocOrigin}/profile`);
    expect(profile.status).toBe(200);
    const { user } = json(profile) as { user: Record<string, unknown> };
    expect(user).toMatchObject({ sub: bob.id, groups: [G.other], guilds: [G.other] });
    expect(user).not.toHaveProperty("email");
    // And stays refused: a browser is sent to log in again, an API caller gets 401.
    expect((await b.open(`${eocOrigin}/mods`)).url.origin).toBe(fake);
    const api = await b.open(`${eocOrigin}/mods`, { accept: "application/json" });
    expect(api.url.toString()).toBe(`${eocOrigin}/mods`);
    expect(api.status).toBe(401);
  });
});

describe("express-openid-connect 3.x with response_mode=form_post", () => {
  it("gets the code, state and iss posted by the bridge's page, and signs alice in", async () => {
    const b = new Browser();
    const consent = await b.open(`${eocPostOrigin}/profile`);
    expect(b.authorizeRequest().searchParams.get("response_mode")).toBe("form_post");
    const posting = await b.consentAs(consent, "alice");
    // The bridge answers its callback with the form_post page (a browser with scripts would post it at once).
    expect(posting.url.origin).toBe(bridge);
    expect(posting.text).toContain(`action="${eocPostOrigin}/callback"`);
    const page = await b.submitForm(posting);
    expect(page.url.toString(), page.text.slice(0, 500)).toBe(`${eocPostOrigin}/profile`);
    const { user, idToken } = json(page) as { user: Record<string, unknown>; idToken: string };
    expect(user).toMatchObject({ sub: alice.id, email: alice.email, ...aliceGuildClaims });
    expect(decodeProtectedHeader(idToken).alg).toBe("RS256");
    // The library got the code by POST, never in a query string.
    expect(b.visited.some((u) => u.origin === eocPostOrigin && u.pathname === "/callback" && u.searchParams.has("code"))).toBe(false);
  });
});

describe("Auth.js (@auth/core) generic OIDC provider at its defaults", () => {
  /** What the app's sign-in button does: signIn("bridge", { callbackUrl }, { scope }) posts the CSRF token. */
  async function signIn(b: Browser): Promise<Page> {
    const csrf = await b.open(`${authOrigin}/auth/csrf`, { accept: "application/json" });
    const { csrfToken } = json(csrf) as { csrfToken: string };
    const url = new URL(`${authOrigin}/auth/signin/bridge`);
    url.searchParams.set("scope", GUILD_SCOPE);
    return b.open(url, { method: "POST", form: new URLSearchParams({ csrfToken, callbackUrl: `${authOrigin}/app` }) });
  }

  async function session(b: Browser): Promise<unknown> {
    const page = await b.open(`${authOrigin}/auth/session`, { accept: "application/json" });
    expect(page.status).toBe(200);
    return json(page);
  }

  it("signs alice in: sub, email and guild claims in the profile, and GET /session returns her with the cookie", async () => {
    const b = new Browser();
    const consent = await signIn(b);
    const authorize = b.authorizeRequest();
    expect(Object.fromEntries(authorize.searchParams)).toMatchObject({ client_id: AUTHJS.clientId, redirect_uri: `${authOrigin}/auth/callback/bridge`, response_type: "code", scope: GUILD_SCOPE, code_challenge_method: "S256" });
    // Auth.js's default checks are PKCE only: no state, no nonce.
    expect(authorize.searchParams.has("state")).toBe(false);
    expect(authorize.searchParams.has("nonce")).toBe(false);

    const signIns = authjsSignIns.length;
    const page = await b.consentAs(consent, "alice");
    expect(page.url.toString(), page.text.slice(0, 500)).toBe(`${authOrigin}/app`);
    expect(authjsSignIns).toHaveLength(signIns + 1);
    const { profile, account } = authjsSignIns.at(-1)!;
    expect(profile).toMatchObject({ iss: bridge, aud: AUTHJS.clientId, sub: alice.id, email: alice.email, email_verified: true, name: "Alice Liddell", ...aliceGuildClaims });
    // Auth.js takes the ID token from the token response without checking its signature (OIDC Core
    // 3.1.3.7 allows that over TLS): check that it is the bridge's, signed with a published key.
    const idToken = account?.id_token ?? "";
    const { payload } = await jwtVerify(idToken, createRemoteJWKSet(new URL(`${bridge}/jwks.json`)), { issuer: bridge, audience: AUTHJS.clientId });
    expect(payload.sub).toBe(alice.id);

    // The session cookie keeps her signed in; a browser without it has no session.
    expect(b.cookieNames(authOrigin)).toContain("authjs.session-token");
    expect(await session(b)).toMatchObject({ user: { name: "Alice Liddell", email: alice.email, image: expect.stringContaining(alice.id) } });
    expect(await session(new Browser())).toBeNull();
  });

  it("a signIn callback rule on groups refuses bob: no session", async () => {
    const b = new Browser();
    const page = await b.consentAs(await signIn(b), "bob");
    expect(page.url.toString()).toBe(`${authOrigin}/auth/error?error=AccessDenied`);
    expect(page.status).toBe(403);
    // The rule saw bob's real claims (not an error): signed in at the bridge, in no moderators group.
    const { profile } = authjsSignIns.at(-1)!;
    expect(profile).toMatchObject({ sub: bob.id, groups: [G.other], guilds: [G.other] });
    expect(profile).not.toHaveProperty("email");
    expect(b.cookieNames(authOrigin)).not.toContain("authjs.session-token");
    expect(await session(b)).toBeNull();
  });
});
