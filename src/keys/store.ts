// Read path for signing and sealing keys: at most one KV read per isolate per CACHE_SECONDS (plus KV's
// own cacheTtl); when KV has no usable set, or one lacking a key the KeyKeeper could put in use
// (lacksKeys), it asks the KeyKeeper Durable Object, which creates or republishes one. Which key signs or seals is decided per request
// from the keys' activation times. A key that does not import is a clear 503, never a 500.
import { base64url, importJWK, type JWK } from "jose";
import { purposeKey, type SealingKeys, type SealPurpose } from "../codes/seal";
import { OAuthError } from "../errors";
import { STOCK_COMMAND } from "./rotation";
import { logUnexpected } from "../log";
import { KEYSET_KV_KEY, lacksKeys, parseKeySet, sealingKeyAt, signingAlgs, signingKey, type KeySet, type SigningAlg } from "./keyset";

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
  /** The set's sealing keys (without reloading on an unknown kid). */
  readonly sealing: SealingKeys;
}

let cache: { loaded: number; expires: number; value: Promise<LoadedKeys> } | undefined;

/** A cached set without a key for the wanted algorithm is re-read from KV at most this often. */
const MISS_RELOAD_MS = 10_000;

async function readKeySet(env: Env): Promise<KeySet> {
  const fromKv = parseKeySet(await env.KV.get(KEYSET_KV_KEY, { type: "text", cacheTtl: CACHE_SECONDS }));
  if (fromKv && !lacksKeys(fromKv, Date.now())) return fromKv;
  return env.KEYS.getByName("keys").keySet();
}

/** What the request path says when a stored key cannot be used (the detail goes to the log only). */
function unusable(what: string, err: unknown): OAuthError {
  logUnexpected(`keys.import:${what}`, err);
  return new OAuthError("temporarily_unavailable", "the login service's keys are not usable right now; try again in a minute", { status: 503, detail: "keys_unavailable" });
}

/** Imports once per isolate; a failed import is not kept, so the next request tries again. */
function memo<T>(cache: Map<string, Promise<T>>, id: string, make: () => Promise<T>): Promise<T> {
  let value = cache.get(id);
  if (!value) {
    value = make();
    cache.set(id, value);
    value.catch(() => cache.delete(id));
  }
  return value;
}

async function load(env: Env): Promise<LoadedKeys> {
  const set = await readKeySet(env).catch((err: unknown) => {
    throw unusable("load", err);
  });
  const imported = new Map<string, Promise<CryptoKey>>();
  const importKey = (jwk: JWK, alg: SigningAlg) =>
    importJWK(jwk, alg).then(
      (key) => {
        if (!(key instanceof CryptoKey)) throw new Error("signing key did not import as a CryptoKey");
        return key;
      },
      (err: unknown) => {
        throw unusable(`${alg}:${jwk.kid ?? "?"}`, err);
      },
    );
  const sealingKey = (kid: string, secret: string, purpose: SealPurpose) =>
    memo(imported, `${kid}\u0000${purpose}`, () => purposeKey(base64url.decode(secret), purpose).catch((err: unknown) => {
      throw unusable(`sealing:${kid}`, err);
    }));
  const sealing: SealingKeys = {
    async current(purpose) {
      const key = sealingKeyAt(set, Date.now());
      // readKeySet never returns a set without one; a key set this old means the keeper is failing.
      if (!key) throw unusable("sealing", new Error("no sealing key in use"));
      return { kid: key.kid, key: await sealingKey(key.kid, key.secret, purpose) };
    },
    async find(kid, purpose) {
      const key = set.sealingKeys?.find((k) => k.kid === kid);
      return key ? sealingKey(key.kid, key.secret, purpose) : undefined;
    },
  };
  return {
    set,
    publicJwks: set.keys.map((k) => k.publicJwk),
    algorithms: () => signingAlgs(set, Date.now()),
    async signer(alg) {
      const key = signingKey(set, alg, Date.now());
      if (!key) {
        throw new OAuthError("temporarily_unavailable", `the login service has no ${alg} signing key yet; its operator must run \`${STOCK_COMMAND}\``, { status: 503, detail: `no_${alg}_key` });
      }
      return { kid: key.kid, alg, key: await memo(imported, key.kid, () => importKey(key.privateJwk, alg)) };
    },
    sealing,
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

const SEALING_KID = /^s-[A-Za-z0-9_-]{12}$/;

/**
 * The sealing keys. A value sealed with a key this isolate has not seen yet (made by another isolate
 * moments after a key set was first created) re-reads the set, at most once per MISS_RELOAD_MS.
 */
export async function sealingKeys(env: Env): Promise<SealingKeys> {
  const keys = await loadKeys(env);
  return {
    current: (purpose) => keys.sealing.current(purpose),
    async find(kid, purpose) {
      const key = await keys.sealing.find(kid, purpose);
      if (key || !SEALING_KID.test(kid) || !cache || Date.now() - cache.loaded < MISS_RELOAD_MS) return key;
      cache = undefined;
      return (await loadKeys(env)).sealing.find(kid, purpose);
    },
  };
}

/** For tests: forget the isolate cache. */
export function clearKeyCache(): void {
  cache = undefined;
}
