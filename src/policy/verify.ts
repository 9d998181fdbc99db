// Verify who is asking: a Cloudflare Access application token (Cf-Access-Jwt-Assertion header or
// CF_Authorization cookie) or an ID token of the bridge (Authorization: Bearer). Signatures are
// checked against the issuer's published keys (jose's remote JWK set, cached), then iss, aud and the
// token's times with a small clock tolerance. Every failure is an AuthError with a stable code.
import { createRemoteJWKSet, customFetch, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from "jose";
import { AuthError, PolicyConfigError } from "./errors.js";
import { toIdentity, type DiscordIdentity } from "./identity.js";

/** Turns a request into a verified identity, or throws AuthError. */
export interface Verifier {
  verify(request: Request): Promise<DiscordIdentity>;
  verifyToken(token: string): Promise<DiscordIdentity>;
}

interface CommonOptions {
  /** Accepted clock difference for exp / nbf / iat, in seconds (default 30). */
  readonly clockToleranceSeconds?: number;
  /** Where the keys come from, instead of the issuer's published set (e.g. jose's createLocalJWKSet). */
  readonly keys?: JWTVerifyGetKey;
  /** The fetch used for the published keys (default: the global fetch). */
  readonly fetch?: typeof fetch;
}

export interface AccessVerifierOptions extends CommonOptions {
  /** Your Zero Trust team: "myteam" or "https://myteam.cloudflareaccess.com". */
  readonly team: string;
  /** The Access application's AUD tag (or several, for several applications): the token must carry one. */
  readonly audience: string | readonly string[];
  /** Default `https://<team>.cloudflareaccess.com/cdn-cgi/access/certs`. */
  readonly certsUrl?: string;
}

export interface BridgeVerifierOptions extends CommonOptions {
  /** The bridge's issuer, exactly as in its discovery document. */
  readonly issuer: string;
  /** Your client id at the bridge. */
  readonly audience: string;
  /** Default `<issuer>/jwks.json`. */
  readonly jwksUrl?: string;
}

const DEFAULT_TOLERANCE = 30;
const ACCESS_HEADER = "Cf-Access-Jwt-Assertion";
const ACCESS_COOKIE = "CF_Authorization";
/** A compact JWS: three base64url parts. Anything longer than this is not a token we issue or accept. */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const MAX_TOKEN_LENGTH = 16_384;

function teamOrigin(team: unknown): string {
  if (typeof team !== "string") throw new PolicyConfigError("team", 'give your Zero Trust team name, e.g. "myteam"');
  const trimmed = team.trim();
  if (/^[a-z0-9-]{1,63}$/i.test(trimmed)) return `https://${trimmed.toLowerCase()}.cloudflareaccess.com`;
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    throw new PolicyConfigError("team", `"${team}" is neither a team name nor a URL like https://myteam.cloudflareaccess.com`);
  }
  if (url.protocol !== "https:" || (url.pathname !== "/" && url.pathname !== "")) {
    throw new PolicyConfigError("team", `"${team}" must be an https origin like https://myteam.cloudflareaccess.com`);
  }
  return url.origin;
}

function checkTolerance(v: number | undefined): number {
  if (v === undefined) return DEFAULT_TOLERANCE;
  if (!Number.isFinite(v) || v < 0 || v > 300) throw new PolicyConfigError("clockToleranceSeconds", "must be a number of seconds from 0 to 300");
  return v;
}

/** https, or http on a loopback host (local tests and tools). */
function checkHttpsUrl(value: unknown, option: string): string {
  const url = typeof value === "string" && URL.canParse(value) ? new URL(value) : undefined;
  const loopback = url && ["localhost", "127.0.0.1", "[::1]"].includes(url.hostname);
  if (!url || !(url.protocol === "https:" || (url.protocol === "http:" && loopback)) || url.username || url.password) {
    throw new PolicyConfigError(option, `"${String(value)}" must be an https URL (http only on localhost)`);
  }
  return value as string;
}

function remoteKeys(url: string, fetchImpl: typeof fetch | undefined): JWTVerifyGetKey {
  return createRemoteJWKSet(new URL(url), {
    cacheMaxAge: 10 * 60_000,
    cooldownDuration: 30_000,
    timeoutDuration: 5_000,
    ...(fetchImpl && { [customFetch]: fetchImpl }),
  });
}

