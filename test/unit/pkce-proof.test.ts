// The code store decides whether a redeemed code completes a login (and so goes into the ledger) from
// verifierProof/proofMatches; /token decides with verifyPkce. They must agree on every case.
import { base64url } from "jose";
import { describe, expect, it } from "vitest";
import { proofMatches, verifierProof, verifyPkce } from "../../src/checks/pkce";
import { sha256 } from "../../src/codes/random";

const VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"; // RFC 7636 appendix B
const SHORT = "a".repeat(42); // malformed, yet a client could have sent its S256 as the challenge

describe("proofMatches agrees with verifyPkce", async () => {
  const shortChallenge = base64url.encode(await sha256(SHORT));
  const challenges = [undefined, CHALLENGE, shortChallenge, "x".repeat(43)];
  const verifiers = [undefined, VERIFIER, VERIFIER.replace("d", "e"), SHORT, "", "a".repeat(129), "a b".repeat(20)];
  for (const challenge of challenges) {
    for (const verifier of verifiers) {
      it(`challenge ${challenge?.slice(0, 8) ?? "none"}, verifier ${verifier === undefined ? "none" : JSON.stringify(verifier.slice(0, 8))}`, async () => {
        const passes = await verifyPkce(verifier, challenge).then(() => true, () => false);
        expect(proofMatches(await verifierProof(verifier), challenge)).toBe(passes);
      });
    }
  }

  it("includes both verdicts", async () => {
    expect(proofMatches(await verifierProof(VERIFIER), CHALLENGE)).toBe(true);
    expect(proofMatches(await verifierProof(SHORT), shortChallenge)).toBe(false);
  });
});
