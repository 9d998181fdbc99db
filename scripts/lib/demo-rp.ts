// A tiny relying party for `npm start`: /rp/start begins a login at the bridge (PKCE S256, state,
// nonce), /rp/callback redeems the code with client_secret_basic, verifies the ID token against the
// bridge's JWKS and shows its claims.
import { createHash, randomBytes } from "node:crypto";
import { createRemoteJWKSet, jwtVerify } from "jose";

export const DEMO_CLIENT_ID = "local-demo";
export const DEMO_CLIENT_SECRET = "local-demo-secret";

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page = (title: string, body: string, status = 200) =>
  new Response(`<!doctype html><meta charset="utf-8"><title>${escape(title)}</title><body style="font:16px system-ui;max-width:46rem;margin:2rem auto"><h1>${escape(title)}</h1>${body}`, {
    status,
    headers: { "Content-Type": "text/html; charset=utf-8" },
  });

export class DemoRelyingParty {
  readonly #bridge: string;
  readonly #redirectUri: string;
  readonly #pending = new Map<string, { nonce: string; verifier: string }>();
  readonly #jwks: ReturnType<typeof createRemoteJWKSet>;

  constructor(bridge: string, redirectUri: string) {
    this.#bridge = bridge;
    this.#redirectUri = redirectUri;
    this.#jwks = createRemoteJWKSet(new URL("/jwks.json", bridge));
  }

  start(): Response {
    const state = randomBytes(16).toString("base64url");
    const nonce = randomBytes(16).toString("base64url");
    const verifier = randomBytes(32).toString("base64url");
    this.#pending.set(state, { nonce, verifier });
    const url = new URL("/authorize", this.#bridge);
    url.search = new URLSearchParams({
      response_type: "code",
      client_id: DEMO_CLIENT_ID,
      redirect_uri: this.#redirectUri,
      scope: "openid profile email guilds",
      state,
      nonce,
      code_challenge: createHash("sha256").update(verifier).digest("base64url"),
      code_challenge_method: "S256",
    }).toString();
    return new Response(null, { status: 302, headers: { Location: url.toString() } });
  }

  async callback(url: URL): Promise<Response> {
    const state = url.searchParams.get("state") ?? "";
    const pending = this.#pending.get(state);
    this.#pending.delete(state);
    if (!pending) return page("Demo: unknown state", '<p>This callback does not match a login started here (the demo forgets logins when it restarts).</p><p><a href="/rp/start">Start a login</a></p>', 400);
    const error = url.searchParams.get("error");
    if (error) {
      const description = `<p><code>${escape(error)}</code>: ${escape(url.searchParams.get("error_description") ?? "")}</p><p><a href="/rp/start">Start a login</a></p>`;
      // What happened, in the words of what happened: a cancel at Discord is not a refusal by the bridge.
      if (error === "access_denied" && /did not allow/.test(url.searchParams.get("error_description") ?? "")) return page("Demo: you cancelled the login at Discord", description, 400);
      if (error === "access_denied") return page("Demo: this Discord account may not use the demo", description, 403);
      return page("Demo: the login did not complete", description, 400);
    }
    if (url.searchParams.get("iss") !== this.#bridge) return page("Demo: wrong iss", "<p>The iss parameter does not match the bridge.</p>", 400);
    const response = await fetch(new URL("/token", this.#bridge), {
      method: "POST",
      headers: { Authorization: `Basic ${btoa(`${DEMO_CLIENT_ID}:${DEMO_CLIENT_SECRET}`)}`, "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "authorization_code", code: url.searchParams.get("code") ?? "", redirect_uri: this.#redirectUri, code_verifier: pending.verifier }),
    });
    const tokens = (await response.json()) as { id_token?: string; error?: string; error_description?: string };
    if (!response.ok || !tokens.id_token) {
      return page("Demo: the token request failed", `<pre>${escape(JSON.stringify(tokens, null, 2))}</pre><p><a href="/rp/start">Start a login</a></p>`, 502);
    }
    const { payload, protectedHeader } = await jwtVerify(tokens.id_token, this.#jwks, { issuer: this.#bridge, audience: DEMO_CLIENT_ID });
    if (payload.nonce !== pending.nonce) return page("Demo: wrong nonce", "<p>The ID token's nonce does not match.</p>", 400);
    return page(
      "Logged in through the bridge",
      `<p>The ID token verified against the bridge's JWKS (${escape(protectedHeader.alg)}, kid <code>${escape(protectedHeader.kid ?? "")}</code>). Its claims:</p>
<pre>${escape(JSON.stringify(payload, null, 2))}</pre><p><a href="/rp/start">Log in again</a></p>`,
    );
  }
}
