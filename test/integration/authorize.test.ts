// /authorize: client and redirect_uri first (a page, never a redirect), then the request itself
// (errors redirect to the client with state and iss), then the trip to Discord.
import { env } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { createWorker } from "../../src/worker";
import fixture from "../fixtures/config.json";
import { ACCESS, CHALLENGE, GRAFANA, ISSUER, accessParams, authorizeUrl, call, callback, discordCalls, discordCode, startLogin } from "../helpers/bridge";

async function expectPage(res: Response, text: RegExp): Promise<void> {
  expect(res.status).toBe(400);
  expect(res.headers.get("Location")).toBeNull();
  expect(res.headers.get("Content-Type")).toMatch(/^text\/html/);
  expect(res.headers.get("Content-Security-Policy")).toContain("frame-ancestors 'none'");
  expect(res.headers.get("Referrer-Policy")).toBe("no-referrer");
  expect(await res.text()).toMatch(text);
}

function expectErrorRedirect(res: Response, error: string, state: string | null = "client-state-123"): URL {
  expect(res.status).toBe(302);
  const location = new URL(res.headers.get("Location") ?? "");
  expect(location.origin + location.pathname).toBe(ACCESS.redirectUri);
  expect(location.searchParams.get("error")).toBe(error);
  expect(location.searchParams.get("state")).toBe(state);
  expect(location.searchParams.get("iss")).toBe(ISSUER);
  expect(location.searchParams.get("code")).toBeNull();
  return location;
}

