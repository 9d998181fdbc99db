// Read path for signing keys: at most one KV read per isolate per CACHE_SECONDS (plus KV's own
// cacheTtl); when KV has no usable set it asks the KeyKeeper Durable Object, which creates or
// republishes one. Which key signs is decided per request from the keys' activation times.
import { importJWK, type JWK } from "jose";
import { OAuthError } from "../errors";
import { KEYSET_KV_KEY, parseKeySet, signingAlgs, signingKey, type KeySet, type SigningAlg } from "./keyset";

const CACHE_SECONDS = 60;

export interface Signer {
  readonly kid: string;
  readonly alg: SigningAlg;
  readonly key: CryptoKey;
}

export interface LoadedKeys {
  readonly set: KeySet;
  /** Public JWKs of every published key (next, current and retired). */
  readonly publicJwks: readonly JWK[];
  /** The algorithms the set can sign with now. */
  algorithms(): SigningAlg[];
  /** The key that signs `alg` now; an OAuthError when the set has none for it yet. */
  signer(alg: SigningAlg): Promise<Signer>;
}

let cache: { loaded: number; expires: number; value: Promise<LoadedKeys> } | undefined;

/** A cached set without a key for the wanted algorithm is re-read from KV at most this often. */
const MISS_RELOAD_MS = 10_000;

async function readKeySet(env: Env): Promise<KeySet> {
  const fromKv = parseKeySet(await env.KV.get(KEYSET_KV_KEY, { type: "text", cacheTtl: CACHE_SECONDS }));
  if (fromKv) return fromKv;
  return env.KEYS.getByName("keys").keySet();
}

async function load(env: Env): Promise<LoadedKeys> {
  const set = await readKeySet(env);
  const imported = new Map<string, Promise<CryptoKey>>();
  const importKey = (jwk: JWK, alg: SigningAlg) =>
    importJWK(jwk, alg).then((key) => {
      if (!(key instanceof CryptoKey)) throw new Error("signing key did not import as a CryptoKey");
      return key;
    });
  return {
    set,
    publicJwks: set.keys.map((k) => k.publicJwk),
    algorithms: () => signingAlgs(set, Date.now()),
    async signer(alg) {
      const key = signingKey(set, alg, Date.now());
      if (!key) {
        throw new OAuthError("server_error", `no ${alg} signing key yet: the operator must run \`npm run keys -- rotate --alg ${alg}\` or wait for the scheduled rotation`, { status: 503, detail: `no_${alg}_key` });
      }
      let cryptoKey = imported.get(key.kid);
      if (!cryptoKey) {
        cryptoKey = importKey(key.privateJwk, alg);
        imported.set(key.kid, cryptoKey);
      }
      return { kid: key.kid, alg, key: await cryptoKey };
    },
  };
}

/** The key set, cached in the isolate. */
export function loadKeys(env: Env): Promise<LoadedKeys> {
  const now = Date.now();
  if (!cache || cache.expires <= now) {
    const value = load(env);
    cache = { loaded: now, expires: now + CACHE_SECONDS * 1000, value };
    // A failed load must not stick in the cache.
    value.catch(() => {
      if (cache?.value === value) cache = undefined;
    });
  }
  return cache.value;
}

/**
 * The signer for `alg`. When the cached set has no key for it (a client just switched to RS256 and
 * the scheduled run has made the key since), re-read KV once rather than wait for the cache to expire.
 */
export async function signerFor(env: Env, alg: SigningAlg): Promise<Signer> {
  const keys = await loadKeys(env);
  if (signingKey(keys.set, alg, Date.now()) || !cache || Date.now() - cache.loaded < MISS_RELOAD_MS) return keys.signer(alg);
  cache = undefined;
  return (await loadKeys(env)).signer(alg);
}

/** For tests: forget the isolate cache. */
export function clearKeyCache(): void {
  cache = undefined;
}
