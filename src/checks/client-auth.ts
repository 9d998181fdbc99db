// /token client authentication (RFC 6749 2.3.1): client_secret_basic and client_secret_post, one at a
// time, compared in constant time against the stored SHA-256. Cloudflare Access sends Basic
// credentials without the URL-encoding the RFC asks for, so both forms are accepted.
import { base64url } from "jose";
import { findClient, type ClientConfig, type Settings } from "../config";
import { OAuthError } from "../errors";
import { sha256 } from "../codes/random";
import type { Params } from "./params";

export const BASIC_CHALLENGE = 'Basic realm="discord-oidc-bridge", charset="UTF-8"';

interface Credentials {
  readonly clientId: string;
  readonly secret: string;
}

function formDecode(text: string): string | undefined {
  try {
    return decodeURIComponent(text.replace(/\+/g, " "));
  } catch {
    return undefined;
  }
}

/** The candidate readings of a Basic header: as sent, and form-decoded when that differs. */
function basicCandidates(header: string): Credentials[] {
  const match = /^Basic +([A-Za-z0-9+/=_-]+) *$/i.exec(header);
  if (!match?.[1]) throw new OAuthError("invalid_client", "malformed Basic authorization header", { detail: "client_auth_malformed" });
  let decoded: string;
  try {
    decoded = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(Uint8Array.from(atob(match[1]), (c) => c.charCodeAt(0)));
  } catch {
    throw new OAuthError("invalid_client", "malformed Basic authorization header", { detail: "client_auth_malformed" });
  }
  const colon = decoded.indexOf(":");
  if (colon < 0) throw new OAuthError("invalid_client", "malformed Basic authorization header", { detail: "client_auth_malformed" });
  const raw = { clientId: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
  const candidates = [raw];
  const id = formDecode(raw.clientId);
  const secret = formDecode(raw.secret);
  if (id !== undefined && secret !== undefined && (id !== raw.clientId || secret !== raw.secret)) {
    candidates.push({ clientId: id, secret });
  }
  return candidates;
}

async function secretMatches(client: ClientConfig | undefined, secret: string): Promise<boolean> {
  const presented = await sha256(secret);
  // Unknown clients still pay for a comparison, so timing does not reveal which ids exist.
  const stored = client ? base64url.decode(client.clientSecretHash.slice("sha256:".length)) : new Uint8Array(32);
  const same = stored.length === presented.length && crypto.subtle.timingSafeEqual(stored, presented);
  return client !== undefined && same;
}

/** The authenticated client, or an OAuthError("invalid_client" 401 / "invalid_request"). */
export async function authenticateClient(request: Request, params: Params, settings: Settings): Promise<ClientConfig> {
  const header = request.headers.get("Authorization");
  const bodyId = params.values.get("client_id");
  const bodySecret = params.values.get("client_secret");
  let candidates: Credentials[];
  if (header !== null && /^Basic /i.test(header)) {
    if (bodySecret !== undefined) {
      throw new OAuthError("invalid_request", "use one client authentication method, not both Basic and client_secret", { detail: "client_auth_ambiguous" });
    }
    candidates = basicCandidates(header);
    if (bodyId !== undefined && !candidates.some((c) => c.clientId === bodyId)) {
      throw new OAuthError("invalid_client", "client_id does not match the Basic credentials", { detail: "client_id_mismatch" });
    }
  } else if (bodyId !== undefined && bodySecret !== undefined) {
    candidates = [{ clientId: bodyId, secret: bodySecret }];
  } else {
    throw new OAuthError("invalid_client", "client authentication is required (client_secret_basic or client_secret_post)", { detail: "client_auth_missing" });
  }
  for (const candidate of candidates) {
    if (candidate.secret.length > 512) continue;
    const client = findClient(settings, candidate.clientId);
    if (await secretMatches(client, candidate.secret)) return client as ClientConfig;
  }
  throw new OAuthError("invalid_client", "client authentication failed", { detail: "client_auth_failed" });
}
