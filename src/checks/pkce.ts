// PKCE (RFC 7636): S256 only, no downgrade to plain, and no verifier for a code issued without a challenge.
import { base64url } from "jose";
import type { ClientConfig } from "../config";
import { OAuthError } from "../errors";
import { sha256 } from "../codes/random";
import { optional, type Params } from "./params";

const CHALLENGE = /^[A-Za-z0-9_-]{43}$/; // base64url(SHA-256(verifier)), section 4.2
const VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/; // section 4.1

/** At /authorize: the S256 challenge, or undefined when the client sent none (and may send none). */
export function checkChallenge(params: Params, client: ClientConfig): string | undefined {
  const challenge = optional(params, "code_challenge", 128);
  const method = optional(params, "code_challenge_method", 16);
  if (challenge === undefined) {
    if (method !== undefined) throw new OAuthError("invalid_request", "code_challenge_method was sent without code_challenge", { detail: "pkce_method_without_challenge" });
    if (client.requirePkce) throw new OAuthError("invalid_request", "this client must use PKCE (code_challenge with S256)", { detail: "pkce_required" });
    return undefined;
  }
  // A missing method means "plain" (section 4.3), which we do not support.
  if (method !== "S256") throw new OAuthError("invalid_request", "code_challenge_method must be S256", { detail: "pkce_method_unsupported" });
  if (!CHALLENGE.test(challenge)) throw new OAuthError("invalid_request", "code_challenge must be 43 base64url characters", { detail: "pkce_challenge_malformed" });
  return challenge;
}

/** At /token: the verifier must match the challenge the code was issued with (section 4.6). */
export async function verifyPkce(verifier: string | undefined, challenge: string | undefined): Promise<void> {
  if (challenge === undefined) {
    if (verifier !== undefined) throw new OAuthError("invalid_grant", "code_verifier sent for a code issued without code_challenge", { detail: "pkce_verifier_unexpected" });
    return;
  }
  if (verifier === undefined) throw new OAuthError("invalid_grant", "code_verifier is required for this code", { detail: "pkce_verifier_missing" });
  if (!VERIFIER.test(verifier)) throw new OAuthError("invalid_grant", "code_verifier must be 43-128 unreserved characters", { detail: "pkce_verifier_malformed" });
  const computed = base64url.encode(await sha256(verifier));
  if (computed !== challenge) throw new OAuthError("invalid_grant", "code_verifier does not match code_challenge", { detail: "pkce_verifier_mismatch" });
}

/**
 * What the code store needs to know of the verifier to tell, in the same request that takes the code,
 * whether `verifyPkce` will pass (and so whether the login completes): whether one was sent, and the
 * S256 of a well-formed one (null for a malformed one).
 */
export type VerifierProof = { readonly sent: false } | { readonly sent: true; readonly s256: string | null };

export async function verifierProof(verifier: string | undefined): Promise<VerifierProof> {
  if (verifier === undefined) return { sent: false };
  return { sent: true, s256: VERIFIER.test(verifier) ? base64url.encode(await sha256(verifier)) : null };
}

/** `verifyPkce(verifier, challenge)` passes exactly when this is true for `verifierProof(verifier)`. */
export function proofMatches(proof: VerifierProof, challenge: string | undefined): boolean {
  return challenge === undefined ? !proof.sent : proof.sent && proof.s256 === challenge;
}
