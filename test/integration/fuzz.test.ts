// Property-based fuzzing of every endpoint inside workerd (issue "Trust", item 9), with fast-check.
//
// Each property builds requests from valid parts (registered clients and redirect URIs, real PKCE,
// states from a real /authorize, codes from a real login, access tokens from a real /token) and
// mutations (missing, duplicated, empty, oversized and mis-encoded parameters, invalid UTF-8 bodies,
// wrong Content-Types, streamed bodies without Content-Length, lying Content-Lengths, random methods,
// headers, hosts and paths), sends them to the Worker (the first 40 of each property through
// exports.default.fetch, the rest to its fetch handler directly: see EXPORTS_PER_PROPERTY), and checks
// every response:
//
//  I1 status: 2xx, 3xx or 4xx. The only 5xx allowed is a 503 that is an OAuth JSON `server_error` or
//     `temporarily_unavailable`, or an HTML page: the documented answers to a broken configuration or
//     a missing RS256 key. Neither should happen here (test/helpers/setup.ts stocks the keys first).
//  I2 error shape: every 4xx/5xx is either OAuth JSON (`{error, error_description?, request_id}`,
//     `error` from RFC 6749 / RFC 6750 / OIDC Core, Content-Type application/json, Cache-Control
//     no-store) or an HTML page (text/html) that ends with "Reference: <code>request id</code>".
//  I6 traceable: the request id an error carries is in a log line that request wrote.
//  I3 redirects: a 3xx goes to Discord's authorize URL (only from /authorize, with our Discord client
//     id and <issuer>/callback), or to a redirect URI registered for the client the request named
//     (for /callback: the client of the real /authorize that made the state): the registered URI
//     exactly, then `?` or `&`, same origin and path. Such a redirect carries iss=<issuer>, exactly
//     one of `code` and `error` (an error from RFC 6749 4.1.2.1 / OIDC Core 3.1.2.6), the client's
//     own `state` if any, and its Location is at most 16 KiB: half the 32 KB over which Cloudflare
//     (in front of Discord and of Access) answers 414. The longest Location a request the Worker
//     accepts produces today is about 12.9 KB (a Discord redirect sealing a 1024-character state and
//     a 512-character nonce of control characters).
//  I4 no code or token without a complete flow: a `code` in a Location only from GET /callback with a
//     state made by a real /authorize of this file, that browser's binding cookie and a real Discord
//     code, and at most one per state. /token answers 200 only for such a code, once, to the client it
//     was issued to with that client's secret, redirect_uri and (when a challenge was sent) PKCE
//     verifier. /userinfo answers 200 only to an access token a /token of this file issued.
//  I5 no leaks: no response header or body and no log line carries a stack trace, the Discord client
//     secret, a client secret, or a Discord access or refresh token; a JSON Web Key never has private
//     members.
//
// Runs and seed come from vitest.config.ts (provide/inject): FUZZ_RUNS (runs per property, default
// 200; the two properties that complete a real login in every run use half), FUZZ_SEED (default a
// fixed one) and FUZZ_PATH. `npm run fuzz` runs 4000 per property with a fresh seed.
// A failure prints fast-check's seed and path; replay it with
//   FUZZ_SEED=<seed> FUZZ_PATH=<path> npx vitest run test/integration/fuzz.test.ts -t "<property>"
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, inject, it, vi } from "vitest";
import config from "../fixtures/config.json";
import worker from "../fixtures/worker";
import { ACCESS, CHALLENGE, GRAFANA, ISSUER, LEGACY, VERIFIER, accessBasic, rfcBasic } from "../helpers/bridge";
import { FAKE_BOT_TOKEN, FAKE_DISCORD_CLIENT_ID, FAKE_DISCORD_CLIENT_SECRET, FAKE_USERS } from "../helpers/fake-discord";

declare module "vitest" {
  interface ProvidedContext {
    fuzzRuns: string;
    fuzzSeed: string;
    fuzzPath: string;
  }
}

// ---------------------------------------------------------------------------------------------
// Settings

const RUNS = /^\d+$/.test(inject("fuzzRuns")) && Number(inject("fuzzRuns")) > 0 ? Number(inject("fuzzRuns")) : 200;
const SEED = /^-?\d+$/.test(inject("fuzzSeed")) ? Number(inject("fuzzSeed")) : 20261124;
const PATH = inject("fuzzPath") || undefined;
/** Properties that complete a real login in every run are about 5x dearer per run. */
const FLOW_RUNS = Math.max(1, Math.ceil(RUNS / 2));
const timeoutFor = (runs: number) => 60_000 + runs * 400;

// ---------------------------------------------------------------------------------------------
// What the test configuration registers, and what must never leak

