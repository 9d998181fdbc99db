// GET|POST /authorize (OIDC Core 3.1.2): check the client and redirect_uri (errors are a page), then
// the request (errors go back to the client), seal it into Discord's `state`, bind it to this browser
// with a cookie, and send the browser to Discord.
import { findClient } from "../config";
import { checkClientAndRedirect, type ClientAndRedirect } from "../checks/client";
import { isForm, optional, readBody, readParams, rejectDuplicates, type Params } from "../checks/params";
import { checkChallenge } from "../checks/pkce";
import { seal } from "../codes/seal";
import { bindingCookie, readBinding } from "../codes/binding";
import { randomToken } from "../codes/random";
import { discordRedirectUri, type RequestContext } from "../context";
import { OAuthError } from "../errors";
import { errorPage, redirect } from "../http";
import { sealingKeys } from "../keys/store";
import { logDenied, logRefused } from "../log";
import { discordScopesFor, guildPlan } from "../guilds/plan";
import { grantedScopes } from "../tokens/scopes";
import { errorRedirect, isResponseMode, type ResponseMode } from "./redirect";

/** How long a user may spend at Discord before the login must start again. */
export const UPSTREAM_STATE_TTL_SECONDS = 600;

/** The pending request, sealed into the state we hand to Discord (short keys keep the URL small). */
export interface PendingAuthorization {
  readonly c: string; // client_id
  readonly r: string; // redirect_uri
  readonly sc: string; // granted scopes
  readonly s?: string; // client state
  readonly n?: string; // nonce
  readonly cc?: string; // PKCE S256 challenge
  readonly p?: "none"; // prompt=none was requested
  readonly b: string; // browser binding (cookie value)
  readonly j: string; // this state's id: it completes one callback
  readonly m?: "form_post"; // response mode, when not query
}

interface ValidRequest {
  readonly scope: string;
  readonly state: string | undefined;
  readonly nonce: string | undefined;
  readonly challenge: string | undefined;
  /** What Discord is told: "none" skips its screen for a user who already allowed these scopes. */
  readonly discordPrompt: "consent" | "none";
  /** The client sent prompt=none: no page of ours may be shown either. */
  readonly promptNone: boolean;
}

/** The mode to answer in: form_post when the request asks for it (also for its errors), else query. */
function responseModeOf(params: Params): ResponseMode {
  return params.values.get("response_mode") === "form_post" ? "form_post" : "query";
}

/** A client `state` we carry and echo: 1 to 1,024 printable ASCII characters (RFC 6749 A.5: 1*VSCHAR). */
const STATE = /^[\x20-\x7e]{1,1024}$/;

const PROMPTS = new Set(["none", "login", "consent", "select_account"]);

function checkRequest(params: Params, target: ClientAndRedirect): ValidRequest {
  rejectDuplicates(params);
  if (params.values.has("request")) throw new OAuthError("request_not_supported", "request objects are not supported", { detail: "request_object_unsupported" });
  if (params.values.has("request_uri")) throw new OAuthError("request_uri_not_supported", "request_uri is not supported", { detail: "request_uri_unsupported" });
  const responseType = params.values.get("response_type");
  if (responseType === undefined) throw new OAuthError("invalid_request", "response_type is required", { detail: "response_type_missing" });
  if (responseType !== "code") throw new OAuthError("unsupported_response_type", "only response_type=code is supported", { detail: "response_type_unsupported" });
  const responseMode = params.values.get("response_mode");
  if (responseMode !== undefined && !isResponseMode(responseMode)) throw new OAuthError("invalid_request", "response_mode must be query or form_post", { detail: "response_mode_unsupported" });
  const scopes = grantedScopes(optional(params, "scope", 1000) ?? "");
  if (!scopes.includes("openid")) throw new OAuthError("invalid_scope", "scope must include openid", { detail: "openid_scope_missing" });
  const state = optional(params, "state", 1024);
  if (state !== undefined && !STATE.test(state)) throw new OAuthError("invalid_request", "state must be printable ASCII characters", { detail: "state_malformed" });
  const nonce = optional(params, "nonce", 512);
  const challenge = checkChallenge(params, target.client);

  const prompts = (params.values.get("prompt") ?? "").split(" ").filter(Boolean);
  if (prompts.some((p) => !PROMPTS.has(p))) throw new OAuthError("invalid_request", "prompt has an unknown value", { detail: "prompt_unknown" });
  if (prompts.includes("none") && prompts.length > 1) throw new OAuthError("invalid_request", "prompt=none cannot be combined with other values", { detail: "prompt_none_combined" });
  const maxAge = params.values.get("max_age");
  if (maxAge !== undefined && !/^\d{1,10}$/.test(maxAge)) throw new OAuthError("invalid_request", "max_age must be a non-negative integer", { detail: "max_age_malformed" });
  // We keep no session: every login is a fresh trip to Discord, so max_age is always met; prompt=login
  // and max_age=0 ask Discord to show its screen again.
  // Otherwise Discord is asked not to show its screen again to a user who already allowed these
  // scopes (first-time users and new scopes still see it), as Discord logins usually do.
  const promptNone = prompts.includes("none");
  const reconsent = !promptNone && (prompts.includes("login") || prompts.includes("consent") || maxAge === "0");
  const discordPrompt = reconsent ? "consent" : "none";

  return { scope: scopes.join(" "), state, nonce, challenge, discordPrompt, promptNone };
}

