// Signing keys as a deployed bridge has them: `npm run deploy` stocks RSA keys ahead of time (the Worker
// never makes them). The RSA keys come from a pool made once per `vitest run` in Node (vitest.config.ts,
// handed over with provide/inject), since making them in workerd would cost every file a second or so.
import { env } from "cloudflare:workers";
import { inject } from "vitest";
import { KEYSET_KV_KEY, parseKeySet, type KeySet, type ReserveKey } from "../../src/keys/keyset";
import { stockedKeySet } from "../../src/keys/rotation";
import { clearKeyCache } from "../../src/keys/store";

declare module "vitest" {
  interface ProvidedContext {
    /** JSON: ReserveKey[] (RS256), made in Node by vitest.config.ts. */
    rsaKeyPool: string;
  }
}

/** The pool's RSA keys, as `npm run keys -- stock` would have made them. */
export function rsaKeyPool(): ReserveKey[] {
  return JSON.parse(inject("rsaKeyPool")) as ReserveKey[];
}

/**
 * What `npm run keys -- stock` leaves in KV: an RS256, an ES256 and a sealing key in use from `now`, and
 * the rest of the pool in reserve. Replaces whatever set KV holds.
 */
export async function stockKeys(now = Date.now(), reserve: readonly ReserveKey[] = rsaKeyPool()): Promise<KeySet> {
  const set = await stockedKeySet(reserve, now);
  await env.KV.put(KEYSET_KV_KEY, JSON.stringify(set));
  clearKeyCache();
  return set;
}

/** The key set in KV now. */
export async function storedKeySet(): Promise<KeySet | null> {
  return parseKeySet(await env.KV.get(KEYSET_KV_KEY));
}
