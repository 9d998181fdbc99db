// Drive the Worker in workerd the way a browser and a relying party would.
import { exports } from "cloudflare:workers";
import { expect } from "vitest";

export const ISSUER = "https://bridge.test";
export const ACCESS = {
  clientId: "access",
  secret: "access-secret-with:colon%and+plus",
  redirectUri: "https://team.cloudflareaccess.com/cdn-cgi/access/callback",
} as const;
export const GRAFANA = {
  clientId: "grafana",
  secret: "grafana-secret-0123456789",
  redirectUri: "https://grafana.example.com/login/generic_oauth",
} as const;
export const LEGACY = {
  clientId: "legacy-rs",
  secret: "legacy-secret-0123456789",
  redirectUri: "https://legacy.example.com/oauth/callback",
} as const;
/** A client that asks for synthetic addresses for users without a verified email. */
export const OUTLINE = {
  clientId: "outline",
  secret: "outline-secret-0123456789",
  redirectUri: "https://outline.example.com/auth/oidc.callback",
  syntheticEmailDomain: "discord.bridge.test",
} as const;
export const VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
export const CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"; // RFC 7636 appendix B

type Target = (request: Request) => Promise<Response>;
const defaultTarget: Target = (request) => exports.default.fetch(request);
let target: Target = defaultTarget;

/** Send the helpers' requests to another Worker (e.g. createWorker(otherConfig) with another env). */
export function useTarget(next: Target | undefined): void {
  target = next ?? defaultTarget;
}

export function call(path: string, init?: RequestInit): Promise<Response> {
  return target(new Request(new URL(path, ISSUER).toString(), { redirect: "manual", ...init }));
}

export function authorizeUrl(params: Record<string, string | undefined>): string {
  const url = new URL("/authorize", ISSUER);
  for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.set(k, v);
  return url.toString();
}

export function accessParams(overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    response_type: "code",
    client_id: ACCESS.clientId,
    redirect_uri: ACCESS.redirectUri,
    scope: "openid email profile",
    state: "client-state-123",
    nonce: "nonce-abc",
    code_challenge: CHALLENGE,
    code_challenge_method: "S256",
    ...overrides,
  };
}

export interface Started {
  /** Discord's authorize URL we were sent to. */
  readonly discord: URL;
  /** The sealed state carried through Discord. */
  readonly state: string;
  /** The binding cookie as a `Cookie` header value. */
  readonly cookie: string;
}

/** GET /authorize and expect the redirect to Discord. */
export async function startLogin(params: Record<string, string | undefined> = accessParams()): Promise<Started> {
  const res = await call(authorizeUrl(params));
  expect(res.status, await res.clone().text()).toBe(302);
  const discord = new URL(res.headers.get("Location") ?? "");
  expect(discord.origin + discord.pathname).toBe("https://discord.test/oauth2/authorize");
  const setCookie = res.headers.get("Set-Cookie") ?? "";
  const cookie = setCookie.split(";")[0] ?? "";
  expect(cookie).toMatch(/^__Host-dob_bind=/);
  return { discord, state: discord.searchParams.get("state") ?? "", cookie };
}

/** A unique Discord code for a fake user or fault, e.g. discordCode("alice"). */
export function discordCode(scenario: string): string {
  return `${scenario}~${crypto.randomUUID()}`;
}

/**
 * Discord redirects the browser back to /callback. A code from discordCode() gets the scopes the
 * bridge asked Discord for, so the fake grants exactly those (and refuses calls that need others).
 */
export function callback(started: Started, query: Record<string, string>, cookie: string | null = started.cookie): Promise<Response> {
  const url = new URL("/callback", ISSUER);
  url.searchParams.set("state", started.state);
  const asked = started.discord.searchParams.get("scope");
  for (const [k, v] of Object.entries(query)) {
    url.searchParams.set(k, k === "code" && asked !== null && v.split("~").length === 2 ? `${v}~${asked.split(" ").join(",")}` : v);
  }
  return call(url.toString(), cookie ? { headers: { Cookie: cookie } } : {});
}

/** Full browser leg: authorize, Discord approves as `scenario`, our redirect to the client. */
export async function loginToClient(scenario: string, params: Record<string, string | undefined> = accessParams()): Promise<{ location: URL; discordCode: string }> {
  const started = await startLogin(params);
  const code = discordCode(scenario);
  const res = await callback(started, { code });
  expect(res.status, await res.clone().text()).toBe(302);
  return { location: new URL(res.headers.get("Location") ?? ""), discordCode: code };
}

/** Our authorization code for `scenario`, issued to the Access client. */
export async function codeFor(scenario = "alice", params: Record<string, string | undefined> = accessParams()): Promise<string> {
  const { location } = await loginToClient(scenario, params);
  const code = location.searchParams.get("code");
  expect(code).toBeTruthy();
  return code ?? "";
}

/** Basic credentials as Cloudflare Access sends them: id and secret NOT URL-encoded. */
export function accessBasic(clientId: string = ACCESS.clientId, secret: string = ACCESS.secret): string {
  return `Basic ${btoa(`${clientId}:${secret}`)}`;
}

/** Basic credentials as RFC 6749 2.3.1 says: form-encoded first. */
export function rfcBasic(clientId: string, secret: string): string {
  const enc = (s: string) => new URLSearchParams({ v: s }).toString().slice(2);
  return `Basic ${btoa(`${enc(clientId)}:${enc(secret)}`)}`;
}

export function tokenRequest(form: Record<string, string | undefined>, headers: Record<string, string> = { Authorization: accessBasic() }): Promise<Response> {
  const body = new URLSearchParams();
  for (const [k, v] of Object.entries(form)) if (v !== undefined) body.set(k, v);
  return call("/token", { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded", ...headers }, body });
}

export function redeem(code: string, extra: Record<string, string | undefined> = {}, headers?: Record<string, string>): Promise<Response> {
  return tokenRequest({ grant_type: "authorization_code", code, redirect_uri: ACCESS.redirectUri, code_verifier: VERIFIER, ...extra }, headers);
}

/** Calls the fake Discord saw for one Discord code. */
export async function discordCalls(code: string): Promise<string[]> {
  const res = await fetch(`https://discord.test/__calls?code=${encodeURIComponent(code)}`);
  const calls = await res.json<{ method: string; path: string }[]>();
  return calls.map((c) => `${c.method} ${c.path}`);
}

export async function oauthError(res: Response): Promise<{ error: string; error_description?: string }> {
  expect(res.headers.get("Content-Type")).toMatch(/^application\/json/);
  expect(res.headers.get("Cache-Control")).toBe("no-store");
  return res.json();
}