interface Client {
  readonly id: string;
  readonly uris: readonly string[];
  readonly pkce: boolean;
}
const CLIENTS: readonly Client[] = (config as { clients: { clientId: string; redirectUris: string[]; requirePkce?: boolean }[] }).clients.map((c) => ({
  id: c.clientId,
  uris: c.redirectUris,
  pkce: c.requirePkce === true,
}));
const clientById = (id: string) => CLIENTS.find((c) => c.id === id);
/** The clients whose secrets the tests know (the others are only used up to /callback). */
const SECRETS: Readonly<Record<string, string>> = { [ACCESS.clientId]: ACCESS.secret, [GRAFANA.clientId]: GRAFANA.secret, [LEGACY.clientId]: LEGACY.secret };
const TOKEN_CLIENTS = CLIENTS.filter((c) => c.id in SECRETS);
const DISCORD_AUTHORIZE = "https://discord.test/oauth2/authorize";
const LOCATION_MAX = 16 * 1024;
const NEVER_SHOWN = [FAKE_DISCORD_CLIENT_SECRET, FAKE_BOT_TOKEN, ...Object.values(SECRETS)];
/** The fake Discord's access and refresh tokens: Discord's tokens never leave the Worker. */
const DISCORD_TOKEN = /fake-(access|refresh)-[0-9a-f]{8}-/;
const STACK_TRACE = [/\bat [^\n]*\.[cm]?[jt]s:\d+/, /\n\s+at [^\n]*(:\d+:\d+|<anonymous>|\(native\))/, /\b\w*Error: /, /\b(src|node_modules)\/[\w./-]+\.[cm]?[jt]s\b/, /file:\/\//];

// RFC 6749 4.1.2.1 and OIDC Core 3.1.2.6: errors sent back to a redirect URI.
const REDIRECT_ERRORS = new Set([
  "invalid_request", "unauthorized_client", "access_denied", "unsupported_response_type", "invalid_scope", "server_error", "temporarily_unavailable",
  "interaction_required", "login_required", "account_selection_required", "consent_required", "invalid_request_uri", "invalid_request_object",
  "request_not_supported", "request_uri_not_supported", "registration_not_supported",
]);
// Plus RFC 6749 5.2 (token endpoint) and RFC 6750 3.1 (bearer tokens).
const OAUTH_ERRORS = new Set([...REDIRECT_ERRORS, "invalid_client", "invalid_grant", "unsupported_grant_type", "invalid_token", "insufficient_scope"]);
const TOKEN_ERRORS = new Set(["invalid_request", "invalid_client", "invalid_grant", "unauthorized_client", "unsupported_grant_type", "invalid_scope", "server_error", "temporarily_unavailable"]);
const USERINFO_ERRORS = new Set(["invalid_request", "invalid_token", "insufficient_scope", "server_error", "temporarily_unavailable"]);

// ---------------------------------------------------------------------------------------------
// What this file has legitimately obtained: the ground truth for I4

interface Pending {
  /** client_id / redirect_uri / state / code_challenge values the /authorize request carried. */
  readonly clients: readonly string[];
  readonly redirectUris: readonly string[];
  readonly states: readonly string[];
  readonly challenges: readonly string[];
  /** The binding cookie value the /authorize response set. */
  readonly binding: string;
  codes: number;
}
interface Issued {
  readonly client: string;
  readonly redirectUri: string;
  readonly challenges: readonly string[];
  redeemed: boolean;
}
const pendings = new Map<string, Pending>();
/**
 * The Discord codes this file minted, by the part the fake Discord knows a code by ("user~nonce"; it
 * reads any further "~..." as the scopes granted), so a code mangled after that part is still the
 * same code to Discord.
 */
const discordCodes = new Set<string>();
const discordCodeKey = (code: string) => code.split("~").slice(0, 2).join("~");
const issuedCodes = new Map<string, Issued>();
const accessTokens = new Set<string>();
const logLines: string[] = [];
const tally = { requests: 0, statuses: new Map<number, number>(), codes: 0, tokens: 0, userinfos: 0 };

// ---------------------------------------------------------------------------------------------
// Request specs: plain data (so a counterexample prints compactly), materialized at run time

/** An oversized value: `fill` repeated to `length` characters. */
interface Big {
  readonly fill: string;
  readonly length: number;
}
type Val = string | Big;
const text = (v: Val): string => (typeof v === "string" ? v : v.fill.repeat(Math.ceil(v.length / v.fill.length)).slice(0, v.length));

interface Entry {
  readonly name: string;
  readonly value: Val;
  /** Put in the query/body as is, without form encoding (so bad escapes reach the Worker). */
  readonly raw?: boolean;
}

interface BodyShape {
  readonly contentType: string | null;
  readonly as: "form" | "json" | "multipart";
  /** Bytes spliced into the body (invalid UTF-8 and such), at junkAt modulo the length. */
  readonly junk: readonly number[];
  readonly junkAt: number;
  /** A `pad=aaaa...` parameter of this many bytes. */
  readonly pad: number | null;
  readonly padFirst: boolean;
  readonly delivery: "buffer" | "stream" | "declared";
  readonly chunk: number;
  /** The Content-Length header sent with delivery "declared" (often a lie). */
  readonly declared: string;
}

interface Spec {
  readonly method: string;
  readonly origin: string;
  readonly path: string;
  readonly query: readonly Entry[];
  readonly headers: readonly (readonly [string, Val])[];
  readonly body: { readonly entries: readonly Entry[]; readonly shape: BodyShape } | null;
}

function encodeEntries(entries: readonly Entry[]): string {
  return entries.map((e) => (e.raw ? `${e.name}=${text(e.value)}` : new URLSearchParams([[e.name, text(e.value)]]).toString())).join("&");
}

function bodyBytes(entries: readonly Entry[], shape: BodyShape): Uint8Array {
  let body: string;
  if (shape.as === "json") body = JSON.stringify(Object.fromEntries(entries.map((e) => [e.name, text(e.value)])));
  else if (shape.as === "multipart") {
    body = entries.map((e) => `--xyz\r\nContent-Disposition: form-data; name="${e.name}"\r\n\r\n${text(e.value)}\r\n`).join("") + "--xyz--\r\n";
  } else body = encodeEntries(entries);
  if (shape.pad !== null) {
    const pad = `pad=${"a".repeat(shape.pad)}`;
    body = shape.padFirst ? `${pad}&${body}` : `${body}&${pad}`;
  }
  const bytes = new TextEncoder().encode(body);
  if (shape.junk.length === 0) return bytes;
  const at = shape.junkAt % (bytes.length + 1);
  const out = new Uint8Array(bytes.length + shape.junk.length);
  out.set(bytes.subarray(0, at), 0);
  out.set(shape.junk, at);
  out.set(bytes.subarray(at), at + shape.junk.length);
  return out;
}

/** What the checks need to know about a request that was sent. */
interface Sent {
  readonly method: string;
  readonly url: URL;
  readonly headers: Headers;
  /** The body read as a form, whatever its Content-Type (a superset of what the Worker may read). */
  readonly form: URLSearchParams | null;
  readonly summary: string;
}

/** Non-empty values of a parameter, from the query and the body (empty values count as absent). */
function values(sent: Sent, name: string): string[] {
  return [...sent.url.searchParams.getAll(name), ...(sent.form?.getAll(name) ?? [])].filter((v) => v !== "");
}

function build(spec: Spec): { request: Request; sent: Sent } {
  const query = encodeEntries(spec.query);
  const url = `${spec.origin}${spec.path}${query ? `?${query}` : ""}`;
  const headers = new Headers();
  for (const [k, v] of spec.headers) headers.append(k, text(v));
  let body: BodyInit | undefined;
  let form: URLSearchParams | null = null;
  let bodyNote = "";
  const upper = spec.method.toUpperCase();
  if (spec.body && upper !== "GET" && upper !== "HEAD") {
    const { shape } = spec.body;
    const bytes = bodyBytes(spec.body.entries, shape);
    form = new URLSearchParams(new TextDecoder().decode(bytes));
    bodyNote = ` (body: ${bytes.length} bytes, ${shape.delivery}, Content-Type ${JSON.stringify(shape.contentType)})`;
    if (shape.contentType !== null) headers.set("Content-Type", shape.contentType);
    if (shape.delivery === "stream") {
      const chunk = Math.max(shape.chunk, Math.ceil(bytes.length / 256), 1);
      body = new ReadableStream<Uint8Array>({
        start(controller) {
          for (let i = 0; i < bytes.length; i += chunk) controller.enqueue(bytes.slice(i, i + chunk));
          controller.close();
        },
      });
    } else {
      if (shape.delivery === "declared") headers.set("Content-Length", shape.declared);
      body = bytes;
    }
  }
  const request = new Request(url, { method: spec.method, headers, body, redirect: "manual", duplex: "half" } as RequestInit);
  const summary = `${request.method} ${url.length > 300 ? `${url.slice(0, 300)}...(${url.length} chars)` : url}${bodyNote}`;
  return { request, sent: { method: request.method, url: new URL(request.url), headers, form, summary } };
}

// ---------------------------------------------------------------------------------------------
// The invariants

class Violation extends Error {
  constructor(rule: string, detail: string, sent: Sent, res: Response, body: string) {
    const location = res.headers.get("Location");
    super(
      `${rule}: ${detail}\n  request: ${sent.summary}\n  response: ${res.status} ${res.headers.get("Content-Type") ?? "(no type)"} ${body.slice(0, 300)}` +
        (location ? `\n  Location (${location.length} chars): ${location.slice(0, 300)}` : ""),
    );
    this.name = "Violation";
  }
}

function cookieValues(header: string | null, names: readonly string[]): string[] {
  return (header ?? "")
    .split(";")
    .map((part) => part.trim())
    .filter((part) => names.includes(part.slice(0, part.indexOf("="))))
    .map((part) => part.slice(part.indexOf("=") + 1));
}

/** Client credentials a /token request presented: Basic (as sent and form-decoded) and client_secret_post. */
function presentedCredentials(sent: Sent): { id: string; secret: string }[] {
  const out: { id: string; secret: string }[] = [];
  const basic = /^Basic +(\S+)/i.exec(sent.headers.get("Authorization") ?? "");
  if (basic?.[1]) {
    try {
      const decoded = new TextDecoder().decode(Uint8Array.from(atob(basic[1]), (c) => c.charCodeAt(0)));
      const colon = decoded.indexOf(":");
      if (colon >= 0) {
        const [id, secret] = [decoded.slice(0, colon), decoded.slice(colon + 1)];
        out.push({ id, secret });
        try {
          out.push({ id: decodeURIComponent(id.replace(/\+/g, " ")), secret: decodeURIComponent(secret.replace(/\+/g, " ")) });
        } catch {
          // not form-encoded
        }
      }
    } catch {
      // not base64
    }
  }
  for (const id of sent.form?.getAll("client_id") ?? []) for (const secret of sent.form?.getAll("client_secret") ?? []) out.push({ id, secret });
  return out;
}

async function s256(verifier: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  return btoa(String.fromCharCode(...digest)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function jwtPayload(jwt: string): Record<string, unknown> {
  const part = jwt.split(".")[1] ?? "";
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(part.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0))));
}

const PRIVATE_JWK_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "k"];

const REQUEST_ID = /^[A-Za-z0-9_-]{8}$/;

/** The request id an error carries: `request_id` in OAuth JSON, the Reference line of a page. */
function requestIdOf(body: string, html: boolean): string | undefined {
  if (html) return /<p class="muted">Reference: <code>([A-Za-z0-9_-]{8})<\/code>/.exec(body)?.[1];
  try {
    const id = (JSON.parse(body) as { request_id?: unknown }).request_id;
    return typeof id === "string" && REQUEST_ID.test(id) ? id : undefined;
  } catch {
    return undefined;
  }
}

/** Check one response against I1-I5 and record what it legitimately issued. Returns the body. */
async function check(sent: Sent, res: Response): Promise<string> {
  const body = sent.method === "HEAD" ? "" : await res.text();
  const fail = (rule: string, detail: string): never => {
    throw new Violation(rule, detail, sent, res, body);
  };
  const status = res.status;
  const type = (res.headers.get("Content-Type") ?? "").toLowerCase();
  const isJson = type.startsWith("application/json");
  const isHtml = type.startsWith("text/html");
  const path = sent.url.pathname;
  let json: unknown;
  if (isJson && body !== "") {
    try {
      json = JSON.parse(body);
    } catch {
      fail("I2", "a JSON response that does not parse");
    }
  }
  const obj = (typeof json === "object" && json !== null ? json : {}) as Record<string, unknown>;

  // I5: leaks, in every header and the body.
  const headerText = [...res.headers].map(([k, v]) => `${k}: ${v}`).join("\n");
  for (const secret of NEVER_SHOWN) if (body.includes(secret) || headerText.includes(secret)) fail("I5", "a secret in the response");
  if (DISCORD_TOKEN.test(body) || DISCORD_TOKEN.test(headerText)) fail("I5", "a Discord token in the response");
  for (const pattern of STACK_TRACE) if (pattern.test(body) || pattern.test(headerText)) fail("I5", `a stack trace in the response (${pattern})`);
  const keys = Array.isArray(obj.keys) ? (obj.keys as unknown[]) : [];
  for (const key of keys) {
    if (typeof key === "object" && key !== null && PRIVATE_JWK_MEMBERS.some((m) => m in key)) fail("I5", "a private JWK member");
  }

  // I1: status.
  if (status < 200 || status > 599) fail("I1", `status ${status}`);
  if (status >= 500 && status !== 503) fail("I1", `a ${status}`);
  if (status === 503 && !(isHtml || (isJson && (obj.error === "server_error" || obj.error === "temporarily_unavailable")))) {
    fail("I1", "a 503 that is neither an OAuth server_error/temporarily_unavailable nor an HTML page");
  }

  // I2: error shape.
  if (status >= 400) {
    if (isJson) {
      if (res.headers.get("Cache-Control")?.split(",").map((s) => s.trim()).includes("no-store") !== true) fail("I2", "an OAuth error without Cache-Control: no-store");
      if (sent.method !== "HEAD") {
        if (typeof obj.error !== "string" || !OAUTH_ERRORS.has(obj.error)) fail("I2", `error ${JSON.stringify(obj.error)} is not an OAuth/OIDC error code`);
        if (obj.error_description !== undefined && typeof obj.error_description !== "string") fail("I2", "error_description is not a string");
        const extra = Object.keys(obj).filter((k) => !["error", "error_description", "error_uri", "request_id"].includes(k));
        if (extra.length > 0) fail("I2", `unexpected members ${extra.join(", ")} in an OAuth error`);
        if (typeof obj.request_id !== "string" || !REQUEST_ID.test(obj.request_id)) fail("I2", "an OAuth error without a request_id");
        if (path === "/token" && !TOKEN_ERRORS.has(obj.error as string)) fail("I2", `${String(obj.error)} is not a token endpoint error`);
        if (path === "/userinfo" && !USERINFO_ERRORS.has(obj.error as string)) fail("I2", `${String(obj.error)} is not a userinfo error`);
      }
    } else if (!isHtml) {
      fail("I2", `an error that is neither OAuth JSON nor an HTML page (${type || "no Content-Type"})`);
    } else if (sent.method !== "HEAD" && requestIdOf(body, true) === undefined) {
      fail("I2", "an error page without its reference");
    }
  }

  // I3 + I4: redirects, and form_post pages, which are the same authorization responses, posted.
  if (status >= 300 && status < 400) await checkRedirect(sent, res, fail);
  const posted = isHtml && status === 200 ? formPostAsRedirect(body) : undefined;
  if (posted !== undefined) await checkRedirect(sent, new Response(null, { status: 302, headers: { Location: posted } }), fail);

  // I4: tokens.
  if (path === "/token" && status < 300 && ("access_token" in obj || "id_token" in obj)) await checkTokenIssued(sent, res, obj, fail);
  if (path === "/userinfo" && status < 300 && sent.method !== "HEAD") {
    const header = /^Bearer +(.*)$/i.exec(sent.headers.get("Authorization") ?? "")?.[1]?.trim();
    const presented = [...(header ? [header] : []), ...values(sent, "access_token")];
    if (!presented.some((t) => accessTokens.has(t))) fail("I4", "/userinfo answered without an access token issued by /token");
    if (typeof obj.sub !== "string") fail("I4", "/userinfo answered without sub");
    tally.userinfos++;
  }
  return body;
}

