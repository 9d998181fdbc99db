// The signing key set, stored in Workers KV under KEYSET_KV_KEY. This is the one place its shape is
// defined (README "Storage" documents it for operators):
//   { "version": 1, "revision": 7, "updatedAt": ISO,
//     "keys": [ { kid, alg, status, createdAt, activatesAt, supersededAt?, publicJwk, privateJwk } ] }
// `kid` is the RFC 7638 thumbprint of the public key. Only `publicJwk` ever leaves the Worker.
// A key signs from `activatesAt` until the next key of its algorithm activates (`supersededAt`);
// `status` is what the last writer computed, the request path derives it from the times again.
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from "jose";

export const KEYSET_KV_KEY = "signing-keys";

export const SIGNING_ALGS = ["ES256", "RS256"] as const;
export type SigningAlg = (typeof SIGNING_ALGS)[number];
export type KeyStatus = "next" | "current" | "retired";

export interface StoredKey {
  readonly kid: string;
  readonly alg: SigningAlg;
  readonly status: KeyStatus;
  /** ISO 8601 times. */
  readonly createdAt: string;
  readonly activatesAt: string;
  readonly supersededAt?: string | undefined;
  readonly publicJwk: JWK;
  readonly privateJwk: JWK;
}

export interface KeySet {
  readonly version: 1;
  /** Bumped by every write, so writers can tell which copy is newer. */
  readonly revision: number;
  readonly updatedAt: string;
  readonly keys: readonly StoredKey[];
}

export function isSigningAlg(value: unknown): value is SigningAlg {
  return (SIGNING_ALGS as readonly unknown[]).includes(value);
}

/** A new key pair (RS256: 2048-bit RSA). Slow for RSA: never call this on the request path. */
export async function createKey(alg: SigningAlg, activatesAt: number, now: number): Promise<StoredKey> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === "RS256" && { modulusLength: 2048 }) });
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  return {
    kid,
    alg,
    status: activatesAt <= now ? "current" : "next",
    createdAt: new Date(now).toISOString(),
    activatesAt: new Date(activatesAt).toISOString(),
    publicJwk: { ...publicJwk, kid, alg, use: "sig" },
    privateJwk: { ...(await exportJWK(privateKey)), kid, alg },
  };
}

function isStoredKey(k: unknown): k is StoredKey {
  if (typeof k !== "object" || k === null) return false;
  const key = k as Record<string, unknown>;
  return (
    typeof key.kid === "string" &&
    isSigningAlg(key.alg) &&
    (key.status === "next" || key.status === "current" || key.status === "retired") &&
    typeof key.createdAt === "string" &&
    typeof key.activatesAt === "string" &&
    !Number.isNaN(Date.parse(key.activatesAt)) &&
    (key.supersededAt === undefined || (typeof key.supersededAt === "string" && !Number.isNaN(Date.parse(key.supersededAt)))) &&
    typeof key.publicJwk === "object" &&
    key.publicJwk !== null &&
    typeof key.privateJwk === "object" &&
    key.privateJwk !== null
  );
}

/** Parse and sanity-check a stored key set; null when it is missing, corrupt or has no key at all. */
export function parseKeySet(text: string | null): KeySet | null {
  if (text === null) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof raw !== "object" || raw === null) return null;
  const { version, revision, keys } = raw as { version?: unknown; revision?: unknown; keys?: unknown };
  if (version !== 1 || typeof revision !== "number" || !Array.isArray(keys) || keys.length === 0) return null;
  if (!keys.every(isStoredKey)) return null;
  return raw as KeySet;
}

const time = (iso: string) => Date.parse(iso);

/** The key that signs for `alg` at `now`: the latest one whose activation has come. */
export function signingKey(set: KeySet, alg: SigningAlg, now: number): StoredKey | undefined {
  let best: StoredKey | undefined;
  for (const k of set.keys) {
    if (k.alg !== alg || time(k.activatesAt) > now) continue;
    if (!best || time(k.activatesAt) > time(best.activatesAt)) best = k;
  }
  return best;
}

/** A key's status at `now`, derived from the times (the stored `status` may be older). */
export function statusAt(set: KeySet, key: StoredKey, now: number): KeyStatus {
  if (time(key.activatesAt) > now) return "next";
  return signingKey(set, key.alg, now)?.kid === key.kid ? "current" : "retired";
}

/** The algorithms the set can sign with at `now`. */
export function signingAlgs(set: KeySet, now: number): SigningAlg[] {
  return SIGNING_ALGS.filter((alg) => signingKey(set, alg, now) !== undefined);
}
