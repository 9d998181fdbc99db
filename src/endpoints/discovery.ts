// GET /.well-known/openid-configuration (OpenID Connect Discovery 1.0, section 3).
import type { RequestContext } from "../context";
import { jsonResponse } from "../http";
import { SIGNING_ALGS } from "../keys/keyset";
import { SUPPORTED_SCOPES } from "../tokens/scopes";
import { RESPONSE_MODES } from "./redirect";

/** Every claim an ID token or /userinfo can carry with this configuration (OIDC Discovery 3). */
function claimsSupported(roleGuilds: readonly string[]): string[] {
  return [
    "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce",
    "id", "preferred_username", "name", "picture", "email", "email_verified",
    "guilds", "groups", ...roleGuilds.map((g) => `roles:${g}`),
  ];
}

export function discovery(_request: Request, ctx: RequestContext): Response {
  const { issuer } = ctx;
  return jsonResponse(
    {
      issuer,
      authorization_endpoint: `${issuer}/authorize`,
      token_endpoint: `${issuer}/token`,
      userinfo_endpoint: `${issuer}/userinfo`,
      jwks_uri: `${issuer}/jwks.json`,
      scopes_supported: SUPPORTED_SCOPES,
      response_types_supported: ["code"],
      response_modes_supported: RESPONSE_MODES,
      grant_types_supported: ["authorization_code"],
      subject_types_supported: ["public"],
      // Always RS256 (Discovery 3: MUST), whether or not its first key is in use yet.
      id_token_signing_alg_values_supported: SIGNING_ALGS,
      token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post"],
      code_challenge_methods_supported: ["S256"],
      claims_supported: claimsSupported(ctx.settings.guilds.roleGuilds),
      claims_parameter_supported: false,
      request_parameter_supported: false,
      request_uri_parameter_supported: false,
      authorization_response_iss_parameter_supported: true,
    },
    { cache: "public, max-age=300", headers: { "Access-Control-Allow-Origin": "*" } },
  );
}