/** A form_post page (a form with hidden fields posting elsewhere) as the query redirect it stands for. */
function formPostAsRedirect(html: string): string | undefined {
  const form = /<form method="post" action="([^"]*)">/.exec(html);
  const fields = [...html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)];
  if (!form || fields.length === 0) return undefined;
  const unescape = (v: string) => v.replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n)));
  const url = new URL(unescape(form[1] ?? ""));
  for (const [, name, value] of fields) url.searchParams.append(unescape(name ?? ""), unescape(value ?? ""));
  return url.toString();
}

async function checkRedirect(sent: Sent, res: Response, fail: (rule: string, detail: string) => never): Promise<void> {
  const path = sent.url.pathname;
  const location = res.headers.get("Location");
  if (location === null) return fail("I3", "a redirect without Location");
  let target: URL;
  try {
    target = new URL(location);
  } catch {
    return fail("I3", "a Location that is not an absolute URL");
  }
  if (location.length > LOCATION_MAX) fail("I3", `a Location of ${location.length} chars (over ${LOCATION_MAX})`);
  if (target.hash !== "") fail("I3", "a Location with a fragment");

  if (location.startsWith(`${DISCORD_AUTHORIZE}?`)) {
    if (path !== "/authorize" && !path.startsWith("/authorize/")) fail("I3", "a redirect to Discord from outside /authorize");
    const q = target.searchParams;
    if (q.get("client_id") !== FAKE_DISCORD_CLIENT_ID) fail("I3", "Discord is not asked with our Discord client id");
    if (q.get("redirect_uri") !== `${ISSUER}/callback`) fail("I3", `Discord would return to ${q.get("redirect_uri")}`);
    const state = q.get("state");
    if (!state) return fail("I3", "a redirect to Discord without state");
    const binding = cookieValues(
      (res.headers.getSetCookie?.() ?? [res.headers.get("Set-Cookie") ?? ""]).map((c) => c.split(";")[0] ?? "").join("; "),
      ["__Host-dob_bind", "dob_bind"],
    )[0];
    if (!binding) return fail("I3", "a redirect to Discord without a binding cookie");
    pendings.set(state, {
      clients: values(sent, "client_id"),
      redirectUris: values(sent, "redirect_uri"),
      states: values(sent, "state"),
      challenges: values(sent, "code_challenge"),
      binding,
      codes: 0,
    });
    return;
  }

  // A redirect to a client: to a URI registered for the client this request is about.
  let pending: Pending | undefined;
  let clients: readonly string[];
  let uris: readonly string[];
  if (path === "/callback") {
    const state = values(sent, "state");
    pending = state.length === 1 ? pendings.get(state[0] ?? "") : undefined;
    if (!pending) return fail("I3", "/callback redirected to a client without a state from a real /authorize");
    clients = pending.clients;
    uris = pending.redirectUris;
  } else if (path === "/authorize" || path.startsWith("/authorize/")) {
    clients = values(sent, "client_id");
    uris = values(sent, "redirect_uri");
  } else {
    return fail("I3", "a redirect from an endpoint that never redirects");
  }
  const match = clients
    .flatMap((id) => (clientById(id)?.uris ?? []).map((uri) => ({ id, uri })))
    .filter(({ uri }) => uris.includes(uri))
    .find(({ uri }) => {
      const next = location.charAt(uri.length);
      const reg = new URL(uri);
      return location.startsWith(uri) && (next === "?" || next === "&") && reg.origin === target.origin && reg.pathname === target.pathname;
    });
  if (match === undefined) return fail("I3", "a redirect to a URI not registered for the request's client");
  const registered = match.uri;
  const own = new URL(registered).searchParams;
  const q = new URLSearchParams(target.searchParams);
  for (const [k] of own) q.delete(k);
  if (q.getAll("iss").length !== 1 || q.get("iss") !== ISSUER) fail("I3", "a client redirect without iss=<issuer>");
  const code = q.getAll("code");
  const error = q.getAll("error");
  if (code.length + error.length !== 1) fail("I3", "a client redirect without exactly one code or error");
  if (error.length === 1 && !REDIRECT_ERRORS.has(error[0] ?? "")) fail("I3", `error=${error[0]} is not an authorization error code`);
  const echoed = q.getAll("state");
  const allowedStates = pending ? pending.states : values(sent, "state");
  if (echoed.length > 1 || (echoed.length === 1 && !allowedStates.includes(echoed[0] ?? ""))) fail("I3", "a client redirect with a state the client did not send");

  if (code.length === 1) {
    // I4: a code only at the end of a complete flow.
    if (path !== "/callback" || sent.method !== "GET" || !pending) return fail("I4", "a code outside a /callback of a real /authorize");
    const discordCode = values(sent, "code");
    if (discordCode.length !== 1 || !discordCodes.has(discordCodeKey(discordCode[0] ?? ""))) fail("I4", "a code without a real Discord code");
    if (values(sent, "error").length > 0) fail("I4", "a code although Discord reported an error");
    if (!cookieValues(sent.headers.get("Cookie"), ["__Host-dob_bind", "dob_bind"]).includes(pending.binding)) fail("I4", "a code without the browser's binding cookie");
    pending.codes++;
    if (pending.codes > 1) fail("I4", `a state completed ${pending.codes} callbacks`);
    issuedCodes.set(code[0] ?? "", { client: match.id, redirectUri: registered, challenges: pending.challenges, redeemed: false });
    tally.codes++;
  }
}

async function checkTokenIssued(sent: Sent, res: Response, obj: Record<string, unknown>, fail: (rule: string, detail: string) => never): Promise<void> {
  if (sent.method !== "POST") fail("I4", `tokens from a ${sent.method}`);
  const code = sent.form?.getAll("code").filter((v) => v !== "") ?? [];
  const grant = code.length === 1 ? issuedCodes.get(code[0] ?? "") : undefined;
  if (!grant) return fail("I4", "tokens for a code no complete flow issued");
  if (grant.redeemed) fail("I4", "tokens twice for one code");
  if (!presentedCredentials(sent).some((c) => c.id === grant.client && c.secret === SECRETS[grant.client])) fail("I4", "tokens without the code's client's secret");
  if (!(sent.form?.getAll("redirect_uri") ?? []).includes(grant.redirectUri)) fail("I4", "tokens without the code's redirect_uri");
  if (grant.challenges.length > 0) {
    const hashes = await Promise.all((sent.form?.getAll("code_verifier") ?? []).map(s256));
    if (!hashes.some((h) => grant.challenges.includes(h))) fail("I4", "tokens without the PKCE verifier");
  }
  grant.redeemed = true;
  if (res.headers.get("Cache-Control")?.includes("no-store") !== true) fail("I2", "tokens without Cache-Control: no-store");
  if (typeof obj.access_token !== "string" || typeof obj.id_token !== "string" || obj.token_type !== "Bearer") fail("I2", "a token response without access_token, id_token or token_type Bearer");
  const claims = jwtPayload(obj.id_token as string);
  if (claims.iss !== ISSUER || claims.aud !== grant.client) fail("I4", `an ID token for ${String(claims.aud)} from ${String(claims.iss)}`);
  accessTokens.add(obj.access_token as string);
  tally.tokens++;
}

/**
 * How many requests per property go through exports.default.fetch (the runtime's path into the
 * Worker, as test/helpers/bridge.ts's `call`); the others call the same Worker's fetch handler in
 * this isolate with the same env. Under @cloudflare/vitest-pool-workers 0.15.1 every
 * exports.default.fetch in a file is slower than the one before (about 6 ms for the first, 340 ms
 * after 600 calls; cloudflare/workers-sdk#15446), so long runs cannot go through it alone.
 */
const EXPORTS_PER_PROPERTY = 40;
let exportsLeft = 0;

