// Shared by the policy tests: real keys and tokens made with jose, shaped like Cloudflare Access
// application tokens (RS256, iss https://<team>.cloudflareaccess.com, aud [AUD tag]) and like the
// bridge's ID tokens (ES256 or RS256, iss the bridge, aud the client id, sub the Discord user id).
import { SignJWT, createLocalJWKSet, exportJWK, generateKeyPair, type CryptoKey, type JSONWebKeySet, type JWK, type JWTPayload, type JWTVerifyGetKey } from "jose";
import { FAKE_USERS } from "../helpers/fake-discord";

export const TEAM = "testteam";
export const ACCESS_ISSUER = "https://testteam.cloudflareaccess.com";
export const ACCESS_CERTS = "https://testteam.cloudflareaccess.com/cdn-cgi/access/certs";
/** Access AUD tags are 64 hex characters. */
export const AUD = "4714c1358e65fe4b408ad6d432a5f878f08194bdb4752441fd56faefa9b2b6f2";
export const AUD2 = "0b8f5c7a3e2d1f4a6b9c8d7e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c";
export const BRIDGE_ISSUER = "https://auth.bridge.test";
export const CLIENT_ID = "notes-app";

export const alice = FAKE_USERS.alice!;
export const bob = FAKE_USERS.bob!;

export interface TestKey {
  readonly alg: "RS256" | "ES256";
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
}

export async function makeKey(alg: "RS256" | "ES256", kid: string): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg);
  return { alg, kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: "sig" } };
}

export function jwksOf(...keys: TestKey[]): JSONWebKeySet {
  return { keys: keys.map((k) => k.publicJwk) };
}

export function localKeys(...keys: TestKey[]): JWTVerifyGetKey {
  return createLocalJWKSet(jwksOf(...keys));
}

export const now = (): number => Math.floor(Date.now() / 1000);

/** Sign exactly these claims (nothing added) with this key. */
export function sign(key: TestKey, claims: JWTPayload, header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: "JWT", ...header }).sign(key.privateKey);
}

/** The claims of an Access application token for our application, the bridge's claims in `custom`. */
export function accessClaims(custom: Record<string, unknown> = {}, top: JWTPayload = {}): JWTPayload {
  const t = now();
  return {
    iss: ACCESS_ISSUER,
    aud: [AUD],
    sub: "7335d417-61da-459d-899c-0a01c76a2f94",
    email: "alice@example.com",
    type: "app",
    identity_nonce: "6ei69kawdKzMIAPF",
    country: "US",
    iat: t,
    nbf: t,
    exp: t + 600,
    custom,
    ...top,
  };
}

/** The bridge's claims for alice, as Access would copy them. */
export const ALICE_CLAIMS = { id: alice.id, preferred_username: alice.username } as const;

/** The claims of a bridge ID token for our client. */
export function bridgeClaims(extra: JWTPayload = {}): JWTPayload {
  const t = now();
  return { iss: BRIDGE_ISSUER, aud: CLIENT_ID, sub: alice.id, iat: t, exp: t + 300, preferred_username: alice.username, ...extra };
}

const b64url = (s: string) => btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

/** An unsigned token: `alg: none`, empty signature. */
export function unsignedToken(claims: JWTPayload): string {
  return `${b64url(JSON.stringify({ alg: "none", typ: "JWT" }))}.${b64url(JSON.stringify(claims))}.`;
}

/** The same token with its payload replaced (the signature kept). */
export function withPayload(token: string, claims: JWTPayload): string {
  const [header, , signature] = token.split(".");
  return `${header}.${b64url(JSON.stringify(claims))}.${signature}`;
}

export function accessRequest(token: string, path = "/notes"): Request {
  return new Request(`https://notes.example.com${path}`, { headers: { "Cf-Access-Jwt-Assertion": token } });
}
