// Token minting: the signed ID token (OIDC Core 2) and our own opaque access token, which is a sealed
// blob that only /userinfo accepts. Neither carries anything from Discord but the user's claims.
import { SignJWT } from "jose";
import { seal, unseal, UnsealError, type SealingKeys } from "../codes/seal";
import type { Signer } from "../keys/store";
import type { UserClaims } from "./claims";

import { ACCESS_TOKEN_TTL_SECONDS, ID_TOKEN_TTL_SECONDS } from "./lifetimes";

export interface IdTokenInput {
  readonly issuer: string;
  readonly clientId: string;
  readonly sub: string;
  readonly authTime: number;
  readonly nonce?: string | undefined;
  readonly claims: UserClaims;
}

export async function mintIdToken(signer: Signer, input: IdTokenInput): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const payload: Record<string, unknown> = { ...input.claims, auth_time: input.authTime };
  if (input.nonce !== undefined) payload.nonce = input.nonce;
  return new SignJWT(payload)
    .setProtectedHeader({ alg: signer.alg, kid: signer.kid, typ: "JWT" })
    .setIssuer(input.issuer)
    .setSubject(input.sub)
    .setAudience(input.clientId)
    .setIssuedAt(now)
    .setExpirationTime(now + ID_TOKEN_TTL_SECONDS)
    .sign(signer.key);
}

export interface AccessGrant {
  readonly sub: string;
  readonly clientId: string;
  readonly scope: string;
  readonly claims: UserClaims;
}

export function mintAccessToken(keys: SealingKeys, grant: AccessGrant, issuer: string): Promise<string> {
  return seal({ sub: grant.sub, cid: grant.clientId, scope: grant.scope, iss: issuer, claims: grant.claims }, "access-token", keys, ACCESS_TOKEN_TTL_SECONDS);
}

/** Open an access token; throws UnsealError when it is expired, forged or not ours. */
export async function readAccessToken(keys: SealingKeys, token: string, issuer: string): Promise<AccessGrant> {
  const p = await unseal(token, "access-token", keys);
  if (p.iss !== issuer || typeof p.sub !== "string" || typeof p.cid !== "string" || typeof p.scope !== "string" || typeof p.claims !== "object" || p.claims === null) {
    throw new UnsealError("invalid");
  }
  return { sub: p.sub, clientId: p.cid, scope: p.scope, claims: p.claims as UserClaims };
}