async function fetchWorker(request: Request): Promise<Response> {
  // A body the Worker leaves unread (a 404, a 413 before reading) makes the pool's pipe into the
  // runtime report "Network connection lost" as an uncaught error: bodies take the direct path.
  if (exportsLeft > 0 && request.body === null) {
    exportsLeft--;
    return exports.default.fetch(request);
  }
  const ctx = createExecutionContext();
  const res = await (worker.fetch as (r: Request, e: Env, c: ExecutionContext) => Promise<Response>)(request, env, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

/** Send one request, check it, and check the log lines it caused. */
async function send(spec: Spec): Promise<{ res: Response; body: string; sent: Sent }> {
  const { request, sent } = build(spec);
  const logged = logLines.length;
  const res = await fetchWorker(request);
  tally.requests++;
  tally.statuses.set(res.status, (tally.statuses.get(res.status) ?? 0) + 1);
  const body = await check(sent, res);
  if (res.status >= 400 && sent.method !== "HEAD") {
    const id = requestIdOf(body, (res.headers.get("Content-Type") ?? "").startsWith("text/html"));
    if (id === undefined || !logLines.slice(logged).some((line) => line.includes(`"request_id":"${id}"`))) {
      throw new Violation("I6", `the error's request id ${id ?? "(none)"} is in no log line of this request`, sent, res, body);
    }
  }
  for (const line of logLines.slice(logged)) {
    if (NEVER_SHOWN.some((s) => line.includes(s)) || DISCORD_TOKEN.test(line)) throw new Violation("I5", `a secret or Discord token in a log line: ${line.slice(0, 200)}`, sent, res, body);
    if (STACK_TRACE.some((p) => p.test(line))) throw new Violation("I5", `a stack trace in a log line: ${line.slice(0, 200)}`, sent, res, body);
  }
  return { res, body, sent };
}

// ---------------------------------------------------------------------------------------------
// Real flows (each request goes through the same checks)

const GET = (path: string, query: readonly Entry[], headers: readonly (readonly [string, Val])[] = []): Spec => ({ method: "GET", origin: ISSUER, path, query, headers, body: null });
const entries = (record: Record<string, string | undefined>): Entry[] =>
  Object.entries(record).flatMap(([name, value]) => (value === undefined ? [] : [{ name, value }]));

interface AuthorizeOptions {
  readonly client: Client;
  readonly uri: number;
  readonly scope: string;
  readonly state: Val | null;
  readonly nonce: Val | null;
  readonly pkce: boolean;
  readonly promptNone: boolean;
}

function authorizeEntries(o: AuthorizeOptions): Entry[] {
  const pkce = o.pkce || o.client.pkce;
  return [
    ...entries({ response_type: "code", client_id: o.client.id, redirect_uri: o.client.uris[o.uri % o.client.uris.length], scope: o.scope }),
    ...(o.state === null ? [] : [{ name: "state", value: o.state }]),
    ...(o.nonce === null ? [] : [{ name: "nonce", value: o.nonce }]),
    ...entries({ code_challenge: pkce ? CHALLENGE : undefined, code_challenge_method: pkce ? "S256" : undefined, prompt: o.promptNone ? "none" : undefined }),
  ];
}

interface Started {
  readonly state: string;
  readonly cookie: string;
  readonly asked: string;
  readonly redirectUri: string;
}

/** A real /authorize: Discord's state, the binding cookie, and the Discord scopes asked for. */
async function realAuthorize(o: AuthorizeOptions): Promise<Started> {
  const { res, body } = await send(GET("/authorize", authorizeEntries(o)));
  const location = new URL(res.headers.get("Location") ?? "about:blank");
  if (res.status !== 302 || location.origin + location.pathname !== DISCORD_AUTHORIZE) {
    throw new Error(`setup: a valid /authorize for ${o.client.id} was refused: ${res.status} ${body.slice(0, 200)} ${location}`);
  }
  const state = location.searchParams.get("state") ?? "";
  return { state, cookie: `__Host-dob_bind=${pendings.get(state)?.binding ?? ""}`, asked: location.searchParams.get("scope") ?? "", redirectUri: o.client.uris[o.uri % o.client.uris.length] ?? "" };
}

/** A Discord code the fake Discord accepts once, for a user (or a fault), with the scopes asked for. */
function realDiscordCode(scenario: string, asked: string): string {
  const code = `${scenario}~${crypto.randomUUID()}~${asked.split(" ").join(",")}`;
  discordCodes.add(discordCodeKey(code));
  return code;
}

/** A complete login: our code for `o.client`, as the relying party receives it. */
async function realCode(o: AuthorizeOptions, user: string): Promise<{ code: string; redirectUri: string }> {
  const started = await realAuthorize(o);
  const { res, body } = await send(GET("/callback", entries({ state: started.state, code: realDiscordCode(user, started.asked) }), [["Cookie", started.cookie]]));
  const code = new URL(res.headers.get("Location") ?? "about:blank").searchParams.get("code");
  if (res.status !== 302 || !code) throw new Error(`setup: a complete login for ${o.client.id} as ${user} gave no code: ${res.status} ${body.slice(0, 200)}`);
  return { code, redirectUri: started.redirectUri };
}

// ---------------------------------------------------------------------------------------------
// Arbitraries: values

const SPECIAL_STRINGS = [
  "", " ", "null", "undefined", "true", "0", "-1", "NaN", "[]", "{}", "__proto__", "\u0000", "\ud800", "a\udfffb", "é", "\u{1F44D}",
  "<script>alert(1)</script>", "\"'><", "../", "\r\n", "\t", "%", "%zz", "+", "a b", "\u202e", "\ufeff",
];
/** Bad percent-encoding and friends, inserted unencoded. */
const BAD_ESCAPES = ["%zz", "%", "%%", "%2", "%G0", "%C0%AF", "%E0%80%AF", "%F0%80%80%AF", "%ED%A0%80", "%FF", "%FE%FF", "%00", "%0A", "%0D%0A", "+", "%2B", "%25", "%u0041", "&", "=", "==", "%26", "%3D", "#", "%23", ";"];

const bigArb: fc.Arbitrary<Big> = fc.record({
  fill: fc.constantFrom("a", "%", "é", "%zz", "&", "+", "\u0000", "x="),
  length: fc.oneof(fc.constantFrom(257, 513, 1001, 1025, 2049, 4097, 8193, 16385, 65537), fc.integer({ min: 1000, max: 70_000 })),
});
const anyVal: fc.Arbitrary<Val> = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 24 }) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 12 }) },
  { weight: 2, arbitrary: fc.constantFrom(...SPECIAL_STRINGS) },
  { weight: 1, arbitrary: bigArb },
);
/** Mostly the valid values, sometimes anything. */
const mix = (valid: fc.Arbitrary<Val>) => fc.oneof({ weight: 3, arbitrary: valid }, { weight: 1, arbitrary: anyVal });

function uriVariants(uri: string): string[] {
  const u = new URL(uri);
  return [
    `${uri}/`, `${uri}?`, `${uri}#`, `${uri}#x`, `${uri}?x=1`, `${uri}&x=1`, uri.toUpperCase(), uri.replace("https://", "http://"),
    uri.replace("https://", "HTTPS://"), uri.replace("https://", "https://evil@"), uri.replace(u.host, `${u.host}.evil.test`), uri.replace(u.host, `${u.host}:443`),
    uri.replace(u.pathname, `${u.pathname}/../x`), uri.replace(u.pathname, u.pathname.replace(/\//g, "%2F")), `${uri} `, ` ${uri}`, uri.slice(0, -1), `${uri}%00`,
    uri.replace(/\/([^/?]*)(\?|$)/, "/./$1$2"), `//${u.host}${u.pathname}`, `${uri}\t`, `${uri}%20`, uri.replace(u.host, u.host.toUpperCase()),
  ];
}
const ALL_URIS = CLIENTS.flatMap((c) => c.uris);
const redirectUriArb = (client: Client): fc.Arbitrary<Val> =>
  fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...client.uris) },
    { weight: 2, arbitrary: fc.constantFrom(...ALL_URIS) },
    { weight: 3, arbitrary: fc.constantFrom(...client.uris.flatMap(uriVariants)) },
    { weight: 1, arbitrary: fc.constantFrom("https://evil.test/cb", "javascript:alert(1)", "data:text/html,x", "https://team.cloudflareaccess.com", "/relative", "urn:x") },
    { weight: 1, arbitrary: anyVal },
  );
const clientIdArb = (client: Client): fc.Arbitrary<Val> =>
  fc.oneof(
    { weight: 6, arbitrary: fc.constant(client.id) },
    { weight: 2, arbitrary: fc.constantFrom(...CLIENTS.map((c) => c.id)) },
    { weight: 2, arbitrary: fc.constantFrom(client.id.toUpperCase(), ` ${client.id}`, `${client.id} `, `${client.id}\u0000`, `${client.id}x`, client.id.slice(0, -1), "__proto__", "constructor") },
    { weight: 1, arbitrary: anyVal },
  );
const challengeArb = fc.oneof(
  { weight: 4, arbitrary: fc.constant(CHALLENGE) },
  { weight: 2, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{43}$/) },
  { weight: 1, arbitrary: fc.constantFrom(CHALLENGE.slice(1), `${CHALLENGE}=`, `${CHALLENGE}A`, CHALLENGE.replace(/-/g, "+"), "a".repeat(128), "a".repeat(129)) },
  { weight: 1, arbitrary: anyVal },
);

function paramArbs(client: Client): Record<string, fc.Arbitrary<Val>> {
  return {
    response_type: mix(fc.constantFrom("code", "token", "id_token", "code id_token", "CODE", "code ", "none")),
    client_id: clientIdArb(client),
    redirect_uri: redirectUriArb(client),
    scope: mix(fc.constantFrom("openid", "openid email profile", "openid guilds", "email", "openid openid", "profile openid", "openid  email", "OPENID", "openid offline_access", "openid\temail")),
    state: mix(fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom("a".repeat(1024), "a".repeat(1025)))),
    nonce: mix(fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom("n".repeat(512), "n".repeat(513)))),
    code_challenge: challengeArb,
    code_challenge_method: mix(fc.constantFrom("S256", "plain", "s256", "S512", "")),
    prompt: mix(fc.constantFrom("none", "login", "consent", "select_account", "none login", "login consent", "bogus")),
    max_age: mix(fc.constantFrom("0", "3600", "-1", "1e3", "99999999999", " 1", "0x10")),
    response_mode: mix(fc.constantFrom("query", "fragment", "form_post", "query.jwt")),
    request: anyVal,
    request_uri: anyVal,
    display: anyVal,
    login_hint: anyVal,
    id_token_hint: anyVal,
    ui_locales: anyVal,
    claims: anyVal,
  };
}
const EXTRA_NAMES = ["client_id[]", "CLIENT_ID", "client_id ", " client_id", "", "=", "__proto__", "constructor", "hasOwnProperty", "toString", "a", "iss", "error", "code", "access_token", "client_secret", "grant_type"];
const nameArb = (names: readonly string[]) => fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...names) }, { weight: 1, arbitrary: fc.constantFrom(...EXTRA_NAMES) }, { weight: 1, arbitrary: fc.string({ maxLength: 8 }) });

