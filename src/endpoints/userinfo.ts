// GET|POST /userinfo (OIDC Core 5.3) with our access token as a Bearer token (RFC 6750 2.1) or, for
// POST, in the form body (RFC 6750 2.2). Returns the same claims the ID token carries.
import { readParams } from "../checks/params";
import { UnsealError } from "../codes/seal";
import type { RequestContext } from "../context";
import { OAuthError } from "../errors";
import { jsonResponse, oauthErrorResponse } from "../http";
import { sealingKeys } from "../keys/store";
import { logRefused } from "../log";
import { readAccessToken } from "../tokens/mint";

const REALM = 'realm="discord-oidc-bridge"';

async function presentedToken(request: Request): Promise<string | undefined> {
  const header = request.headers.get("Authorization");
  const fromHeader = header && /^Bearer +/i.test(header) ? header.replace(/^Bearer +/i, "").trim() : undefined;
  let fromBody: string | undefined;
  if (request.method === "POST" && (request.headers.get("Content-Type") ?? "").toLowerCase().startsWith("application/x-www-form-urlencoded")) {
    const params = await readParams(request);
    if (params.duplicates.includes("access_token")) throw new OAuthError("invalid_request", "access_token must not be repeated", { detail: "param_repeated" });
    fromBody = params.values.get("access_token");
  }
  if (fromHeader !== undefined && fromBody !== undefined) {
    throw new OAuthError("invalid_request", "send the access token in one place only", { detail: "access_token_ambiguous" });
  }
  return fromHeader || fromBody;
}

export async function userinfo(request: Request, ctx: RequestContext): Promise<Response> {
  const refuse = (err: OAuthError, challenge: string) => {
    logRefused(ctx.requestId, "/userinfo", err.status, err.detail, err.error);
    return oauthErrorResponse(err, ctx.requestId, challenge);
  };
  try {
    const token = await presentedToken(request);
    // RFC 6750 3.1: no error code when the request carried no token at all.
    if (token === undefined) return refuse(new OAuthError("invalid_token", "an access token is required", { detail: "access_token_missing" }), `Bearer ${REALM}`);
    const grant = await readAccessToken(await sealingKeys(ctx.env), token, ctx.issuer);
    return jsonResponse({ sub: grant.sub, ...grant.claims });
  } catch (err) {
    if (err instanceof UnsealError) {
      return refuse(
        new OAuthError("invalid_token", "the access token is invalid or expired", { detail: "access_token_invalid" }),
        `Bearer ${REALM}, error="invalid_token", error_description="the access token is invalid or expired"`,
      );
    }
    if (err instanceof OAuthError) return refuse(err, `Bearer ${REALM}, error="invalid_request"`);
    throw err;
  }
}
