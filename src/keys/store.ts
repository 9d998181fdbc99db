// Read path for signing keys: at most one KV read per isolate per CACHE_SECONDS; on a missing or
// corrupt KV entry it asks the KeyKeeper Durable Object, which creates or republishes the set.
import { importJWK, type JWK } from "jose";
import { KEYSET_KV_KEY, parseKeySet, type KeySet, type SigningAlg } from "./keyset";

const CACHE_SECONDS = 60;

export interface Signer {
  readonly kid: string;
  readonly alg: SigningAlg;
  readonly key: CryptoKey;
}

export interface LoadedKeys {
  readonly signer: Signer;
  /** Public JWKs of every published key. */
  readonly publicJwks: readonly JWK[];
  readonly algorithms: readonly SigningAlg[];
}

let cache: { expires: number; value: Promise<LoadedKeys> } | undefined;

async function readKeySet(env: Env): Promise<KeySet> {
  const fromKv = parseKeySet(await env.KV.get(KEYSET_KV_KEY, { type: "text", cacheTtl: CACHE_SECONDS }));
  if (fromKv) return fromKv;
  return env.KEYS.getByName("keys").keySet();
}

async function load(env: Env): Promise<LoadedKeys> {
  const keySet = await readKeySet(env);
  const current = keySet.keys.find((k) => k.status === "current");
  if (!current) throw new Error("key set has no current key");
  const key = await importJWK(current.privateJwk, current.alg);
  if (!(key instanceof CryptoKey)) throw new Error("signing key did not import as a CryptoKey");
  return {
    signer: { kid: current.kid, alg: current.alg, key },
    publicJwks: keySet.keys.map((k) => k.publicJwk),
    algorithms: [...new Set(keySet.keys.map((k) => k.alg))],
  };
}

/** The signing key and the published JWKS, cached in the isolate. */
export function loadKeys(env: Env): Promise<LoadedKeys> {
  const now = Date.now();
  if (!cache || cache.expires <= now) {
    const value = load(env);
    cache = { expires: now + CACHE_SECONDS * 1000, value };
    // A failed load must not stick in the cache.
    value.catch(() => {
      if (cache?.value === value) cache = undefined;
    });
  }
  return cache.value;
}

/** For tests: forget the isolate cache. */
export function clearKeyCache(): void {
  cache = undefined;
}