type Op =
  | { readonly op: "drop"; readonly name: string }
  | { readonly op: "dup"; readonly name: string; readonly value: Val | null }
  | { readonly op: "empty"; readonly name: string }
  | { readonly op: "set"; readonly name: string; readonly value: Val }
  | { readonly op: "mangle"; readonly name: string; readonly fragment: string; readonly where: "start" | "end" | "replace" }
  | { readonly op: "rawname"; readonly name: string; readonly value: Val };

/** Mutations of a parameter list: names from `names` (weighted towards the meaningful ones). */
function opsArb(arbs: Record<string, fc.Arbitrary<Val>>, max = 4): fc.Arbitrary<Op[]> {
  const names = Object.keys(arbs);
  const valueFor = (name: string) => (Object.hasOwn(arbs, name) ? arbs[name] : undefined) ?? anyVal;
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 2, arbitrary: fc.constantFrom(...names).map((name): Op => ({ op: "drop", name })) },
    { weight: 2, arbitrary: nameArb(names).chain((name) => fc.option(valueFor(name), { nil: null }).map((value): Op => ({ op: "dup", name, value }))) },
    { weight: 1, arbitrary: fc.constantFrom(...names).map((name): Op => ({ op: "empty", name })) },
    { weight: 4, arbitrary: nameArb(names).chain((name) => valueFor(name).map((value): Op => ({ op: "set", name, value }))) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant("mangle" as const), name: fc.constantFrom(...names), fragment: fc.constantFrom(...BAD_ESCAPES), where: fc.constantFrom("start" as const, "end" as const, "replace" as const) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant("rawname" as const), name: fc.constantFrom(...BAD_ESCAPES.map((b) => `client_id${b}`), "%63lient_id", "client%5Fid", "state%00", "%", "&&", "=x"), value: anyVal }) },
  );
  return fc.array(op, { maxLength: max });
}

function applyOps(list: readonly Entry[], ops: readonly Op[]): Entry[] {
  let out = [...list];
  for (const o of ops) {
    const i = out.findIndex((e) => e.name === o.name);
    const current = out[i];
    switch (o.op) {
      case "drop":
        out = out.filter((e) => e.name !== o.name);
        break;
      case "dup":
        out.push({ name: o.name, value: o.value ?? current?.value ?? "" });
        break;
      case "empty":
        if (current) out[i] = { name: o.name, value: "" };
        else out.push({ name: o.name, value: "" });
        break;
      case "set":
        if (current) out[i] = { name: o.name, value: o.value };
        else out.push({ name: o.name, value: o.value });
        break;
      case "mangle": {
        const encoded = current ? new URLSearchParams([["", text(current.value)]]).toString().slice(1) : "";
        const value = o.where === "start" ? `${o.fragment}${encoded}` : o.where === "end" ? `${encoded}${o.fragment}` : o.fragment;
        if (current) out[i] = { name: o.name, value, raw: true };
        else out.push({ name: o.name, value, raw: true });
        break;
      }
      case "rawname":
        out.push({ name: o.name, value: o.value, raw: true });
        break;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Arbitraries: transport, headers, hosts, paths

const METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "PURGE", "TRACE", "PROPFIND", "QUERY", "get", "post", "Post", "patch"];
const methodArb = fc.oneof({ weight: 3, arbitrary: fc.constantFrom("GET", "POST") }, { weight: 2, arbitrary: fc.constantFrom(...METHODS) });

const contentTypeArb = fc.oneof(
  { weight: 8, arbitrary: fc.constant("application/x-www-form-urlencoded") },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      "application/x-www-form-urlencoded; charset=utf-8", "APPLICATION/X-WWW-FORM-URLENCODED", "application/x-www-form-urlencoded;charset=ISO-8859-1",
      "application/x-www-form-urlencoded ; x", "application/x-www-form-urlencodedx", "text/plain", "application/json", "multipart/form-data; boundary=xyz",
      "", "*/*", null,
    ),
  },
);
const JUNK: readonly (readonly number[])[] = [[0xff], [0xc0, 0xaf], [0xe0, 0x80, 0xaf], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0x00], [0xfe, 0xff], [0x80], [0xf0, 0x9f, 0x98], [0x25, 0xff]];
const bodyShapeArb: fc.Arbitrary<BodyShape> = fc.record({
  contentType: contentTypeArb,
  as: fc.oneof({ weight: 8, arbitrary: fc.constant("form" as const) }, { weight: 1, arbitrary: fc.constant("json" as const) }, { weight: 1, arbitrary: fc.constant("multipart" as const) }),
  junk: fc.oneof({ weight: 6, arbitrary: fc.constant([]) }, { weight: 2, arbitrary: fc.constantFrom(...JUNK) }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 16 }).map((a) => [...a]) }),
  junkAt: fc.nat(),
  // Mostly small; sometimes past the 64 KiB cap; rarely up to about 1 MB.
  pad: fc.oneof({ weight: 30, arbitrary: fc.constant(null) }, { weight: 3, arbitrary: fc.integer({ min: 1000, max: 70_000 }) }, { weight: 1, arbitrary: fc.integer({ min: 70_000, max: 1_100_000 }) }),
  padFirst: fc.boolean(),
  delivery: fc.oneof({ weight: 6, arbitrary: fc.constant("buffer" as const) }, { weight: 3, arbitrary: fc.constant("stream" as const) }, { weight: 1, arbitrary: fc.constant("declared" as const) }),
  chunk: fc.integer({ min: 1, max: 70_000 }),
  declared: fc.constantFrom("0", "1", "3", "65536", "65537", "99999999999", "-1", "abc", "1e3", " 5"),
});

/** A plain form body. */
const FORM: BodyShape = { contentType: "application/x-www-form-urlencoded", as: "form", junk: [], junkAt: 0, pad: null, padFirst: false, delivery: "buffer", chunk: 1, declared: "" };

/** Keep a header value legal for fetch (printable ASCII and tab). */
const headerSafe = (s: string) => s.replace(/[^\t\x20-\x7e]/g, "");
const b64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
const asciiArb = fc.string({ unit: "binary-ascii", maxLength: 40 }).map(headerSafe);
const authorizationArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom(...TOKEN_CLIENTS).map((c) => accessBasic(c.id, SECRETS[c.id])) },
  { weight: 1, arbitrary: fc.constantFrom(...TOKEN_CLIENTS).map((c) => rfcBasic(c.id, SECRETS[c.id] ?? "")) },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...CLIENTS.map((c) => c.id)), fc.string({ maxLength: 30 })).map(([id, s]) => accessBasic(id, s)) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 48 }).map((b) => `Basic ${b64(b)}`) },
  { weight: 1, arbitrary: asciiArb.map((s) => `Basic ${s}`) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      "Basic", "Basic ", "Basic =", "Basic ===", `basic ${btoa("access:x")}`, `Basic ${btoa(":")}`, `Basic ${btoa("access")}`, `Basic ${btoa("access:")}`,
      `Basic  ${btoa("access:x")}`, `Basic ${btoa("access:x")} `, `Basic ${btoa("\u00ff:\u00ff")}`, `Basic ${"A".repeat(10_000)}`, "Bearer", "Bearer ", "bearer x",
      "Digest x", "Negotiate abc", `Basic ${btoa("access:x")}, Bearer y`,
    ),
  },
  { weight: 2, arbitrary: asciiArb.map((s) => `Bearer ${s}`) },
);
const cookieArb: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(";;;", "__Host-dob_bind", "__Host-dob_bind=", "a=b; __Host-dob_bind=%%%", `__Host-dob_bind=${"x".repeat(4000)}`, "dob_bind=AAAAAAAAAAAAAAAAAAAAAA", "__Host-dob_bind=a; __Host-dob_bind=b"),
  fc.stringMatching(/^[A-Za-z0-9_-]{22}$/).map((v) => `__Host-dob_bind=${v}`),
  asciiArb,
);
const HEADER_NAMES = ["X-Forwarded-Host", "X-Forwarded-Proto", "Forwarded", "Origin", "Referer", "Accept", "Accept-Language", "User-Agent", "Content-Encoding", "X-Requested-With", "CF-Connecting-IP", "If-None-Match", "Range", "Expect", "Content-Type", "Transfer-Encoding"];
const headersArb: fc.Arbitrary<(readonly [string, Val])[]> = fc
  .tuple(
    fc.option(authorizationArb, { nil: null, freq: 2 }),
    fc.option(cookieArb, { nil: null, freq: 2 }),
    fc.array(
      fc.tuple(
        fc.oneof(fc.constantFrom(...HEADER_NAMES), fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,15}$/)),
        fc.oneof({ weight: 6, arbitrary: asciiArb as fc.Arbitrary<Val> }, { weight: 1, arbitrary: fc.record({ fill: fc.constantFrom("a", "%", ";"), length: fc.integer({ min: 1000, max: 16_000 }) }) }),
      ),
      { maxLength: 3 },
    ),
  )
  .map(([auth, cookie, rest]) => [...(auth === null ? [] : [["Authorization", auth] as const]), ...(cookie === null ? [] : [["Cookie", cookie] as const]), ...rest]);

const originArb = fc.oneof(
  { weight: 20, arbitrary: fc.constant(ISSUER) },
  { weight: 1, arbitrary: fc.constantFrom("http://bridge.test", "https://BRIDGE.test", "https://bridge.test:8443", "https://evil.test", "https://bridge.test.evil.test", "http://127.0.0.1:8787", "https://xn--brdge-5ya.test") },
);

