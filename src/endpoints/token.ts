// POST /token (RFC 6749 4.1.3, OIDC Core 3.1.3): authenticate the client, take the code exactly once,
// check its bindings and PKCE, then mint our tokens. No Discord call happens here.
import { authenticateClient, BASIC_CHALLENGE } from "../checks/client-auth";
import { readParams, rejectDuplicates, required, optional } from "../checks/params";
import { verifierProof, verifyPkce } from "../checks/pkce";
import { redeemCode } from "../codes/store";
import type { ClientConfig } from "../config";
import type { RequestContext } from "../context";
import { OAuthError } from "../errors";
import { jsonResponse, oauthErrorResponse } from "../http";
import { sealingKeys, signerFor, type Signer } from "../keys/store";
import { STOCK_COMMAND } from "../keys/rotation";
import { logDenied, logLogin } from "../log";
import { ACCESS_TOKEN_TTL_SECONDS } from "../tokens/lifetimes";
import { ID_TOKEN_BUDGET_BYTES, overBudget } from "../tokens/budget";
import { mintAccessToken, mintIdToken } from "../tokens/mint";

/**
 * The key that signs this client's ID token. A client on the RS256 default, while the bridge has no
 * RS256 key yet (deployed without \`npm run deploy\`, so nobody made one ahead of time), is signed with
 * ES256 as before RS256 became the default, with a warning; a client that names RS256 gets a 503.
 */
async function clientSigner(env: Env, client: ClientConfig, requestId: string): Promise<Signer> {
  try {
    return await signerFor(env, client.idTokenSigningAlg);
  } catch (err) {
    if (client.idTokenSigningAlgNamed || !(err instanceof OAuthError) || err.detail !== `no_${client.idTokenSigningAlg}_key`) throw err;
    console.warn(JSON.stringify({ event: "signing_fallback", client: client.clientId, wanted: client.idTokenSigningAlg, used: "ES256", hint: `no ${client.idTokenSigningAlg} key: run \`${STOCK_COMMAND}\``, request_id: requestId }));
    return signerFor(env, "ES256");
  }
}

export async function token(request: Request, ctx: RequestContext): Promise<Response> {
  let client: ClientConfig | undefined;
  let sub: string | undefined;
  try {
    const params = await readParams(request);
    client = await authenticateClient(request, params, ctx.settings);
    rejectDuplicates(params);
    const grantType = required(params, "grant_type", 64);
    if (grantType !== "authorization_code") throw new OAuthError("unsupported_grant_type", "only authorization_code is supported", { detail: "grant_type_unsupported" });
    const code = required(params, "code", 256);
    const redirectUri = required(params, "redirect_uri", 2048);
    const verifier = optional(params, "code_verifier", 256);

    // The code store takes the code and, if everything below will pass, records the login in the ledger.
    const grant = await redeemCode(ctx.env, code, { clientId: client.clientId, redirectUri, verifier: await verifierProof(verifier), sessionHours: client.sessionHours });
    if (!grant) throw new OAuthError("invalid_grant", "the code is invalid, expired or already used", { detail: "code_unknown" });
    sub = grant.sub;
    if (grant.clientId !== client.clientId) throw new OAuthError("invalid_grant", "the code was issued to another client", { detail: "code_client_mismatch" });
    if (grant.redirectUri !== redirectUri) throw new OAuthError("invalid_grant", "redirect_uri does not match the authorization request", { detail: "redirect_uri_mismatch" });
    await verifyPkce(verifier, grant.codeChallenge);

    const signer = await clientSigner(ctx.env, client, ctx.requestId);
    const idToken = await mintIdToken(signer, {
      issuer: ctx.issuer,
      clientId: client.clientId,
      sub: grant.sub,
      authTime: grant.authTime,
      nonce: grant.nonce,
      claims: grant.claims,
    });
    const accessToken = await mintAccessToken(
      await sealingKeys(ctx.env),
      { sub: grant.sub, clientId: client.clientId, scope: grant.scope, claims: grant.claims },
      ctx.issuer,
    );
    if (overBudget(idToken)) {
      console.warn(JSON.stringify({ event: "claim_budget_exceeded", client: client.clientId, discord_user_id: grant.sub, id_token_bytes: idToken.length, budget_bytes: ID_TOKEN_BUDGET_BYTES, hint: "set guilds.include in config.json", request_id: ctx.requestId }));
    }
    logLogin({ step: "token", result: "token_issued", requestId: ctx.requestId, client: client.clientId, discordUserId: grant.sub });
    return jsonResponse({
      access_token: accessToken,
      token_type: "Bearer",
      expires_in: ACCESS_TOKEN_TTL_SECONDS,
      id_token: idToken,
      scope: grant.scope,
    });
  } catch (err) {
    if (!(err instanceof OAuthError)) throw err;
    logDenied("token", ctx.requestId, err, { client: client?.clientId, discordUserId: sub });
    return oauthErrorResponse(err, ctx.requestId, BASIC_CHALLENGE);
  }
}
