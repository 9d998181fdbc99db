// Response builders: JSON with the right caching, OAuth error bodies (RFC 6749 5.2) and HTML pages
// that carry strict security headers. Every response the bridge makes comes from here.
import type { OAuthError } from "./errors";

const NO_STORE = { "Cache-Control": "no-store", Pragma: "no-cache" } as const;

/** Every response says what it is and must not be sniffed as something else. */
const NOSNIFF = ["X-Content-Type-Options", "nosniff"] as const;

export function jsonResponse(body: unknown, init: { status?: number; headers?: HeadersInit; cache?: "no-store" | string } = {}): Response {
  const headers = new Headers(init.headers);
  headers.set("Content-Type", "application/json; charset=utf-8");
  headers.set(...NOSNIFF);
  if (!init.cache || init.cache === "no-store") {
    for (const [k, v] of Object.entries(NO_STORE)) headers.set(k, v);
  } else {
    headers.set("Cache-Control", init.cache);
  }
  return new Response(JSON.stringify(body), { status: init.status ?? 200, headers });
}

/**
 * RFC 6749 section 5.2 error body, with the request's id (the `request_id` of its log line: an operator
 * finds the cause with it); 401s get the challenge the client should answer.
 */
export function oauthErrorResponse(err: OAuthError, requestId: string, challenge?: string): Response {
  const headers = new Headers();
  if (err.status === 401 && challenge) headers.set("WWW-Authenticate", challenge);
  return jsonResponse({ error: err.error, error_description: err.description, request_id: requestId }, { status: err.status, headers });
}

const HTML_SECURITY_HEADERS = {
  "Content-Security-Policy":
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  "X-Frame-Options": "DENY",
  [NOSNIFF[0]]: NOSNIFF[1],
  "Referrer-Policy": "no-referrer",
  "Cache-Control": "no-store",
} as const;

export function securityHeaders(extra?: HeadersInit): Headers {
  const headers = new Headers(extra);
  for (const [k, v] of Object.entries(HTML_SECURITY_HEADERS)) headers.set(k, v);
  return headers;
}

/** Page styles, shared by every page. */
const STYLE = `body{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#1f2328}
h1{font-size:1.5rem}code,pre{background:#f3f4f6;border-radius:4px;padding:.1rem .3rem;word-break:break-all}
pre{padding:.6rem;white-space:pre-wrap}table{border-collapse:collapse}td,th{border:1px solid #d0d7de;padding:.3rem .6rem;text-align:left;vertical-align:top}
.muted{color:#57606a}`;

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The document every page is: our styles, `title`, and `body` (already escaped HTML). */
function htmlDocument(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
${STYLE}
</style></head>
<body>
${body}
</body></html>`;
}

/**
 * A complete HTML page; `body` must already be escaped HTML. `formAction` is an origin the page's forms
 * may post to besides our own (a client's redirect URI, for a form_post response).
 */
export function htmlPage(title: string, body: string, status = 200, options: { formAction?: string } = {}): Response {
  const page = htmlDocument(title, `<h1>${escapeHtml(title)}</h1>
${body}`);
  const headers = securityHeaders({ "Content-Type": "text/html; charset=utf-8" });
  if (options.formAction) headers.set("Content-Security-Policy", HTML_SECURITY_HEADERS["Content-Security-Policy"].replace("form-action 'self'", `form-action 'self' ${options.formAction}`));
  return new Response(page, { status, headers });
}

/** Hidden form fields carrying `params` (undefined ones left out). */
export function hiddenFields(params: Record<string, string | undefined>): string {
  return Object.entries(params)
    .filter((e): e is [string, string] => e[1] !== undefined)
    .map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`)
    .join("");
}

/** The one script the bridge ever runs, allowed by its hash (CSP Level 2) and nothing else. */
export const AUTO_SUBMIT_SCRIPT = "document.forms[0].submit()";
export const AUTO_SUBMIT_SCRIPT_HASH = "sha256-ePniVEkSivX/c7XWBGafqh8tSpiRrKiqYeqbG7N1TOE=";

/**
 * OAuth 2.0 Form Post Response Mode: a page that posts `params` to `action` (a checked redirect URI)
 * by itself, and shows a button for browsers without scripts. The CSP allows only that one script; it
 * sets no form-action, which browsers also apply to the redirects a client's callback answers with.
 */
export function formPostPage(action: string, params: Record<string, string | undefined>): Response {
  const page = htmlDocument(
    "Continue to the application",
    `<form method="post" action="${escapeHtml(action)}">${hiddenFields(params)}
<p>Taking you back to the application. If nothing happens, press Continue.</p>
<button type="submit">Continue</button>
</form>
<script>${AUTO_SUBMIT_SCRIPT}</script>`,
  );
  const headers = securityHeaders({ "Content-Type": "text/html; charset=utf-8" });
  headers.set("Content-Security-Policy", `default-src 'none'; script-src '${AUTO_SUBMIT_SCRIPT_HASH}'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'`);
  return new Response(page, { status: 200, headers });
}

/** The line every error page ends with: the request's id, which its log line carries too. */
export function referenceLine(requestId: string): string {
  return `<p class="muted">Reference: <code>${escapeHtml(requestId)}</code> (give it to the operator of this login service if you ask for help).</p>`;
}

/**
 * The page a browser sees when we must not redirect (RFC 6749 4.1.2.1, OIDC Core 3.1.2.6). `next` is
 * the way on (escaped HTML); by default, back to the application to start again.
 */
export function errorPage(title: string, message: string, requestId: string, status = 400, next = "Go back to the application you came from and start the login again."): Response {
  return htmlPage(
    title,
    `<p>${escapeHtml(message)}</p>
<p>${next}</p>
${referenceLine(requestId)}`,
    status,
  );
}

/** A 302 that never gets cached. */
export function redirect(location: string, headers?: HeadersInit): Response {
  const h = new Headers(headers);
  h.set("Location", location);
  h.set("Cache-Control", "no-store");
  h.set("Referrer-Policy", "no-referrer");
  h.set(...NOSNIFF);
  return new Response(null, { status: 302, headers: h });
}
