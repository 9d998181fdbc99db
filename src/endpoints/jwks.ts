// GET /jwks.json: the public half of every published signing key, nothing else.
import type { RequestContext } from "../context";
import { jsonResponse } from "../http";
import { loadKeys } from "../keys/store";

/** Verifiers may cache the set for a quarter of the lead time (at most an hour), so every cache has
 * refreshed several times between a new key's publication and its first signature. */
export function jwksMaxAgeSeconds(leadTimeHours: number): number {
  return Math.min(3600, Math.floor((leadTimeHours * 3600) / 4));
}

export async function jwks(_request: Request, ctx: RequestContext): Promise<Response> {
  const { publicJwks } = await loadKeys(ctx.env);
  const keys = publicJwks.map(({ kty, crv, x, y, n, e, kid, alg, use }) => ({ kty, crv, x, y, n, e, kid, alg, use }));
  return jsonResponse(
    { keys },
    { cache: `public, max-age=${jwksMaxAgeSeconds(ctx.settings.keys.leadTimeHours)}`, headers: { "Access-Control-Allow-Origin": "*" } },
  );
}