/**
 * Entry points of the best-known peer (erisa/discord-oidc-worker), so existing Access set-ups keep
 * their Auth URL. That worker always returned the profile and email claims, and guilds (with roles)
 * on /guilds and /roles: these paths add the scopes that give the same claims.
 */
const COMPAT_SCOPES: Readonly<Record<string, string>> = { email: "openid profile email", guilds: "openid profile email guilds", roles: "openid profile email guilds" };

export async function authorizeCompat(request: Request & { params?: Record<string, string> }, ctx: RequestContext): Promise<Response> {
  const mode = request.params?.mode ?? "";
  // Own keys only: /authorize/__proto__ or /authorize/toString must not find Object.prototype's members.
  const extra = Object.hasOwn(COMPAT_SCOPES, mode) ? COMPAT_SCOPES[mode] : undefined;
  if (!extra) {
    logRefused(ctx.requestId, new URL(request.url).pathname, 404, "no_such_endpoint");
    return errorPage("Unknown login path", "Use /authorize, /authorize/email, /authorize/guilds or /authorize/roles.", ctx.requestId, 404, "Go back to the application you came from and start the login from there.");
  }
  // Add the scopes; a repeated scope is left as it is for /authorize to refuse.
  const addScopes = (search: URLSearchParams) => {
    const scopes = search.getAll("scope");
    if (scopes.length <= 1) search.set("scope", [...new Set([...(scopes[0] ?? "").split(" ").filter(Boolean), ...extra.split(" ")])].join(" "));
    return search;
  };
  const url = new URL(request.url);
  url.pathname = "/authorize";
  if (request.method !== "POST") {
    url.search = addScopes(url.searchParams).toString();
    return authorize(new Request(url, { method: "GET", headers: request.headers }), ctx);
  }
  let body: Uint8Array | string;
  try {
    const bytes = await readBody(request);
    body = isForm(request) ? addScopes(new URLSearchParams(new TextDecoder().decode(bytes))).toString() : bytes;
  } catch (err) {
    if (!(err instanceof OAuthError)) throw err;
    return refusePage(err, ctx.requestId);
  }
  const headers = new Headers(request.headers);
  headers.delete("Content-Length");
  return authorize(new Request(url, { method: "POST", headers, body }), ctx);
}

/** A request that must not be answered by a redirect (no checked client yet), logged and shown as a page. */
function refusePage(err: OAuthError, requestId: string, client?: string): Response {
  logDenied("authorize", requestId, err, { client });
  return errorPage("This login request is not valid", err.description, requestId, err.status === 413 ? 413 : 400, "Go back to the application you came from and start the login from there; if it happens again, its operator must fix the application's settings.");
}

export async function authorize(request: Request, ctx: RequestContext): Promise<Response> {
  let params: Params | undefined;
  let target: ClientAndRedirect;
  try {
    params = await readParams(request);
    target = checkClientAndRedirect(ctx.settings, params);
  } catch (err) {
    if (!(err instanceof OAuthError)) throw err;
    // A registered client is named in the log (an unregistered redirect URI is its operator's mistake to find).
    const named = params?.values.get("client_id");
    return refusePage(err, ctx.requestId, named === undefined ? undefined : findClient(ctx.settings, named)?.clientId);
  }

  let valid: ValidRequest;
  try {
    valid = checkRequest(params, target);
  } catch (err) {
    if (!(err instanceof OAuthError)) throw err;
    logDenied("authorize", ctx.requestId, err, { client: target.client.clientId });
    // The client's state goes back only when it is one we accept: nothing is echoed without a bound.
    const state = params.values.get("state");
    return errorRedirect(target.redirectUri, err, state !== undefined && STATE.test(state) ? state : undefined, ctx.issuer, responseModeOf(params));
  }

  const binding = readBinding(request, ctx.issuer);
  const pending: PendingAuthorization = {
    c: target.client.clientId,
    r: target.redirectUri,
    sc: valid.scope,
    b: binding.value,
    j: randomToken(16),
    ...(valid.state !== undefined && { s: valid.state }),
    ...(valid.nonce !== undefined && { n: valid.nonce }),
    ...(valid.challenge !== undefined && { cc: valid.challenge }),
    ...(valid.promptNone && { p: "none" as const }),
    ...(responseModeOf(params) === "form_post" && { m: "form_post" as const }),
  };
  const sealed = await seal({ ...pending }, "upstream-state", await sealingKeys(ctx.env), UPSTREAM_STATE_TTL_SECONDS);

  const discord = new URL(ctx.settings.discordAuthorizeUrl);
  discord.searchParams.set("response_type", "code");
  discord.searchParams.set("client_id", ctx.settings.discord.clientId);
  discord.searchParams.set("redirect_uri", discordRedirectUri(ctx.issuer));
  const scopes = grantedScopes(valid.scope);
  const plan = guildPlan(ctx.settings.guilds, target.client, scopes);
  discord.searchParams.set("scope", discordScopesFor(scopes, plan, ctx.settings.discordBotToken).join(" "));
  discord.searchParams.set("state", sealed);
  discord.searchParams.set("prompt", valid.discordPrompt);

  const headers = new Headers();
  headers.append("Set-Cookie", bindingCookie(binding.value, ctx.issuer, UPSTREAM_STATE_TTL_SECONDS));
  return redirect(discord.toString(), headers);
}