const KNOWN_PATHS = ["/", "/.well-known/openid-configuration", "/jwks.json", "/authorize", "/authorize/email", "/authorize/guilds", "/authorize/roles", "/callback", "/token", "/userinfo"];
const pathArb = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...KNOWN_PATHS) },
  { weight: 3, arbitrary: fc.tuple(fc.constantFrom(...KNOWN_PATHS), fc.constantFrom("/", "//", "/x", "%00", "%2F", "%zz", "%", ".json", ";x", "/..", "/../token", "%3F", "/%2e%2e", "%20")).map(([p, s]) => `${p}${s}`) },
  {
    weight: 2,
    arbitrary: fc.constantFrom("//authorize", "/AUTHORIZE", "/Token", "/%61uthorize", "/authorize/x", "/authorize/email/x", "/authorize/__proto__", "/.well-known/", "/.well-known/jwks.json", "/%", "/%zz", "/favicon.ico", "/cdn-cgi/trace", "/__proto__", "/constructor", "/userinfo/.."),
  },
  { weight: 2, arbitrary: fc.webPath() },
);

/** Any parameter any endpoint knows, with mixed values. */
const ALL_PARAM_ARBS: Record<string, fc.Arbitrary<Val>> = {
  ...paramArbs(CLIENTS[0] as Client),
  code: anyVal,
  grant_type: mix(fc.constantFrom("authorization_code", "refresh_token", "client_credentials", "password")),
  code_verifier: mix(fc.constant(VERIFIER)),
  client_secret: mix(fc.constantFrom(...Object.values(SECRETS))),
  access_token: anyVal,
  error: mix(fc.constantFrom("access_denied", "server_error", "invalid_scope")),
};

// ---------------------------------------------------------------------------------------------
// Properties

let realConsole: Pick<Console, "log" | "warn" | "error">;

async function runProperty<T>(name: string, arb: fc.Arbitrary<T>, runs: number, body: (value: T) => Promise<void>): Promise<void> {
  exportsLeft = EXPORTS_PER_PROPERTY;
  const details = await fc.check(
    fc.asyncProperty(arb, body),
    { seed: SEED, numRuns: runs, ...(PATH !== undefined && { path: PATH, endOnFailure: true }) },
  );
  if (details.failed) {
    throw new Error(
      `${fc.defaultReportMessage(details) ?? "property failed"}\n\n${details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance)}\n\nReplay: FUZZ_SEED=${details.seed} FUZZ_PATH=${details.counterexamplePath ?? ""} npx vitest run test/integration/fuzz.test.ts -t "${name}"`,
    );
  }
}