/** jose's errors, in our codes. */
function authError(err: unknown): AuthError {
  if (err instanceof AuthError) return err;
  if (err instanceof errors.JWTExpired) return new AuthError("token_expired", "the token has expired");
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === "nbf" && err.reason === "check_failed") return new AuthError("token_not_yet_valid", "the token is not valid yet");
    if (err.claim === "iss") return new AuthError("wrong_issuer", "the token is from another issuer");
    if (err.claim === "aud") return new AuthError("wrong_audience", "the token is for another application");
    return new AuthError("token_malformed", `the token's ${err.claim} claim is not valid`);
  }
  if (err instanceof errors.JOSEAlgNotAllowed) return new AuthError("alg_not_allowed", "the token's algorithm is not accepted");
  if (err instanceof errors.JWSSignatureVerificationFailed || err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) {
    return new AuthError("bad_signature", "the token's signature does not verify against the issuer's keys");
  }
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid || err instanceof errors.JOSENotSupported) {
    return new AuthError("token_malformed", "the token is not a valid signed JWT");
  }
  // What is left is loading the keys: a timeout, a non-200 or non-JSON answer, a network error.
  return new AuthError("keys_unavailable", "the issuer's keys could not be loaded");
}

function checkShape(token: string): void {
  if (token.length > MAX_TOKEN_LENGTH || !COMPACT_JWS.test(token)) throw new AuthError("token_malformed", "the token is not a compact JWT");
}

function makeVerifier(
  source: DiscordIdentity["source"],
  extract: (request: Request) => string | undefined,
  verifyPayload: (token: string) => Promise<JWTPayload>,
  clockTolerance: number,
): Verifier {
  const verifyToken = async (token: string) => {
    if (typeof token !== "string") throw new AuthError("token_malformed", "the token is not a string");
    checkShape(token);
    let payload: JWTPayload;
    try {
      payload = await verifyPayload(token);
    } catch (err) {
      throw authError(err);
    }
    // jose checks iat only against a maximum age: a token issued in the future is not valid yet either.
    if (payload.iat !== undefined && payload.iat > Date.now() / 1000 + clockTolerance) {
      throw new AuthError("token_not_yet_valid", "the token is not valid yet");
    }
    return toIdentity(payload, source);
  };
  return {
    verifyToken,
    async verify(request) {
      const token = extract(request);
      if (token === undefined) throw new AuthError("token_missing", "no token in the request");
      return verifyToken(token);
    },
  };
}

/** The value of one cookie, or undefined. */
export function cookieValue(request: Request, name: string): string | undefined {
  for (const part of (request.headers.get("Cookie") ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim() || undefined;
  }
  return undefined;
}

/** Verifies Cloudflare Access application tokens for one team and application. */
export function accessVerifier(options: AccessVerifierOptions): Verifier {
  const issuer = teamOrigin(options.team);
  const raw: unknown = options.audience;
  const audience: unknown[] = (typeof raw === "string" ? [raw] : Array.isArray(raw) ? [...raw] : []).map((a) => (typeof a === "string" ? a.trim() : a));
  if (audience.length === 0 || audience.some((a) => typeof a !== "string" || a === "")) {
    throw new PolicyConfigError("audience", "give the Access application's AUD tag (Access, your application, Overview)");
  }
  const clockTolerance = checkTolerance(options.clockToleranceSeconds);
  const keys = options.keys ?? remoteKeys(options.certsUrl === undefined ? `${issuer}/cdn-cgi/access/certs` : checkHttpsUrl(options.certsUrl, "certsUrl"), options.fetch);
  return makeVerifier(
    "access",
    (request) => request.headers.get(ACCESS_HEADER) || cookieValue(request, ACCESS_COOKIE),
    async (token) => (await jwtVerify(token, keys, { issuer, audience: audience as string[], algorithms: ["RS256"], clockTolerance, requiredClaims: ["exp"] })).payload,
    clockTolerance,
  );
}

/** Verifies the bridge's own ID tokens, for apps that log in with the bridge directly. */
export function bridgeVerifier(options: BridgeVerifierOptions): Verifier {
  checkHttpsUrl(options.issuer, "issuer");
  if (typeof options.audience !== "string" || options.audience === "") throw new PolicyConfigError("audience", "give your client id at the bridge");
  const clockTolerance = checkTolerance(options.clockToleranceSeconds);
  const keys = options.keys ?? remoteKeys(options.jwksUrl === undefined ? `${options.issuer.replace(/\/+$/, "")}/jwks.json` : checkHttpsUrl(options.jwksUrl, "jwksUrl"), options.fetch);
  return makeVerifier(
    "bridge",
    (request) => /^Bearer ([^\s]+)$/i.exec(request.headers.get("Authorization") ?? "")?.[1],
    async (token) =>
      (
        await jwtVerify(token, keys, {
          issuer: options.issuer,
          audience: options.audience,
          algorithms: ["ES256", "RS256"],
          clockTolerance,
          requiredClaims: ["sub", "exp", "iat"],
        })
      ).payload,
    clockTolerance,
  );
}
