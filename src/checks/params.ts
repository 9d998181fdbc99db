// Request parameters: from the query (GET) or an x-www-form-urlencoded body (POST). Parameters sent
// more than once are reported (RFC 6749 3.1: they MUST NOT repeat); empty values count as absent.
// A body is read as a stream and refused the moment it passes MAX_BODY_BYTES, whether or not it
// declared a Content-Length: nothing larger is ever buffered or parsed.
import { OAuthError } from "../errors";

/** Far more than any OAuth request needs (a 4 KB request object would be large). */
export const MAX_BODY_BYTES = 64 * 1024;

const tooLarge = () => new OAuthError("invalid_request", `the request body is larger than ${MAX_BODY_BYTES} bytes`, { status: 413, detail: "body_too_large" });

/** The body's bytes, at most `cap` of them; an OAuthError (413) as soon as there are more. */
export async function readBody(request: Request, cap = MAX_BODY_BYTES): Promise<Uint8Array> {
  const declared = request.headers.get("Content-Length");
  if (declared !== null && !(Number(declared) <= cap)) {
    await request.body?.cancel().catch(() => {});
    throw tooLarge();
  }
  if (request.body === null) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > cap) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

/** Whether the request says its body is a form. */
export function isForm(request: Request): boolean {
  return (request.headers.get("Content-Type") ?? "").split(";")[0]?.trim().toLowerCase() === "application/x-www-form-urlencoded";
}

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
  if (!isForm(request)) throw new OAuthError("invalid_request", "the request body must be application/x-www-form-urlencoded", { detail: "body_not_form" });
  return parseParams(new URLSearchParams(new TextDecoder().decode(await readBody(request))));
}

/** Reject a request that repeats any of `names` (or any parameter at all when `names` is omitted). */
export function rejectDuplicates(params: Params, names?: readonly string[]): void {
  const bad = params.duplicates.filter((d) => !names || names.includes(d));
  // The name is the client's: say it only when it is one a client could mean.
  const name = bad[0];
  if (name !== undefined) throw new OAuthError("invalid_request", /^[a-z_]{1,32}$/.test(name) ? `parameter "${name}" must not be repeated` : "a parameter is repeated", { detail: "param_repeated" });
}

/** An optional parameter with a length limit. */
export function optional(params: Params, name: string, maxLength: number): string | undefined {
  const value = params.values.get(name);
  if (value !== undefined && value.length > maxLength) {
    throw new OAuthError("invalid_request", `${name} is longer than ${maxLength} characters`, { detail: "param_too_long" });
  }
  return value;
}

export function required(params: Params, name: string, maxLength: number): string {
  const value = optional(params, name, maxLength);
  if (value === undefined) throw new OAuthError("invalid_request", `${name} is required`, { detail: "param_missing" });
  return value;
}
