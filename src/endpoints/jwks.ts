// GET /jwks.json: the public half of every published signing key, nothing else.
import type { RequestContext } from "../context";
import { jsonResponse } from "../http";
import { loadKeys } from "../keys/store";

/** Verifiers may cache the set this long; a new key is published well before it signs. */
export const JWKS_MAX_AGE_SECONDS = 300;

export async function jwks(_request: Request, ctx: RequestContext): Promise<Response> {
  const { publicJwks } = await loadKeys(ctx.env);
  const keys = publicJwks.map(({ kty, crv, x, y, n, e, kid, alg, use }) => ({ kty, crv, x, y, n, e, kid, alg, use }));
  return jsonResponse(
    { keys },
    { cache: `public, max-age=${JWKS_MAX_AGE_SECONDS}`, headers: { "Access-Control-Allow-Origin": "*" } },
  );
}