describe("/authorize sends a valid request to Discord", () => {
  it("redirects to Discord with our client id, our callback, the needed scopes and a sealed state", async () => {
    const { discord, state } = await startLogin();
    expect(discord.searchParams.get("client_id")).toBe("111111111111111111");
    expect(discord.searchParams.get("redirect_uri")).toBe(`${ISSUER}/callback`);
    expect(discord.searchParams.get("scope")).toBe("identify email");
    expect(discord.searchParams.get("response_type")).toBe("code");
    // Discord skips its screen for a user who already allowed these scopes.
    expect(discord.searchParams.get("prompt")).toBe("none");
    // Sealed: the client's state, nonce and challenge are not readable in it.
    expect(state).not.toContain("client-state-123");
    expect(atob(state.split(".")[0]!.replace(/-/g, "+").replace(/_/g, "/"))).toContain('"enc":"A256GCM"');
    expect(state.length).toBeLessThan(700);
  });

  it("asks Discord for identify only when the email scope is absent", async () => {
    const { discord } = await startLogin(accessParams({ scope: "openid profile" }));
    expect(discord.searchParams.get("scope")).toBe("identify");
  });

  it("sets a short-lived HttpOnly, Secure, SameSite=Lax binding cookie and reuses it for a second tab", async () => {
    const res = await call(authorizeUrl(accessParams()));
    const setCookie = res.headers.get("Set-Cookie") ?? "";
    expect(setCookie).toMatch(/^__Host-dob_bind=[A-Za-z0-9_-]{22}; Path=\/; Max-Age=600; HttpOnly; SameSite=Lax; Secure$/);
    const cookie = setCookie.split(";")[0]!;
    const again = await call(authorizeUrl(accessParams()), { headers: { Cookie: cookie } });
    expect((again.headers.get("Set-Cookie") ?? "").split(";")[0]).toBe(cookie);
  });

  it("never adopts a plain dob_bind cookie on an https issuer: a planted binding cannot finish someone else's login (login CSRF)", async () => {
    // The attacker starts a login in their own browser...
    const attacker = await startLogin();
    const attackerValue = attacker.cookie.split("=")[1]!;
    // ...plants its value as the plain cookie (from a sibling subdomain, or over http) in the victim's browser...
    const victim = await call(authorizeUrl(accessParams()), { headers: { Cookie: `dob_bind=${attackerValue}` } });
    const victimCookie = (victim.headers.get("Set-Cookie") ?? "").split(";")[0]!;
    expect(victimCookie).toMatch(/^__Host-dob_bind=[A-Za-z0-9_-]{22}$/);
    expect(victimCookie).not.toContain(attackerValue);
    // ...and sends the victim to the callback of the attacker's login: refused.
    const code = discordCode("bob");
    const res = await callback(attacker, { code }, `dob_bind=${attackerValue}; ${victimCookie}`);
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/another browser/);
    expect(await discordCalls(code)).toEqual([]);
  });

  it("accepts POST with a form body", async () => {
    const body = new URLSearchParams(accessParams() as Record<string, string>);
    const res = await call("/authorize", { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" }, body });
    expect(res.status).toBe(302);
    expect(res.headers.get("Location")).toMatch(/^https:\/\/discord\.test\/oauth2\/authorize\?/);
  });

  it("accepts a registered redirect_uri that has a query, unknown parameters and any scope order", async () => {
    const res = await call(
      authorizeUrl({ response_type: "code", client_id: GRAFANA.clientId, redirect_uri: "https://grafana.example.com/other?x=1", scope: "email openid", code_challenge: CHALLENGE, code_challenge_method: "S256", display: "page", ui_locales: "fr", login_hint: "x", claims_locales: "de", acr_values: "1", max_age: "10000" }),
    );
    expect(res.status).toBe(302);
    expect(new URL(res.headers.get("Location")!).searchParams.get("scope")).toBe("identify email");
  });

  it("maps prompt=login and max_age=0 to Discord's consent screen, and passes prompt=none", async () => {
    for (const extra of [{ prompt: "login" }, { prompt: "consent" }, { max_age: "0" }]) {
      const { discord } = await startLogin(accessParams(extra));
      expect(discord.searchParams.get("prompt")).toBe("consent");
    }
    const { discord } = await startLogin(accessParams({ prompt: "none" }));
    expect(discord.searchParams.get("prompt")).toBe("none");
  });
});

describe("/authorize never redirects for a bad client or redirect_uri", () => {
  it("shows a page for an unknown client", async () => {
    await expectPage(await call(authorizeUrl(accessParams({ client_id: "nobody" }))), /not registered/);
  });
  it("shows a page for a missing client_id", async () => {
    await expectPage(await call(authorizeUrl(accessParams({ client_id: undefined }))), /no client_id/);
  });
  it("shows a page for an unregistered redirect_uri", async () => {
    await expectPage(await call(authorizeUrl(accessParams({ redirect_uri: "https://evil.example/cb" }))), /redirect_uri is not registered/);
  });
  it("shows a page for a redirect_uri that only differs by a trailing slash, case or an added query", async () => {
    for (const uri of [`${ACCESS.redirectUri}/`, ACCESS.redirectUri.toUpperCase(), `${ACCESS.redirectUri}?a=1`, "https://grafana.example.com/other"]) {
      await expectPage(await call(authorizeUrl(accessParams({ redirect_uri: uri }))), /redirect_uri is not registered/);
    }
  });
  it("shows a page for another client's redirect_uri", async () => {
    await expectPage(await call(authorizeUrl(accessParams({ redirect_uri: GRAFANA.redirectUri }))), /redirect_uri is not registered/);
  });
  it("shows a page for a missing redirect_uri", async () => {
    await expectPage(await call(authorizeUrl(accessParams({ redirect_uri: undefined }))), /no redirect_uri/);
  });
  it("shows a page for a repeated client_id or redirect_uri", async () => {
    const url = `${authorizeUrl(accessParams())}&redirect_uri=${encodeURIComponent("https://evil.example/cb")}`;
    await expectPage(await call(url), /redirect_uri is repeated/);
    await expectPage(await call(`${authorizeUrl(accessParams())}&client_id=grafana`), /client_id is repeated/);
  });
  it("shows a page for a POST that is not a form", async () => {
    const res = await call("/authorize", { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" });
    await expectPage(res, /x-www-form-urlencoded/);
  });
  it("escapes what it echoes", async () => {
    const res = await call(authorizeUrl(accessParams({ client_id: "<script>alert(1)</script>" })));
    expect(await res.text()).not.toContain("<script>alert");
  });
});

describe("/authorize sends request errors back to the client", () => {
  const cases: [string, Record<string, string | undefined>, string][] = [
    ["missing response_type", { response_type: undefined }, "invalid_request"],
    ["response_type token", { response_type: "token" }, "unsupported_response_type"],
    ["response_type id_token code", { response_type: "code id_token" }, "unsupported_response_type"],
    ["scope without openid", { scope: "profile email" }, "invalid_scope"],
    ["missing scope", { scope: undefined }, "invalid_scope"],
    ["PKCE plain", { code_challenge_method: "plain" }, "invalid_request"],
    ["PKCE challenge without method (plain by default)", { code_challenge_method: undefined }, "invalid_request"],
    ["PKCE method without challenge", { code_challenge: undefined }, "invalid_request"],
    ["malformed challenge", { code_challenge: "short" }, "invalid_request"],
    ["request object", { request: "eyJhbGciOiJub25lIn0.e30." }, "request_not_supported"],
    ["request_uri", { request_uri: "https://x.example/r" }, "request_uri_not_supported"],
    ["response_mode fragment", { response_mode: "fragment" }, "invalid_request"],
    ["prompt none with login", { prompt: "none login" }, "invalid_request"],
    ["unknown prompt", { prompt: "sometimes" }, "invalid_request"],
    ["negative max_age", { max_age: "-1" }, "invalid_request"],
    ["oversized state", { state: "s".repeat(1025) }, "invalid_request"],
    ["oversized nonce", { nonce: "n".repeat(513) }, "invalid_request"],
    ["state with a control character", { state: "a\u0001b" }, "invalid_request"],
    ["state with non-ASCII characters", { state: "état" }, "invalid_request"],
  ];
  for (const [name, overrides, error] of cases) {
    it(`${name} -> ${error}`, async () => {
      const res = await call(authorizeUrl(accessParams(overrides)));
      // The state is echoed as sent so the client can match the answer, unless it is itself too long:
      // nothing from the request comes back without a bound.
      expectErrorRedirect(res, error, name.startsWith("oversized state") || name.startsWith("state with") ? null : (overrides.state ?? "client-state-123"));
    });
  }

  it("a repeated parameter -> invalid_request", async () => {
    expectErrorRedirect(await call(`${authorizeUrl(accessParams())}&scope=openid`), "invalid_request");
  });

  it("a client with requirePkce refuses a request without a challenge", async () => {
    const res = await call(authorizeUrl({ response_type: "code", client_id: GRAFANA.clientId, redirect_uri: GRAFANA.redirectUri, scope: "openid", state: "s1" }));
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get("Location")!);
    expect(location.origin + location.pathname).toBe(GRAFANA.redirectUri);
    expect(location.searchParams.get("error")).toBe("invalid_request");
    expect(location.searchParams.get("error_description")).toMatch(/PKCE/);
    expect(location.searchParams.get("state")).toBe("s1");
  });

  it("omits state when the client sent none", async () => {
    const res = await call(authorizeUrl(accessParams({ state: undefined, response_type: "token" })));
    const location = new URL(res.headers.get("Location")!);
    expect(location.searchParams.has("state")).toBe(false);
  });

  it("answers other methods with 405", async () => {
    const res = await call("/authorize", { method: "PUT" });
    expect(res.status).toBe(405);
    expect(res.headers.get("Allow")).toBe("GET, POST");
  });
});

describe("loopback redirect URIs (RFC 8252 7.3)", () => {
  const registered = ["http://127.0.0.1:8788/rp/callback", "http://[::1]:8788/cb", "http://localhost:8788/cb"];
  const worker = createWorker({ ...fixture, clients: fixture.clients.map((c) => (c.clientId === "access" ? { ...c, redirectUris: registered } : c)) });
  const authorize = (redirectUri: string) =>
    worker.fetch!(new Request(authorizeUrl(accessParams({ redirect_uri: redirectUri }))) as Request<unknown, IncomingRequestCfProperties>, env, createExecutionContext());

  it("an http loopback IP redirect matches on any port, the rest of it exactly", async () => {
    for (const uri of ["http://127.0.0.1:8788/rp/callback", "http://127.0.0.1:41234/rp/callback", "http://127.0.0.1/rp/callback", "http://[::1]:5000/cb"]) {
      const res = await authorize(uri);
      expect(res.status, uri).toBe(302);
      expect(new URL(res.headers.get("Location")!).origin, uri).toBe("https://discord.test");
    }
  });

  it("another path, host, scheme or query is refused, and localhost (not an IP literal) matches only exactly", async () => {
    for (const uri of ["http://127.0.0.1:41234/rp/other", "http://127.0.0.2:8788/rp/callback", "https://127.0.0.1:8788/rp/callback", "http://127.0.0.1:41234/rp/callback?x=1", "http://localhost:41234/cb", "http://[::1]:5000/cb/"]) {
      const res = await authorize(uri);
      expect(res.status, uri).toBe(400);
      expect(res.headers.get("Location"), uri).toBeNull();
    }
    expect((await authorize("http://localhost:8788/cb")).status).toBe(302);
  });
});
