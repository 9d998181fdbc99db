// Sealing: short-lived authenticated encryption (JWE "dir" + A256GCM via jose) for the state we send
// through Discord and for our own access tokens. Keys are derived with HKDF from the Discord client
// secret the operator already has, one key per purpose, so there is no extra secret to manage.
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

const keyCache = new Map<string, Promise<Uint8Array>>();

function deriveKey(secret: string, purpose: SealPurpose): Promise<Uint8Array> {
  const cacheKey = `${purpose}\u0000${secret}`;
  let key = keyCache.get(cacheKey);
  if (!key) {
    key = (async () => {
      const enc = new TextEncoder();
      const ikm = await crypto.subtle.importKey("raw", enc.encode(secret), "HKDF", false, ["deriveBits"]);
      const bits = await crypto.subtle.deriveBits(
        { name: "HKDF", hash: "SHA-256", salt: enc.encode("discord-oidc-bridge"), info: enc.encode(`seal:${purpose}:v1`) },
        ikm,
        256,
      );
      return new Uint8Array(bits);
    })();
    keyCache.set(cacheKey, key);
  }
  return key;
}

export async function seal(payload: JWTPayload, purpose: SealPurpose, secret: string, ttlSeconds: number): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new EncryptJWT(payload)
    .setProtectedHeader({ alg: "dir", enc: "A256GCM" })
    .setIssuedAt(now)
    .setExpirationTime(now + ttlSeconds)
    .encrypt(await deriveKey(secret, purpose));
}

/** Open a sealed value; throws UnsealError("expired" | "invalid"), never anything else. */
export async function unseal(token: string, purpose: SealPurpose, secret: string): Promise<JWTPayload> {
  if (token.length === 0 || token.length > 4096) throw new UnsealError("invalid");
  try {
    const { payload } = await jwtDecrypt(token, await deriveKey(secret, purpose), {
      keyManagementAlgorithms: ["dir"],
      contentEncryptionAlgorithms: ["A256GCM"],
      requiredClaims: ["exp", "iat"],
    });
    return payload;
  } catch (err) {
    if (err instanceof errors.JWTExpired) throw new UnsealError("expired");
    throw new UnsealError("invalid");
  }
}
