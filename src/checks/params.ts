// Request parameters: from the query (GET) or an x-www-form-urlencoded body (POST). Parameters sent
// more than once are reported (RFC 6749 3.1: they MUST NOT repeat); empty values count as absent.
import { OAuthError } from "../errors";

const MAX_BODY_BYTES = 64 * 1024;

export interface Params {
  readonly values: ReadonlyMap<string, string>;
  /** Names that appeared more than once. */
  readonly duplicates: readonly string[];
}

export function parseParams(search: URLSearchParams): Params {
  const values = new Map<string, string>();
  const duplicates = new Set<string>();
  const seen = new Set<string>();
  for (const [name, value] of search) {
    if (seen.has(name)) duplicates.add(name);
    seen.add(name);
    if (value !== "") values.set(name, value);
  }
  for (const name of duplicates) values.delete(name);
  return { values, duplicates: [...duplicates] };
}

/** Parameters of a GET (query) or POST (form body) request. */
export async function readParams(request: Request): Promise<Params> {
  if (request.method === "GET" || request.method === "HEAD") return parseParams(new URL(request.url).searchParams);
  const type = (request.headers.get("Content-Type") ?? "").split(";")[0]?.trim().toLowerCase();
  if (type !== "application/x-www-form-urlencoded") {
    throw new OAuthError("invalid_request", "the request body must be application/x-www-form-urlencoded");
  }
  const declared = Number(request.headers.get("Content-Length") ?? "0");
  if (declared > MAX_BODY_BYTES) throw new OAuthError("invalid_request", "the request body is too large");
  const bytes = await request.arrayBuffer();
  if (bytes.byteLength > MAX_BODY_BYTES) throw new OAuthError("invalid_request", "the request body is too large");
  return parseParams(new URLSearchParams(new TextDecoder().decode(bytes)));
}

/** Reject a request that repeats any of `names` (or any parameter at all when `names` is omitted). */
export function rejectDuplicates(params: Params, names?: readonly string[]): void {
  const bad = params.duplicates.filter((d) => !names || names.includes(d));
  if (bad.length > 0) throw new OAuthError("invalid_request", `parameter "${bad[0]}" must not be repeated`);
}

/** An optional parameter with a length limit. */
export function optional(params: Params, name: string, maxLength: number): string | undefined {
  const value = params.values.get(name);
  if (value !== undefined && value.length > maxLength) {
    throw new OAuthError("invalid_request", `${name} is longer than ${maxLength} characters`);
  }
  return value;
}

export function required(params: Params, name: string, maxLength: number): string {
  const value = optional(params, name, maxLength);
  if (value === undefined) throw new OAuthError("invalid_request", `${name} is required`);
  return value;
}
