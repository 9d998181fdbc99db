// The cron trigger: one rotation step through the KeyKeeper (the only writer in steady state).
// It creates keys (RSA ones too: generation happens in the Durable Object, never on the request path).
import type { Settings } from "../config";
import { ID_TOKEN_TTL_SECONDS } from "../tokens/lifetimes";
import { SIGNING_ALGS, type SigningAlg } from "./keyset";
import { rotationPolicy } from "./rotation";

/** ES256 always; RS256 when a client asks for it. */
export function neededAlgorithms(settings: Settings): SigningAlg[] {
  const wanted = new Set<SigningAlg>(["ES256", ...settings.clients.map((c) => c.idTokenSigningAlg)]);
  return SIGNING_ALGS.filter((alg) => wanted.has(alg));
}

export async function rotateKeys(env: Env, settings: Settings, now: number): Promise<readonly string[]> {
  const result = await env.KEYS.getByName("keys").rotate(now, rotationPolicy(settings.keys, ID_TOKEN_TTL_SECONDS), neededAlgorithms(settings));
  console.log(JSON.stringify({ event: "keys_rotated", revision: result.set.revision, changes: result.changes, time: new Date(now).toISOString() }));
  return result.changes;
}
