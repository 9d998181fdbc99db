// The signing key set as stored in KV under KEYSET_KV_KEY (the one place its shape is defined):
//   { "version": 1, "keys": [ { kid, alg, status, createdAt, publicJwk, privateJwk } ] }
// `kid` is the RFC 7638 thumbprint of the public key. Only `publicJwk` ever leaves the Worker.
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from "jose";

export const KEYSET_KV_KEY = "signing-keys";

export type SigningAlg = "ES256";
export type KeyStatus = "current";

export interface StoredKey {
  readonly kid: string;
  readonly alg: SigningAlg;
  readonly status: KeyStatus;
  /** ISO 8601 time the key was made. */
  readonly createdAt: string;
  readonly publicJwk: JWK;
  readonly privateJwk: JWK;
}

export interface KeySet {
  readonly version: 1;
  readonly keys: readonly StoredKey[];
}

export async function createKey(alg: SigningAlg = "ES256"): Promise<StoredKey> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  return {
    kid,
    alg,
    status: "current",
    createdAt: new Date().toISOString(),
    publicJwk: { ...publicJwk, kid, alg, use: "sig" },
    privateJwk: { ...(await exportJWK(privateKey)), kid, alg },
  };
}

/** Parse and sanity-check a stored key set; null when it is missing or not usable. */
export function parseKeySet(text: string | null): KeySet | null {
  if (text === null) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof raw !== "object" || raw === null) return null;
  const { version, keys } = raw as { version?: unknown; keys?: unknown };
  if (version !== 1 || !Array.isArray(keys)) return null;
  const valid = keys.every(
    (k: unknown) =>
      typeof k === "object" &&
      k !== null &&
      typeof (k as StoredKey).kid === "string" &&
      (k as StoredKey).alg === "ES256" &&
      typeof (k as StoredKey).publicJwk === "object" &&
      typeof (k as StoredKey).privateJwk === "object",
  );
  if (!valid || !keys.some((k: StoredKey) => k.status === "current")) return null;
  return raw as KeySet;
}