describe(`fuzz (seed ${SEED}, ${RUNS} runs per property${PATH ? `, path ${PATH}` : ""})`, () => {
  beforeAll(async () => {
    realConsole = { log: console.log, warn: console.warn, error: console.error };
    // The Worker logs a line per login step; keep them for I5 instead of printing thousands.
    for (const level of ["log", "info", "warn", "error", "debug"] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        logLines.push(args.map(String).join(" "));
      });
    }
  });

  afterAll(() => {
    vi.restoreAllMocks();
    const statuses = [...tally.statuses].sort(([a], [b]) => a - b).map(([s, n]) => `${s}:${n}`).join(" ");
    realConsole.log(`fuzz: seed ${SEED}, ${tally.requests} requests (${statuses}), ${tally.codes} codes, ${tally.tokens} token responses, ${tally.userinfos} userinfo answers`);
  });

  it("the checks reject what they must (the oracle is not vacuous)", async () => {
    const get = (path: string, query: Record<string, string> = {}) => build(GET(path, entries(query))).sent;
    const token = build({ method: "POST", origin: ISSUER, path: "/token", query: [], headers: [["Authorization", accessBasic()]], body: { entries: entries({ grant_type: "authorization_code", code: "c0de", redirect_uri: ACCESS.redirectUri }), shape: FORM } }).sent;
    const json = (body: unknown, status: number, headers: Record<string, string> = { "Cache-Control": "no-store" }) => Response.json(body, { status, headers });
    const to = (location: string) => new Response(null, { status: 302, headers: { Location: location } });
    const authz = get("/authorize", { client_id: ACCESS.clientId, redirect_uri: ACCESS.redirectUri, state: "s" });
    const iss = `iss=${encodeURIComponent(ISSUER)}`;
    const REF = '\n<p class="muted">Reference: <code>abcdEF12</code> (give it to the operator)</p>';
    const bad: [string, Sent, Response][] = [
      ["I1", get("/x"), new Response("oops", { status: 500 })],
      ["I1", get("/token"), json({ error: "temporarily_unavailable" }, 502)],
      ["I1", get("/x"), new Response("down", { status: 503, headers: { "Content-Type": "text/plain" } })],
      ["I2", get("/x"), json({ error: "invalid_request", request_id: "abcdEF12" }, 400, {})],
      ["I2", get("/x"), json({ error: "bogus", request_id: "abcdEF12" }, 400)],
      ["I2", get("/x"), json({ error: "invalid_request", detail: "x", request_id: "abcdEF12" }, 400)],
      ["I2", get("/x"), json({ error: "invalid_request", error_description: "no request id" }, 400)],
      ["I2", get("/x"), json({ error: "invalid_request", request_id: "short" }, 400)],
      ["I2", get("/x"), new Response("<p>no reference</p>", { status: 400, headers: { "Content-Type": "text/html" } })],
      ["I2", get("/x"), new Response("no", { status: 400, headers: { "Content-Type": "text/plain" } })],
      ["I2", token, json({ error: "invalid_token", request_id: "abcdEF12" }, 400)],
      ["I3", authz, to(`https://evil.test/cb?error=invalid_request&${iss}`)],
      ["I3", authz, to(`${GRAFANA.redirectUri}?error=invalid_request&${iss}`)],
      ["I3", authz, to(`${ACCESS.redirectUri}/x?error=invalid_request&${iss}`)],
      ["I3", authz, to(`${ACCESS.redirectUri}?error=invalid_request`)],
      ["I3", authz, to(`${ACCESS.redirectUri}?error=bogus&${iss}`)],
      ["I3", authz, to(`${ACCESS.redirectUri}?error=invalid_request&state=t&${iss}`)],
      ["I3", authz, to(`${ACCESS.redirectUri}?error=invalid_request&error_description=${"d".repeat(17_000)}&state=s&${iss}`)],
      ["I3", authz, to(`${DISCORD_AUTHORIZE}?client_id=${FAKE_DISCORD_CLIENT_ID}&redirect_uri=https%3A%2F%2Fevil.test%2Fcallback&state=x`)],
      ["I3", get("/token"), to(`${ACCESS.redirectUri}?error=invalid_request&${iss}`)],
      ["I3", get("/callback", { state: "not-from-authorize", code: "alice~x" }), to(`${ACCESS.redirectUri}?code=c&${iss}`)],
      ["I4", authz, to(`${ACCESS.redirectUri}?code=c&${iss}`)],
      ["I4", token, json({ access_token: "a", token_type: "Bearer", id_token: "x.e30.y" }, 200)],
      ["I4", get("/userinfo"), json({ sub: "1" }, 200)],
      ["I5", get("/"), new Response(`<p>${FAKE_DISCORD_CLIENT_SECRET}</p>`, { headers: { "Content-Type": "text/html" } })],
      ["I5", get("/x"), new Response(`<p>x</p>\n    at handler (/work/src/worker.ts:12:3)${REF}`, { status: 400, headers: { "Content-Type": "text/html" } })],
      ["I5", get("/x"), json({ error: "server_error", error_description: "TypeError: x is undefined", request_id: "abcdEF12" }, 400)],
      ["I5", get("/jwks.json"), json({ keys: [{ kty: "EC", d: "secret" }] }, 200)],
      ["I5", get("/x"), new Response(`<p>x</p>${REF}`, { status: 404, headers: { "Content-Type": "text/html", "X-Debug": "fake-access-1234abcd-0000" } })],
    ];
    for (const [rule, sent, res] of bad) {
      const outcome = await check(sent, res).then(() => "passed", (err: Error) => err.message);
      expect(outcome, `${rule} case ${res.status} ${res.headers.get("Location") ?? ""}`.slice(0, 200)).toMatch(new RegExp(`^${rule}: `));
    }
    const good: [Sent, Response][] = [
      [get("/nope"), json({ error: "invalid_request", error_description: "no such endpoint", request_id: "abcdEF12" }, 404)],
      [get("/"), new Response("<p>hi</p>", { headers: { "Content-Type": "text/html; charset=utf-8" } })],
      [authz, to(`${ACCESS.redirectUri}?error=access_denied&state=s&${iss}`)],
      [get("/x"), new Response(`<p>down</p>${REF}`, { status: 503, headers: { "Content-Type": "text/html" } })],
    ];
    for (const [sent, res] of good) await check(sent, res);
  });

  const anyRequestArb = fc.record({
    method: methodArb,
    origin: originArb,
    path: pathArb,
    query: opsArb(ALL_PARAM_ARBS, 5),
    headers: headersArb,
    bodyEntries: opsArb(ALL_PARAM_ARBS, 5),
    shape: fc.option(bodyShapeArb, { nil: null }),
  });
  it("any method, host and path, with any parameters, headers and body", { timeout: timeoutFor(RUNS) }, async () => {
    await runProperty("any method, host and path", anyRequestArb, RUNS, async (r) => {
      await send({
        method: r.method,
        origin: r.origin,
        path: r.path,
        query: applyOps([], r.query),
        headers: r.headers,
        body: r.shape ? { entries: applyOps([], r.bodyEntries), shape: r.shape } : null,
      });
    });
  });

  const authorizeArb = fc.constantFrom(...CLIENTS).chain((client) =>
    fc.record({
      client: fc.constant(client),
      uri: fc.nat(),
      scope: fc.constantFrom("openid", "openid email profile", "openid guilds", "openid email profile guilds"),
      state: fc.oneof({ weight: 1, arbitrary: fc.constant(null) }, { weight: 5, arbitrary: fc.string({ maxLength: 30 }) }, { weight: 1, arbitrary: bigArb }),
      nonce: fc.oneof({ weight: 1, arbitrary: fc.constant(null) }, { weight: 5, arbitrary: fc.string({ maxLength: 30 }) }, { weight: 1, arbitrary: bigArb }),
      pkce: fc.boolean(),
      promptNone: fc.boolean(),
      ops: opsArb(paramArbs(client)),
      path: fc.oneof({ weight: 6, arbitrary: fc.constant("/authorize") }, { weight: 3, arbitrary: fc.constantFrom("/authorize/email", "/authorize/guilds", "/authorize/roles") }, { weight: 1, arbitrary: fc.constantFrom("/authorize/", "/authorize/x") }),
      transport: fc.oneof(
        { weight: 6, arbitrary: fc.constant({ method: "GET", shape: null }) },
        { weight: 3, arbitrary: bodyShapeArb.map((shape) => ({ method: "POST", shape })) },
        { weight: 1, arbitrary: fc.record({ method: fc.constantFrom(...METHODS), shape: fc.option(bodyShapeArb, { nil: null }) }) },
      ),
      queryToo: opsArb(paramArbs(client), 2),
      headers: headersArb,
      origin: originArb,
    }),
  );
  it("/authorize and /authorize/{email,guilds,roles}", { timeout: timeoutFor(RUNS) }, async () => {
    await runProperty("/authorize", authorizeArb, RUNS, async (r) => {
      const params = applyOps(authorizeEntries(r), r.ops);
      const inBody = r.transport.shape !== null;
      await send({
        method: r.transport.method,
        origin: r.origin,
        path: r.path,
        query: inBody ? applyOps([], r.queryToo) : params,
        headers: r.headers,
        body: r.transport.shape ? { entries: params, shape: r.transport.shape } : null,
      });
    });
  });

  const FAULTS = ["fault:token-500", "fault:token-429", "fault:token-429-short", "fault:token-400", "fault:token-garbage", "fault:token-no-access-token", "fault:user-garbage", "fault:user-null", "fault:user-no-id", "fault:user-429", "alice!guilds-500", "alice!guilds-garbage", "alice!member-garbage", "alice!member-403", "dave!member-500", "erin!member-gone"];
  const callbackStepArb = fc.record({
    state: fc.oneof(
      { weight: 8, arbitrary: fc.constant("real") },
      { weight: 2, arbitrary: fc.constantFrom("other", "flip", "truncate", "append", "missing", "empty", "dup", "dup-other") },
      { weight: 1, arbitrary: anyVal },
    ),
    code: fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(...Object.keys(FAKE_USERS)).map((u) => `user:${u}`) },
      { weight: 2, arbitrary: fc.constantFrom(...FAULTS).map((f) => `user:${f}`) },
      { weight: 2, arbitrary: fc.constantFrom("reuse", "missing", "empty", "dup", "no-scopes", "long", "unknown-user") },
      { weight: 1, arbitrary: anyVal },
    ),
    error: fc.oneof({ weight: 8, arbitrary: fc.constant(null) }, { weight: 2, arbitrary: mix(fc.constantFrom("access_denied", "invalid_scope", "server_error", "")) }),
    cookie: fc.oneof({ weight: 8, arbitrary: fc.constant("right") }, { weight: 3, arbitrary: fc.constantFrom("missing", "other", "local-name", "dup-right-first", "dup-wrong-first", "lowercase-name") }, { weight: 1, arbitrary: cookieArb }),
    method: fc.oneof({ weight: 10, arbitrary: fc.constant("GET") }, { weight: 1, arbitrary: fc.constantFrom(...METHODS) }),
    ops: fc.oneof({ weight: 3, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: opsArb({ state: anyVal, code: anyVal, error: anyVal, error_description: anyVal, iss: anyVal }, 2) }),
    headers: fc.oneof({ weight: 3, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: headersArb.map((h) => h.filter(([k]) => k !== "Cookie")) }),
  });
  const callbackArb = fc.record({
    client: fc.constantFrom(...CLIENTS),
    other: fc.constantFrom(...CLIENTS),
    uri: fc.nat(),
    scope: fc.constantFrom("openid", "openid email profile", "openid guilds", "openid email profile guilds"),
    state: fc.option(fc.string({ maxLength: 30 }), { nil: null }),
    nonce: fc.option(fc.string({ maxLength: 30 }), { nil: null }),
    pkce: fc.boolean(),
    promptNone: fc.boolean(),
    steps: fc.array(callbackStepArb, { minLength: 1, maxLength: 3 }),
  });
  it("/callback with real and mangled states, codes and cookies", { timeout: timeoutFor(FLOW_RUNS * 5) }, async () => {
    await runProperty("/callback", callbackArb, FLOW_RUNS, async (r) => {
      const a = await realAuthorize(r);
      const b = await realAuthorize({ ...r, client: r.other, uri: 0, promptNone: false });
      let lastCode = realDiscordCode("alice", a.asked);
      for (const step of r.steps) {
        const query: Entry[] = [];
        const s = step.state;
        if (typeof s !== "string" || !["real", "other", "flip", "truncate", "append", "missing", "empty", "dup", "dup-other"].includes(s)) query.push({ name: "state", value: s });
        else if (s === "real") query.push({ name: "state", value: a.state });
        else if (s === "other") query.push({ name: "state", value: b.state });
        else if (s === "flip") query.push({ name: "state", value: a.state.slice(0, 20) + (a.state[20] === "A" ? "B" : "A") + a.state.slice(21) });
        else if (s === "truncate") query.push({ name: "state", value: a.state.slice(0, -3) });
        else if (s === "append") query.push({ name: "state", value: `${a.state}.x` });
        else if (s === "empty") query.push({ name: "state", value: "" });
        else if (s === "dup") query.push({ name: "state", value: a.state }, { name: "state", value: a.state });
        else if (s === "dup-other") query.push({ name: "state", value: a.state }, { name: "state", value: b.state });

        const c = step.code;
        if (typeof c === "string" && c.startsWith("user:")) query.push({ name: "code", value: (lastCode = realDiscordCode(c.slice(5), a.asked)) });
        else if (c === "reuse") query.push({ name: "code", value: lastCode });
        else if (c === "empty") query.push({ name: "code", value: "" });
        else if (c === "dup") query.push({ name: "code", value: (lastCode = realDiscordCode("alice", a.asked)) }, { name: "code", value: lastCode });
        else if (c === "no-scopes") query.push({ name: "code", value: (lastCode = realDiscordCode("bob", "")) });
        else if (c === "long") query.push({ name: "code", value: `${(lastCode = realDiscordCode("alice", a.asked))}~${"x".repeat(520)}` });
        else if (c === "unknown-user") query.push({ name: "code", value: `mallory~${crypto.randomUUID()}` });
        else if (c !== "missing") query.push({ name: "code", value: c });
        if (step.error !== null) query.push({ name: "error", value: step.error });

        const cookies: Record<string, string | null> = {
          right: a.cookie,
          missing: null,
          other: b.cookie,
          "local-name": a.cookie.replace("__Host-dob_bind", "dob_bind"),
          "dup-right-first": `${a.cookie}; ${b.cookie}`,
          "dup-wrong-first": `${b.cookie}; ${a.cookie}`,
          "lowercase-name": a.cookie.replace("__Host-dob_bind", "__host-dob_bind"),
        };
        const cookie = Object.hasOwn(cookies, step.cookie) ? cookies[step.cookie] ?? null : step.cookie;
        await send({
          method: step.method,
          origin: ISSUER,
          path: "/callback",
          query: applyOps(query, step.ops),
          headers: [...step.headers, ...(cookie === null ? [] : [["Cookie", cookie] as const])],
          body: null,
        });
      }
    });
  });

  const tokenStepArb = fc.record({
    code: fc.oneof({ weight: 8, arbitrary: fc.constant("real") }, { weight: 3, arbitrary: fc.constantFrom("other", "missing", "empty", "dup", "dup-other", "flip", "long") }, { weight: 1, arbitrary: anyVal }),
    redirectUri: fc.oneof({ weight: 8, arbitrary: fc.constant("right") }, { weight: 3, arbitrary: fc.constantFrom("missing", "dup", "other-registered", "variant") }, { weight: 1, arbitrary: anyVal }),
    variant: fc.nat(),
    verifier: fc.oneof({ weight: 8, arbitrary: fc.constant("right") }, { weight: 3, arbitrary: fc.constantFrom("missing", "wrong", "dup", "challenge", "long") }, { weight: 1, arbitrary: anyVal }),
    grantType: fc.oneof({ weight: 8, arbitrary: fc.constant("authorization_code") }, { weight: 3, arbitrary: fc.constantFrom("missing", "dup", "refresh_token", "AUTHORIZATION_CODE", "client_credentials") }, { weight: 1, arbitrary: anyVal }),
    auth: fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom("basic", "basic-rfc", "post") },
      { weight: 4, arbitrary: fc.constantFrom("basic+post", "basic+id", "basic+other-id", "wrong-secret", "other-client", "post-wrong", "post-id-only", "none", "post-dup-secret", "lowercase-basic") },
      { weight: 1, arbitrary: authorizationArb },
    ),
    ops: fc.oneof({ weight: 3, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: opsArb({ code: anyVal, redirect_uri: anyVal, code_verifier: anyVal, grant_type: anyVal, client_id: anyVal, client_secret: anyVal }, 2) }),
    shape: fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: bodyShapeArb }),
    method: fc.oneof({ weight: 12, arbitrary: fc.constant("POST") }, { weight: 1, arbitrary: fc.constantFrom(...METHODS) }),
    inQuery: fc.oneof({ weight: 12, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  });
  const tokenArb = fc.record({
    client: fc.constantFrom(...TOKEN_CLIENTS),
    uri: fc.nat(),
    scope: fc.constantFrom("openid", "openid email profile", "openid email profile guilds"),
    nonce: fc.option(fc.string({ maxLength: 30 }), { nil: null }),
    pkce: fc.boolean(),
    user: fc.constantFrom("alice", "bob", "carol", "dave"),
    flow: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
    steps: fc.array(tokenStepArb, { minLength: 1, maxLength: 3 }),
  });
  it("/token with real and mangled codes, credentials, PKCE and bodies", { timeout: timeoutFor(FLOW_RUNS * 5) }, async () => {
    await runProperty("/token", tokenArb, FLOW_RUNS, async (r) => {
      const o = { ...r, state: "st", promptNone: false };
      const real = r.flow ? await realCode(o, r.user) : { code: "not-a-real-code-0123456789", redirectUri: r.client.uris[0] ?? "" };
      const otherClient = TOKEN_CLIENTS.find((c) => c.id !== r.client.id) as Client;
      let other: string | undefined;
      for (const step of r.steps) {
        const form: Entry[] = [];
        const c = step.code;
        if (c === "other" || c === "dup-other") other ??= (await realCode({ ...o, client: otherClient, uri: 0 }, "alice")).code;
        if (c === "real") form.push({ name: "code", value: real.code });
        else if (c === "other") form.push({ name: "code", value: other ?? "" });
        else if (c === "empty") form.push({ name: "code", value: "" });
        else if (c === "dup") form.push({ name: "code", value: real.code }, { name: "code", value: real.code });
        else if (c === "dup-other") form.push({ name: "code", value: real.code }, { name: "code", value: other ?? "" });
        else if (c === "flip") form.push({ name: "code", value: real.code.slice(0, 10) + (real.code[10] === "A" ? "B" : "A") + real.code.slice(11) });
        else if (c === "long") form.push({ name: "code", value: real.code + "A".repeat(300) });
        else if (c !== "missing") form.push({ name: "code", value: c });

        const u = step.redirectUri;
        const variants = uriVariants(real.redirectUri);
        if (u === "right") form.push({ name: "redirect_uri", value: real.redirectUri });
        else if (u === "dup") form.push({ name: "redirect_uri", value: real.redirectUri }, { name: "redirect_uri", value: real.redirectUri });
        else if (u === "other-registered") form.push({ name: "redirect_uri", value: ALL_URIS.find((x) => x !== real.redirectUri) ?? "" });
        else if (u === "variant") form.push({ name: "redirect_uri", value: variants[step.variant % variants.length] ?? "" });
        else if (u !== "missing") form.push({ name: "redirect_uri", value: u });

        const v = step.verifier;
        // "right": the verifier when the login sent a challenge, and none when it did not.
        if (v === "right") form.push(...(r.pkce || r.client.pkce ? [{ name: "code_verifier", value: VERIFIER }] : []));
        else if (v === "wrong") form.push({ name: "code_verifier", value: `${VERIFIER.slice(0, -1)}A` });
        else if (v === "dup") form.push({ name: "code_verifier", value: VERIFIER }, { name: "code_verifier", value: VERIFIER });
        else if (v === "challenge") form.push({ name: "code_verifier", value: CHALLENGE });
        else if (v === "long") form.push({ name: "code_verifier", value: VERIFIER.repeat(6) });
        else if (v !== "missing") form.push({ name: "code_verifier", value: v });

        const g = step.grantType;
        if (g === "dup") form.push({ name: "grant_type", value: "authorization_code" }, { name: "grant_type", value: "authorization_code" });
        else if (g !== "missing") form.push({ name: "grant_type", value: g });

        const id = r.client.id;
        const secret = SECRETS[id] ?? "";
        const headers: [string, Val][] = [];
        const a = step.auth;
        if (a === "basic") headers.push(["Authorization", accessBasic(id, secret)]);
        else if (a === "basic-rfc") headers.push(["Authorization", rfcBasic(id, secret)]);
        else if (a === "lowercase-basic") headers.push(["Authorization", accessBasic(id, secret).replace("Basic", "basic")]);
        else if (a === "post") form.push({ name: "client_id", value: id }, { name: "client_secret", value: secret });
        else if (a === "basic+post") {
          headers.push(["Authorization", accessBasic(id, secret)]);
          form.push({ name: "client_secret", value: secret });
        } else if (a === "basic+id") {
          headers.push(["Authorization", accessBasic(id, secret)]);
          form.push({ name: "client_id", value: id });
        } else if (a === "basic+other-id") {
          headers.push(["Authorization", accessBasic(id, secret)]);
          form.push({ name: "client_id", value: otherClient.id });
        } else if (a === "wrong-secret") headers.push(["Authorization", accessBasic(id, `${secret}x`)]);
        else if (a === "other-client") headers.push(["Authorization", accessBasic(otherClient.id, SECRETS[otherClient.id] ?? "")]);
        else if (a === "post-wrong") form.push({ name: "client_id", value: id }, { name: "client_secret", value: secret.slice(1) });
        else if (a === "post-id-only") form.push({ name: "client_id", value: id });
        else if (a === "post-dup-secret") form.push({ name: "client_id", value: id }, { name: "client_secret", value: secret }, { name: "client_secret", value: secret });
        else if (a !== "none") headers.push(["Authorization", a]);

        const entries = applyOps(form, step.ops);
        await send({
          method: step.method,
          origin: ISSUER,
          path: "/token",
          query: step.inQuery ? entries : [],
          headers,
          body: step.inQuery ? null : { entries, shape: step.shape ?? FORM },
        });
      }
    });
  });

  const userinfoArb = fc.record({
    token: fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom("pool", "fresh") },
      { weight: 3, arbitrary: fc.constantFrom("flip", "truncate", "append", "none", "other-issuer-shape", "jwt-shaped", "id-token") },
      { weight: 1, arbitrary: anyVal },
    ),
    place: fc.oneof({ weight: 6, arbitrary: fc.constant("header") }, { weight: 3, arbitrary: fc.constantFrom("body", "both", "query", "body-dup", "header-lowercase", "header-spaces", "header-basic") }),
    method: fc.oneof({ weight: 6, arbitrary: fc.constantFrom("GET", "POST") }, { weight: 1, arbitrary: fc.constantFrom(...METHODS) }),
    shape: fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: bodyShapeArb }),
    headers: fc.oneof({ weight: 3, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: headersArb.map((h) => h.filter(([k]) => k !== "Authorization")) }),
    client: fc.constantFrom(...TOKEN_CLIENTS),
    pick: fc.nat(),
  });
  const pool: { access: string; id: string }[] = [];
  async function realAccessToken(client: Client): Promise<{ access: string; id: string }> {
    const { code, redirectUri } = await realCode({ client, uri: 0, scope: "openid email profile guilds", state: null, nonce: null, pkce: true, promptNone: false }, "alice");
    const { res, body } = await send({
      method: "POST",
      origin: ISSUER,
      path: "/token",
      query: [],
      headers: [["Authorization", accessBasic(client.id, SECRETS[client.id])]],
      body: { entries: entries({ grant_type: "authorization_code", code, redirect_uri: redirectUri, code_verifier: VERIFIER }), shape: FORM },
    });
    if (res.status !== 200) throw new Error(`setup: a complete token request for ${client.id} failed: ${res.status} ${body.slice(0, 200)}`);
    const json = JSON.parse(body) as { access_token: string; id_token: string };
    return { access: json.access_token, id: json.id_token };
  }
  it("/userinfo with real, tampered and misplaced access tokens", { timeout: timeoutFor(RUNS * 2) }, async () => {
    for (const client of TOKEN_CLIENTS) pool.push(await realAccessToken(client));
    await runProperty("/userinfo", userinfoArb, RUNS, async (r) => {
      const base = pool[r.pick % pool.length] as { access: string; id: string };
      const t = r.token;
      let token: string | null;
      if (t === "pool") token = base.access;
      else if (t === "fresh") token = (await realAccessToken(r.client)).access;
      else if (t === "flip") token = base.access.slice(0, 30) + (base.access[30] === "A" ? "B" : "A") + base.access.slice(31);
      else if (t === "truncate") token = base.access.slice(0, -2);
      else if (t === "append") token = `${base.access}A`;
      else if (t === "none") token = null;
      else if (t === "other-issuer-shape") token = base.access.replace(/^[^.]*/, "eyJhbGciOiJub25lIn0");
      else if (t === "jwt-shaped") token = "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.";
      else if (t === "id-token") token = base.id;
      else token = text(t);
      const headers: (readonly [string, Val])[] = [...r.headers];
      const form: Entry[] = [];
      const query: Entry[] = [];
      if (token !== null) {
        if (r.place === "header") headers.push(["Authorization", headerSafe(`Bearer ${token}`)]);
        else if (r.place === "header-lowercase") headers.push(["Authorization", headerSafe(`bearer ${token}`)]);
        else if (r.place === "header-spaces") headers.push(["Authorization", headerSafe(`Bearer    ${token}  `)]);
        else if (r.place === "header-basic") headers.push(["Authorization", headerSafe(`Basic ${token}`)]);
        else if (r.place === "body") form.push({ name: "access_token", value: token });
        else if (r.place === "body-dup") form.push({ name: "access_token", value: token }, { name: "access_token", value: token });
        else if (r.place === "query") query.push({ name: "access_token", value: token });
        else {
          headers.push(["Authorization", headerSafe(`Bearer ${token}`)]);
          form.push({ name: "access_token", value: token });
        }
      }
      await send({ method: r.method, origin: ISSUER, path: "/userinfo", query, headers, body: form.length > 0 || r.shape ? { entries: form, shape: r.shape ?? FORM } : null });
    });
    expect(tally.userinfos).toBeGreaterThan(0);
  });
});
