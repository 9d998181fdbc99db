// OAuth 2.0 Form Post Response Mode: with response_mode=form_post every authorization response (the
// code, and errors after the client is known) is a page that posts code/state/iss (or error) to the
// redirect URI by itself, under a CSP that allows exactly that one script, with a button without scripts.
import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import { AUTO_SUBMIT_SCRIPT } from "../../src/http";
import { G } from "../helpers/fake-discord";
import { ACCESS, ISSUER, accessParams, authorizeUrl, call, callback, discordCode, redeem, startLogin } from "../helpers/bridge";

const WIKI = { clientId: "wiki", redirectUri: "https://wiki.example.com/oidc/callback" };

interface Posted {
  readonly action: string;
  readonly fields: Record<string, string>;
  readonly html: string;
  readonly csp: string;
}

const unescape = (s: string) => s.replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n))).replace(/&amp;/g, "&");

/** Read a form_post page: its one form, its fields, and check the headers every such page has. */
async function formPost(res: Response): Promise<Posted> {
  expect(res.status).toBe(200);
  expect(res.headers.get("Location")).toBeNull();
  expect(res.headers.get("Content-Type")).toMatch(/^text\/html/);
  expect(res.headers.get("Cache-Control")).toBe("no-store");
  expect(res.headers.get("X-Content-Type-Options")).toBe("nosniff");
  expect(res.headers.get("X-Frame-Options")).toBe("DENY");
  const html = await res.text();
  const forms = [...html.matchAll(/<form method="post" action="([^"]*)">/g)];
  expect(forms).toHaveLength(1);
  const fields: Record<string, string> = {};
  for (const [, name, value] of html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)) fields[unescape(name!)] = unescape(value!);
  return { action: unescape(forms[0]![1]!), fields, html, csp: res.headers.get("Content-Security-Policy") ?? "" };
}

async function sha256Base64(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return btoa(String.fromCharCode(...digest));
}

describe("response_mode=form_post", () => {
  it("posts code, state and iss to the redirect URI, and the code works at /token", async () => {
    const started = await startLogin(accessParams({ response_mode: "form_post" }));
    const page = await formPost(await callback(started, { code: discordCode("alice") }));
    expect(page.action).toBe(ACCESS.redirectUri);
    expect(Object.keys(page.fields).sort()).toEqual(["code", "iss", "state"]);
    expect(page.fields).toMatchObject({ state: "client-state-123", iss: ISSUER });
    const tokens = await redeem(page.fields.code!);
    expect(tokens.status).toBe(200);
    expect(decodeJwt((await tokens.json<{ id_token: string }>()).id_token).nonce).toBe("nonce-abc");
  });

  it("runs only its own script, allowed by hash; a visible button works without scripts", async () => {
    const started = await startLogin(accessParams({ response_mode: "form_post" }));
    const page = await formPost(await callback(started, { code: discordCode("alice") }));
    const scripts = [...page.html.matchAll(/<script>([^<]*)<\/script>/g)].map((m) => m[1]);
    expect(scripts).toEqual([AUTO_SUBMIT_SCRIPT]);
    expect(page.html).not.toMatch(/<script[^>]*src=|\son[a-z]+=/i);
    expect(page.csp).toContain(`script-src 'sha256-${await sha256Base64(AUTO_SUBMIT_SCRIPT)}'`);
    expect(page.csp).toContain("default-src 'none'");
    expect(page.csp).not.toContain("unsafe-inline'; script");
    expect(page.csp).not.toMatch(/script-src[^;]*unsafe/);
    expect(page.html).toMatch(/<button type="submit">Continue<\/button>/);
  });

  it("escapes what it posts back: a state with markup stays a value", async () => {
    const state = `"><script>alert(1)</script><input name="code" value="x`;
    const started = await startLogin(accessParams({ response_mode: "form_post", state }));
    const page = await formPost(await callback(started, { code: discordCode("alice") }));
    expect(page.fields.state).toBe(state);
    expect(page.html).not.toContain("<script>alert(1)");
    expect(page.html.match(/<input /g)).toHaveLength(3);
  });

  it("request errors go back by form post once the client and redirect URI are checked", async () => {
    const page = await formPost(await call(authorizeUrl(accessParams({ response_mode: "form_post", scope: "profile" }))));
    expect(page.action).toBe(ACCESS.redirectUri);
    expect(page.fields).toEqual({ error: "invalid_scope", error_description: "scope must include openid", state: "client-state-123", iss: ISSUER });
  });

  it("Discord's errors at /callback go back by form post", async () => {
    const started = await startLogin(accessParams({ response_mode: "form_post" }));
    const page = await formPost(await callback(started, { error: "access_denied" }));
    expect(page.fields).toMatchObject({ error: "access_denied", state: "client-state-123", iss: ISSUER });
  });

  it("an unknown client or redirect URI still gets a page, never a post to the client", async () => {
    const res = await call(authorizeUrl(accessParams({ response_mode: "form_post", redirect_uri: "https://evil.example/cb" })));
    expect(res.status).toBe(400);
    expect(await res.text()).not.toContain("<form");
  });

  it("other response modes are refused (in the query), and query stays the default", async () => {
    for (const mode of ["fragment", "form_post.jwt", "FORM_POST"]) {
      const res = await call(authorizeUrl(accessParams({ response_mode: mode })));
      expect(res.status).toBe(302);
      expect(new URL(res.headers.get("Location")!).searchParams.get("error_description")).toBe("response_mode must be query or form_post");
    }
    const started = await startLogin(accessParams({ response_mode: "query" }));
    expect((await callback(started, { code: discordCode("alice") })).status).toBe(302);
  });

  it("a refused user's way back is a form button (the page may post to that client only), and try again keeps form_post", async () => {
    const started = await startLogin({ response_type: "code", client_id: WIKI.clientId, redirect_uri: WIKI.redirectUri, scope: "openid", state: "s1", response_mode: "form_post" });
    const res = await callback(started, { code: discordCode("carol") });
    expect(res.status).toBe(403);
    expect(res.headers.get("Content-Security-Policy")).toContain("form-action 'self' https://wiki.example.com;");
    const html = await res.text();
    expect(html).toContain(`<form method="post" action="${WIKI.redirectUri}">`);
    expect(html).toMatch(/name="error" value="access_denied"/);
    const retry = /href="([^"]*\/authorize\?[^"]*)"/.exec(html)![1]!;
    expect(new URL(unescape(retry)).searchParams.get("response_mode")).toBe("form_post");
  });
});

describe("discovery lists what the endpoints do", () => {
  it("response modes, and the guild claims of this configuration", async () => {
    const doc = await (await call("/.well-known/openid-configuration")).json<{ response_modes_supported: string[]; claims_supported: string[] }>();
    expect(doc.response_modes_supported).toEqual(["query", "form_post"]);
    expect(doc.claims_supported).toEqual(expect.arrayContaining(["guilds", "groups", `roles:${G.main}`, `roles:${G.art}`, "email", "email_verified"]));
  });
});
