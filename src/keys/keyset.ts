// The key set, stored in Workers KV under KEYSET_KV_KEY. This is the one place its shape is defined
// (README "Storage" documents it for operators):
//   { "version": 1, "revision": 7, "updatedAt": ISO,
//     "keys": [ { kid, alg, status, createdAt, activatesAt, supersededAt?, publicJwk, privateJwk } ],
//     "sealingKeys": [ { kid, createdAt, activatesAt, supersededAt?, secret } ] }
// `kid` is the RFC 7638 thumbprint of the public key. Only `publicJwk` ever leaves the Worker.
// A key signs from `activatesAt` until the next key of its algorithm activates (`supersededAt`);
// `status` is what the last writer computed, the request path derives it from the times again.
// Sealing keys (the state sent through Discord, our access tokens) are 256 random bits made by the
// bridge (`secret`, base64url): nobody else holds them, not even Discord. They follow the same timeline.
import { base64url, calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from "jose";

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

/** A symmetric key for sealing; never leaves the Worker. */
export interface SealingKey {
  readonly kid: string;
  readonly createdAt: string;
  readonly activatesAt: string;
  readonly supersededAt?: string | undefined;
  /** 32 random bytes, base64url. */
  readonly secret: string;
}

export interface KeySet {
  readonly version: 1;
  /** Bumped by every write, so writers can tell which copy is newer. */
  readonly revision: number;
  readonly updatedAt: string;
  readonly keys: readonly StoredKey[];
  /** Absent in sets written before sealing keys existed; the KeyKeeper adds them. */
  readonly sealingKeys?: readonly SealingKey[] | undefined;
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

/** A new sealing key: 256 random bits (cheap: fine anywhere). */
export function createSealingKey(activatesAt: number, now: number): SealingKey {
  return {
    kid: `s-${base64url.encode(crypto.getRandomValues(new Uint8Array(9)))}`,
    createdAt: new Date(now).toISOString(),
    activatesAt: new Date(activatesAt).toISOString(),
    secret: base64url.encode(crypto.getRandomValues(new Uint8Array(32))),
  };
}

const isTime = (v: unknown) => typeof v === "string" && !Number.isNaN(Date.parse(v));
const isOptionalTime = (v: unknown) => v === undefined || isTime(v);
const isB64 = (v: unknown) => typeof v === "string" && /^[A-Za-z0-9_-]+$/.test(v);

/** The private JWK members each algorithm needs, with their least base64url length; without them a key cannot sign. */
const PRIVATE_MEMBERS: Readonly<Record<SigningAlg, Readonly<Record<string, number>>>> = {
  ES256: { x: 43, y: 43, d: 43 }, // P-256: 32 bytes each
  RS256: { n: 342, e: 1, d: 1, p: 1, q: 1, dp: 1, dq: 1, qi: 1 }, // n: at least 2048 bits
};

/** A private JWK of the right type with every member present and long enough (truncation is corruption). */
function isPrivateJwk(jwk: unknown, alg: SigningAlg): boolean {
  if (typeof jwk !== "object" || jwk === null) return false;
  const j = jwk as Record<string, unknown>;
  if (j.kty !== (alg === "ES256" ? "EC" : "RSA") || (alg === "ES256" && j.crv !== "P-256")) return false;
  return Object.entries(PRIVATE_MEMBERS[alg]).every(([m, min]) => isB64(j[m]) && (j[m] as string).length >= min);
}

function isSealingKey(k: unknown): k is SealingKey {
  if (typeof k !== "object" || k === null) return false;
  const key = k as Record<string, unknown>;
  return typeof key.kid === "string" && isTime(key.createdAt) && isTime(key.activatesAt) && isOptionalTime(key.supersededAt) && typeof key.secret === "string" && /^[A-Za-z0-9_-]{43}$/.test(key.secret);
}

function isStoredKey(k: unknown): k is StoredKey {
  if (typeof k !== "object" || k === null) return false;
  const key = k as Record<string, unknown>;
  return (
    typeof key.kid === "string" &&
    isSigningAlg(key.alg) &&
    (key.status === "next" || key.status === "current" || key.status === "retired") &&
    typeof key.createdAt === "string" &&
    isTime(key.activatesAt) &&
    isOptionalTime(key.supersededAt) &&
    typeof key.publicJwk === "object" &&
    key.publicJwk !== null &&
    isPrivateJwk(key.privateJwk, key.alg)
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
  const { version, revision, keys, sealingKeys } = raw as { version?: unknown; revision?: unknown; keys?: unknown; sealingKeys?: unknown };
  if (version !== 1 || typeof revision !== "number" || !Array.isArray(keys) || keys.length === 0) return null;
  if (!keys.every(isStoredKey)) return null;
  if (sealingKeys !== undefined && !(Array.isArray(sealingKeys) && sealingKeys.every(isSealingKey))) return null;
  return raw as KeySet;
}

const time = (iso: string) => Date.parse(iso);

/** The key that signs for `alg` at `now`: the latest one whose activation has come. */
export function signingKey(set: KeySet, alg: SigningAlg, now: number): StoredKey | undefined {
  return activeAt(set.keys.filter((k) => k.alg === alg), now);
}

/** The latest of `items` whose activation has come: the one in use at `now`. */
export function activeAt<T extends { readonly activatesAt: string }>(items: readonly T[], now: number): T | undefined {
  let best: T | undefined;
  for (const k of items) {
    if (time(k.activatesAt) > now) continue;
    if (!best || time(k.activatesAt) > time(best.activatesAt)) best = k;
  }
  return best;
}

/** The sealing key that seals at `now`. */
export function sealingKeyAt(set: KeySet, now: number): SealingKey | undefined {
  return activeAt(set.sealingKeys ?? [], now);
}

/** A key's status at `now`, derived from the times (the stored `status` may be older). */
export function statusAt(set: KeySet, key: StoredKey, now: number): KeyStatus {
  return timelineStatus(set.keys.filter((k) => k.alg === key.alg), key, now);
}

/** A key's status among the keys of its timeline (one signing algorithm, or the sealing keys). */
export function timelineStatus<T extends { readonly kid: string; readonly activatesAt: string }>(timeline: readonly T[], key: T, now: number): KeyStatus {
  if (time(key.activatesAt) > now) return "next";
  return activeAt(timeline, now)?.kid === key.kid ? "current" : "retired";
}

/** The algorithms the set can sign with at `now`. */
export function signingAlgs(set: KeySet, now: number): SigningAlg[] {
  return SIGNING_ALGS.filter((alg) => signingKey(set, alg, now) !== undefined);
}
