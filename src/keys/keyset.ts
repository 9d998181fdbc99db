// The key set, stored in Workers KV under KEYSET_KV_KEY. This is the one place its shape is defined
// (README "Storage" documents it for operators):
//   { "version": 1, "revision": 7, "updatedAt": ISO,
//     "keys": [ { kid, alg, status, createdAt, publishedAt, activatesAt, supersededAt?, publicJwk, privateJwk } ],
//     "sealingKeys": [ { kid, createdAt, activatesAt, supersededAt?, secret } ],
//     "reserve": [ { kid, alg: "RS256", createdAt, privateJwk } ] }
// `kid` is the RFC 7638 thumbprint of the public key. Only `publicJwk` ever leaves the Worker.
// A key signs from `activatesAt` until the next key of its algorithm activates (`supersededAt`);
// `status` is what the last writer computed, the request path derives it from the times again.
// Sealing keys (the state sent through Discord, our access tokens) are 256 random bits made by the
// bridge (`secret`, base64url): nobody else holds them, not even Discord. They follow the same timeline.
// RSA keys take tens to hundreds of ms of CPU to make, more than a free-plan invocation may use, so they
// are never made in the Worker: `npm run keys -- stock` (run by `npm run deploy` and `npm start`) makes
// them ahead of time into `reserve`, unpublished, and the rotation takes the next one from there.
import { base64url, calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from "jose";

export const KEYSET_KV_KEY = "signing-keys";

export const SIGNING_ALGS = ["RS256", "ES256"] as const;
export type SigningAlg = (typeof SIGNING_ALGS)[number];
/** What a client that names no algorithm expects (OIDC Core 15.1, Dynamic Client Registration 2). */
export const DEFAULT_SIGNING_ALG: SigningAlg = "RS256";
/** Algorithms whose keys are made ahead of time (outside the Worker) and taken from the reserve. */
export const MADE_AHEAD: readonly SigningAlg[] = ["RS256"];
export type KeyStatus = "next" | "current" | "retired";

export interface StoredKey {
  readonly kid: string;
  readonly alg: SigningAlg;
  readonly status: KeyStatus;
  /** ISO 8601 times. */
  readonly createdAt: string;
  /** When it was first published (a key made ahead of time is created long before); absent in older sets. */
  readonly publishedAt?: string | undefined;
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

/** A key made ahead of time: private until the rotation publishes it. */
export interface ReserveKey {
  readonly kid: string;
  readonly alg: SigningAlg;
  readonly createdAt: string;
  readonly privateJwk: JWK;
}

export interface KeySet {
  readonly version: 1;
  /** Bumped by every write, so writers can tell which copy is newer. */
  readonly revision: number;
  readonly updatedAt: string;
  readonly keys: readonly StoredKey[];
  /** Absent in sets written before sealing keys existed; the KeyKeeper adds them. */
  readonly sealingKeys?: readonly SealingKey[] | undefined;
  /** Keys made ahead of time for the algorithms in MADE_AHEAD, oldest first; never published. */
  readonly reserve?: readonly ReserveKey[] | undefined;
}

export function isSigningAlg(value: unknown): value is SigningAlg {
  return (SIGNING_ALGS as readonly unknown[]).includes(value);
}

/**
 * A new private key (RS256: 2048-bit RSA). RSA is slow (see MADE_AHEAD): only the keys command and
 * tests make RSA keys; the Worker makes only ES256 ones.
 */
export async function createReserveKey(alg: SigningAlg, now: number): Promise<ReserveKey> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === "RS256" && { modulusLength: 2048 }) });
  const kid = await calculateJwkThumbprint(await exportJWK(publicKey));
  return { kid, alg, createdAt: new Date(now).toISOString(), privateJwk: { ...(await exportJWK(privateKey)), kid, alg } };
}

/** The public members of each key type (RFC 7518 6.2.1, 6.3.1). */
const PUBLIC_MEMBERS = { EC: ["kty", "crv", "x", "y"], RSA: ["kty", "n", "e"] } as const;

/** A reserve key put on the timeline: published from now, signing from `activatesAt`. */
export function publish(key: ReserveKey, activatesAt: number, now: number): StoredKey {
  const members = key.privateJwk.kty === "RSA" ? PUBLIC_MEMBERS.RSA : PUBLIC_MEMBERS.EC;
  const publicJwk: JWK = Object.fromEntries(members.map((m) => [m, key.privateJwk[m]]));
  return {
    kid: key.kid,
    alg: key.alg,
    status: activatesAt <= now ? "current" : "next",
    createdAt: key.createdAt,
    publishedAt: new Date(now).toISOString(),
    activatesAt: new Date(activatesAt).toISOString(),
    publicJwk: { ...publicJwk, kid: key.kid, alg: key.alg, use: "sig" },
    privateJwk: key.privateJwk,
  };
}

/** A new key pair, signing from `activatesAt` (slow for RSA: see createReserveKey). */
export async function createKey(alg: SigningAlg, activatesAt: number, now: number): Promise<StoredKey> {
  return publish(await createReserveKey(alg, now), activatesAt, now);
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

function isReserveKey(k: unknown): k is ReserveKey {
  if (typeof k !== "object" || k === null) return false;
  const key = k as Record<string, unknown>;
  return typeof key.kid === "string" && isSigningAlg(key.alg) && isTime(key.createdAt) && isPrivateJwk(key.privateJwk, key.alg);
}

function isStoredKey(k: unknown): k is StoredKey {
  if (typeof k !== "object" || k === null) return false;
  const key = k as Record<string, unknown>;
  return (
    typeof key.kid === "string" &&
    isSigningAlg(key.alg) &&
    (key.status === "next" || key.status === "current" || key.status === "retired") &&
    typeof key.createdAt === "string" &&
    isOptionalTime(key.publishedAt) &&
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
  const { version, revision, keys, sealingKeys, reserve } = raw as { version?: unknown; revision?: unknown; keys?: unknown; sealingKeys?: unknown; reserve?: unknown };
  if (version !== 1 || typeof revision !== "number" || !Array.isArray(keys) || keys.length === 0) return null;
  if (!keys.every(isStoredKey)) return null;
  if (sealingKeys !== undefined && !(Array.isArray(sealingKeys) && sealingKeys.every(isSealingKey))) return null;
  if (reserve !== undefined && !(Array.isArray(reserve) && reserve.every(isReserveKey))) return null;
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

/** The reserve keys of `alg`, oldest first. */
export function reserveOf(set: KeySet | null, alg: SigningAlg): ReserveKey[] {
  return (set?.reserve ?? []).filter((k) => k.alg === alg);
}

/**
 * Whether the KeyKeeper can put something in use that the set lacks at `now`: a sealing key or an
 * ES256 key (made on the spot), or an RS256 key while the reserve has one.
 */
export function lacksKeys(set: KeySet, now: number): boolean {
  if (!sealingKeyAt(set, now)) return true;
  return SIGNING_ALGS.some((alg) => !signingKey(set, alg, now) && (!MADE_AHEAD.includes(alg) || reserveOf(set, alg).length > 0));
}
