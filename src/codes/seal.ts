// Sealing: short-lived authenticated encryption (JWE "dir" + A256GCM via jose) for the state we send
// through Discord and for our own access tokens. The keys are random keys only the bridge holds
// (keys/keyset.ts `sealingKeys`, rotated with an overlap); each purpose gets its own subkey (HKDF), and
// the JWE header names the key (`kid`), so a value sealed before a rotation still opens after it.
import { EncryptJWT, jwtDecrypt, errors, type JWTPayload } from "jose";

export type SealPurpose = "upstream-state" | "access-token";

export class UnsealError extends Error {
  readonly reason: "expired" | "invalid";
  constructor(reason: "expired" | "invalid") {
    super(reason === "expired" ? "sealed value expired" : "sealed value invalid");
    this.name = "UnsealError";
    this.reason = reason;
  }
}

/** The bridge's sealing keys, as the key store serves them. */
export interface SealingKeys {
  /** The key that seals now. */
  current(purpose: SealPurpose): Promise<{ readonly kid: string; readonly key: CryptoKey }>;
  /** The key named `kid`, for opening; undefined when the bridge has no such key (any more). */
  find(kid: string, purpose: SealPurpose): Promise<CryptoKey | undefined>;
}

/** The AES-256-GCM key for one purpose, derived from a sealing key's 256 random bits. */
export async function purposeKey(secret: Uint8Array, purpose: SealPurpose): Promise<CryptoKey> {
  const enc = new TextEncoder();
  const ikm = await crypto.subtle.importKey("raw", secret, "HKDF", false, ["deriveKey"]);
  return crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: enc.encode("discord-oidc-bridge"), info: enc.encode(`seal:${purpose}:v2`) },
    ikm,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
}

/**
 * Longer than anything we seal (the largest state: a 1,024-character client state and a 512-character
 * nonce that JSON escapes six-fold, plus the redirect URI, is about 13 KB sealed); a longer input is
 * refused before any work.
 */
const MAX_SEALED_LENGTH = 16 * 1024;

/** Compact JWE, strictly: five base64url parts (jose's decoder would let whitespace through). */
const COMPACT_JWE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

export async function seal(payload: JWTPayload, purpose: SealPurpose, keys: SealingKeys, ttlSeconds: number): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const { kid, key } = await keys.current(purpose);
  return new EncryptJWT(payload)
    .setProtectedHeader({ alg: "dir", enc: "A256GCM", kid })
    .setIssuedAt(now)
    .setExpirationTime(now + ttlSeconds)
    .encrypt(key);
}

/** Open a sealed value; throws UnsealError("expired" | "invalid"), never anything else. */
export async function unseal(token: string, purpose: SealPurpose, keys: SealingKeys): Promise<JWTPayload> {
  if (token.length > MAX_SEALED_LENGTH || !COMPACT_JWE.test(token)) throw new UnsealError("invalid");
  try {
    const { payload } = await jwtDecrypt(
      token,
      async (header) => {
        const key = typeof header.kid === "string" ? await keys.find(header.kid, purpose) : undefined;
        if (!key) throw new UnsealError("invalid");
        return key;
      },
      { keyManagementAlgorithms: ["dir"], contentEncryptionAlgorithms: ["A256GCM"], requiredClaims: ["exp", "iat"] },
    );
    return payload;
  } catch (err) {
    if (err instanceof errors.JWTExpired) throw new UnsealError("expired");
    throw new UnsealError("invalid");
  }
}
