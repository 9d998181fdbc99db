// Random tokens and hashes, all base64url without padding (jose's encoder).
import { base64url } from "jose";

/** `byteLength` random bytes as base64url (32 bytes -> 43 characters, 256 bits). */
export function randomToken(byteLength = 32): string {
  return base64url.encode(crypto.getRandomValues(new Uint8Array(byteLength)));
}

export async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
}

export async function sha256Base64url(text: string): Promise<string> {
  return base64url.encode(await sha256(text));
}
