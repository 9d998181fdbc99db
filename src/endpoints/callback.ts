// GET /callback: Discord sends the browser back here. Open and check our sealed state and the browser
// binding, turn Discord's code into an identity, revoke Discord's token (we keep nothing of it), and
// send the client our own one-time code (RFC 6749 4.1.2, RFC 9207 `iss`).
import { findClient, type ClientConfig } from "../config";
import { bindingFrom } from "../codes/binding";
import { UnsealError, unseal } from "../codes/seal";
import { claimState, issueCode } from "../codes/store";
import { isRegisteredRedirect } from "../checks/client";
import { readParams } from "../checks/params";
import { discordRedirectUri, type RequestContext } from "../context";
import { DiscordError, type DiscordUser } from "../discord/client";
import { readIdentity, type Identity } from "../discord/identity";
import { OAuthError } from "../errors";
import { checkGate, type PassedRule, type Refusal } from "../guilds/gate";
import { guildClaims } from "../guilds/membership";
import { guildPlan } from "../guilds/plan";
import { errorPage, escapeHtml, hiddenFields, htmlPage, referenceLine } from "../http";
import { sealingKeys } from "../keys/store";
import { logLogin, logUnexpected } from "../log";
import type { Reason } from "../reasons";
import { claimsFor } from "../tokens/claims";
import { grantedScopes } from "../tokens/scopes";
import type { PendingAuthorization } from "./authorize";
import { codeRedirect, errorLocation, errorParams, errorRedirect } from "./redirect";

function isPending(p: Record<string, unknown>): p is Record<string, unknown> & PendingAuthorization {
  const optionalString = (v: unknown) => v === undefined || typeof v === "string";
  return (
    typeof p.c === "string" && typeof p.r === "string" && typeof p.sc === "string" && typeof p.b === "string" && typeof p.j === "string" &&
    optionalString(p.s) && optionalString(p.n) && optionalString(p.cc) && (p.p === undefined || p.p === "none") &&
    (p.m === undefined || p.m === "form_post")
  );
}

/** Discord failures, in the words the client should hear. */
function fromDiscord(err: DiscordError): OAuthError {
  switch (err.kind) {
    case "rate_limited":
    case "unavailable":
    case "timeout":
      return new OAuthError("temporarily_unavailable", "Discord is not answering right now; try again in a minute", { detail: `discord:${err.kind}` });
    case "rejected":
    case "bad_response":
      return new OAuthError("server_error", "Discord did not complete the login", { detail: `discord:${err.kind}` });
  }
}

/** The page for a user the client's guild or role rule refuses, with a way to retry and a way back. */
function refusalPage(ctx: RequestContext, client: ClientConfig, pending: PendingAuthorization, gate: Refusal, user: DiscordUser): Response {
  const names = gate.guilds.map((g) => ctx.settings.guilds.names[g] ?? `the Discord server ${g}`).join(" or ");
  const retry = new URL(`${ctx.issuer}/authorize`);
  const again: Record<string, string | undefined> = {
    response_type: "code", client_id: pending.c, redirect_uri: pending.r, scope: pending.sc, state: pending.s, nonce: pending.n,
    ...(pending.cc !== undefined && { code_challenge: pending.cc, code_challenge_method: "S256" }),
    response_mode: pending.m,
  };
  for (const [k, v] of Object.entries(again)) if (v !== undefined) retry.searchParams.set(k, v);
  // prompt=login: Discord shows its screen again, with the account and its "Not you?" switch.
  const switchAccount = new URL(retry);
  switchAccount.searchParams.set("prompt", "login");
  // The way back is the client's own error response, in its response mode: a link, or a form button.
  const backText = `go back to ${escapeHtml(client.name)}`;
  const back =
    pending.m === "form_post"
      ? `<form method="post" action="${escapeHtml(pending.r)}">${hiddenFields(errorParams(NOT_ALLOWED, pending.s, ctx.issuer))}<button type="submit">${backText}</button></form>`
      : `<a href="${escapeHtml(errorLocation(pending.r, NOT_ALLOWED, pending.s, ctx.issuer))}">${backText}</a>`;
  const app = `<strong>${escapeHtml(client.name)}</strong>`;
  const tryAgain = `<a href="${escapeHtml(retry.toString())}">try again</a>`;
  const body =
    gate.reason === "not_in_required_guild"
      ? `<p>To use ${app} you must be a member of ${escapeHtml(names)} on Discord, with the Discord account you just used.</p>
<p>${client.joinUrl ? `<a href="${escapeHtml(client.joinUrl)}">Join the server</a>, then` : "Ask the community for an invite, join it, then"} ${tryAgain}.</p>`
      : `<p>To use ${app} you need one of these in ${escapeHtml(names)} on Discord: <strong>${escapeHtml(gate.needs.join(", "))}</strong>. The Discord account you just used does not have it.</p>
<p>Ask the server's moderators for the role, then ${tryAgain}.</p>`;
  const account = user.global_name && user.global_name !== user.username ? `${user.global_name} (@${user.username})` : `@${user.username}`;
  return htmlPage(
    "You can't use this application yet",
    `${body}
<p>You signed in to Discord as <strong>${escapeHtml(account)}</strong>. Not the account you meant? <a href="${escapeHtml(switchAccount.toString())}">Use another Discord account</a> (Discord shows its screen again; choose "Not you?" there).</p>
<p class="muted">Or ${back}</p>
${referenceLine(ctx.requestId)}`,
    403,
    pending.m === "form_post" ? { formAction: new URL(pending.r).origin } : {},
  );
}

