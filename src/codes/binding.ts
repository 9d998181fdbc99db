// Browser binding: a random value in a short-lived HttpOnly cookie, also sealed into the state sent to
// Discord, so a callback only completes in the browser that started the login (RFC 6819 4.4.1.8).
// Concurrent logins in several tabs share one value, so none overwrites another.
import { randomToken } from "./random";

const SECURE_NAME = "__Host-dob_bind";
const LOCAL_NAME = "dob_bind";
const VALUE = /^[A-Za-z0-9_-]{22}$/;

function cookieValue(request: Request, name: string): string | undefined {
  const header = request.headers.get("Cookie");
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function nameFor(origin: string): string {
  return origin.startsWith("https://") ? SECURE_NAME : LOCAL_NAME;
}

/**
 * The browser's binding value: the existing cookie's, or a new one. Only the cookie name that fits the
 * issuer is read: a plain `dob_bind` can be planted from a sibling subdomain or over http, and adopting
 * it would let an attacker bind a victim's login to the attacker's browser (login CSRF).
 */
export function readBinding(request: Request, issuer: string): { value: string; fresh: boolean } {
  const existing = cookieValue(request, nameFor(issuer));
  if (existing !== undefined && VALUE.test(existing)) return { value: existing, fresh: false };
  return { value: randomToken(16), fresh: true };
}

/** The binding value the callback request carries, if any. */
export function bindingFrom(request: Request, issuer: string): string | undefined {
  return cookieValue(request, nameFor(issuer));
}

export function bindingCookie(value: string, issuer: string, maxAgeSeconds: number): string {
  const secure = issuer.startsWith("https://");
  // SameSite=Lax: the cookie must ride on Discord's top-level redirect back to /callback.
  return `${nameFor(issuer)}=${value}; Path=/; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Lax${secure ? "; Secure" : ""}`;
}