/** What a client hears when its guild or role rule refuses the user. */
const NOT_ALLOWED = new OAuthError("access_denied", "The user does not meet this application's Discord requirements", { detail: "not_in_required_guild" });

export async function callback(request: Request, ctx: RequestContext): Promise<Response> {
  let clientId: string | undefined;
  const deny = (reason: Reason, message: string) => {
    logLogin({ step: "callback", result: "denied", requestId: ctx.requestId, client: clientId, reason });
    return errorPage("This login cannot be completed", message, ctx.requestId, 400, "Go back to the application and start the login again from there.");
  };

  const params = await readParams(request);
  const sealed = params.values.get("state");
  if (sealed === undefined) return deny("state_missing", "The response from Discord has no state. Start the login again from the application.");
  let pending: PendingAuthorization;
  let stateExpires: number;
  try {
    const payload = await unseal(sealed, "upstream-state", await sealingKeys(ctx.env));
    if (!isPending(payload) || typeof payload.exp !== "number") throw new UnsealError("invalid");
    pending = payload;
    stateExpires = payload.exp * 1000;
    clientId = payload.c;
  } catch (err) {
    if (!(err instanceof UnsealError)) throw err;
    return err.reason === "expired"
      ? deny("state_expired", "This login took too long. Start it again from the application.")
      : deny("state_invalid", "This login link is not valid. Start the login again from the application.");
  }

  const binding = bindingFrom(request, ctx.issuer);
  if (binding === undefined) {
    return deny("cookie_missing", "This browser did not keep the login cookie. Allow cookies for this site and start the login again from the application.");
  }
  if (binding !== pending.b) return deny("cookie_mismatch", "This login was started in another browser. Start it again from the application in this browser.");

  const client = findClient(ctx.settings, pending.c);
  if (!client || !isRegisteredRedirect(client, pending.r)) {
    return deny("client_gone", "The application this login was for is no longer registered.");
  }
  const fail = (err: OAuthError, discordUserId?: string) => {
    logLogin({ step: "callback", result: err.error === "access_denied" ? "denied" : "error", requestId: ctx.requestId, client: client.clientId, discordUserId, reason: err.detail, error: err.error });
    return errorRedirect(pending.r, err, pending.s, ctx.issuer, pending.m);
  };

  // One callback per state, decided before Discord is called: a replayed callback (the back button, a
  // leaked URL) cannot log anyone in again.
  let firstUse: boolean;
  try {
    firstUse = await claimState(ctx.env, pending.j, stateExpires);
  } catch (err) {
    logUnexpected("codes.claimState", err, ctx.requestId);
    return fail(new OAuthError("temporarily_unavailable", "The login service could not store the login; try again", { detail: "code_store_failed" }));
  }
  if (!firstUse) return deny("state_used", "This login has already been completed. Start it again from the application.");

  if (params.duplicates.length > 0) return fail(new OAuthError("server_error", "Discord's response repeated a parameter", { detail: "discord:duplicate_params" }));
  const discordError = params.values.get("error");
  if (discordError !== undefined) {
    if (discordError === "access_denied" && pending.p !== "none") {
      return fail(new OAuthError("access_denied", "The user did not allow the login at Discord", { detail: "discord:access_denied" }));
    }
    if (pending.p === "none") {
      return fail(new OAuthError("login_required", "Discord needs the user to log in or consent", { detail: "discord:login_required" }));
    }
    return fail(new OAuthError("server_error", "Discord did not complete the login", { detail: "discord:error" }));
  }
  const discordCode = params.values.get("code");
  if (discordCode === undefined || discordCode.length > 512) {
    return fail(new OAuthError("server_error", "Discord's response has no code", { detail: "discord:no_code" }));
  }

  const scopes = grantedScopes(pending.sc);
  const plan = guildPlan(ctx.settings.guilds, client, scopes);
  let identity: Identity;
  try {
    identity = await readIdentity(ctx.settings, ctx.exec, discordCode, discordRedirectUri(ctx.issuer), plan);
  } catch (err) {
    if (err instanceof DiscordError) return fail(fromDiscord(err));
    throw err;
  }
  const { user, membership } = identity;

  let rule: PassedRule = "none";
  if (membership) {
    const gate = checkGate(client, membership, ctx.settings.guilds);
    if (!gate.allowed) {
      logLogin({ step: "callback", result: "denied", requestId: ctx.requestId, client: client.clientId, discordUserId: user.id, reason: gate.reason });
      // prompt=none promises no page (OIDC Core 3.1.2.1): tell the client directly.
      if (pending.p === "none") return errorRedirect(pending.r, NOT_ALLOWED, pending.s, ctx.issuer, pending.m);
      return refusalPage(ctx, client, pending, gate, user);
    }
    rule = gate.passed;
  }
  const claims = {
    ...claimsFor(user, scopes, client),
    ...(plan.claims && membership ? guildClaims(membership, ctx.settings.guilds) : {}),
  };
  let code: string;
  try {
    code = await issueCode(ctx.env, {
      clientId: client.clientId,
      redirectUri: pending.r,
      scope: pending.sc,
      nonce: pending.n,
      codeChallenge: pending.cc,
      sub: user.id,
      authTime: Math.floor(Date.now() / 1000),
      claims,
      rule,
    });
  } catch (err) {
    logUnexpected("codes.issue", err, ctx.requestId);
    return fail(new OAuthError("temporarily_unavailable", "The login service could not store the login; try again", { detail: "code_store_failed" }), user.id);
  }
  logLogin({ step: "callback", result: "code_issued", requestId: ctx.requestId, client: client.clientId, discordUserId: user.id });
  return codeRedirect(pending.r, code, pending.s, ctx.issuer, pending.m);
}
