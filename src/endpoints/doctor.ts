// GET /doctor: the bridge's self-check, as JSON: { ok, checkedAt, cached, issuer, checks: [{ id, status,
// message, fix? }], keys, discordCalls }, or as a page for a browser (the landing page links it). What costs nothing (the configuration, the issuer, the clients'
// redirect URIs) is checked on every request; what calls Discord or storage runs at most once every 5
// minutes per configuration (src/doctor/cache.ts). No secret, token or Discord body is ever in it.
// `npm run doctor` prints it; README "Self-check" lists every check and its fix.
import type { RequestContext } from "../context";
import { remoteReport, DOCTOR_TTL_MS } from "../doctor/cache";
import { ok, type Check } from "../doctor/check";
import { checkClients, withoutClientNames } from "../doctor/clients";
import { checkIssuer } from "../doctor/issuer";
import { escapeHtml, htmlPage, jsonResponse } from "../http";

const count = (checks: readonly Check[], status: Check["status"]) => checks.filter((c) => c.status === status).length;

export async function doctor(request: Request, ctx: RequestContext): Promise<Response> {
  const { settings, issuer } = ctx;
  const { report, source } = await remoteReport(ctx);
  const checks: Check[] = [
    ok("config", `config.json and the Worker's vars and secrets are valid: ${settings.clients.length} client(s), Discord application ${settings.discord.clientId}`),
    checkIssuer(settings, issuer, request),
    ...report.checks,
    ...(settings.landingPage === "full" ? checkClients(settings, issuer) : withoutClientNames(checkClients(settings, issuer), settings.landingPage)),
  ];
  if (source === "run") {
    console.log(
      JSON.stringify({
        event: "doctor",
        ok: count(checks, "ok"),
        warn: count(checks, "warn"),
        fail: count(checks, "fail"),
        skipped: count(checks, "skipped"),
        failed: checks.filter((c) => c.status === "fail").map((c) => c.id),
        discord_calls: report.discordCalls,
        request_id: ctx.requestId,
        time: new Date().toISOString(),
      }),
    );
  }
  const answer = {
    ok: count(checks, "fail") === 0,
    issuer,
    checkedAt: report.checkedAt,
    cached: source !== "run",
    nextRunAfter: new Date(Date.parse(report.checkedAt) + DOCTOR_TTL_MS).toISOString(),
    checks,
    keys: report.keys,
    discordCalls: report.discordCalls,
  };
  if (prefersHtml(request)) return page(answer);
  return jsonResponse(answer);
}

const MARK: Record<Check["status"], string> = { ok: "✔", warn: "⚠", fail: "✘", skipped: "–" };

/** A browser's navigation asks for HTML first; `npm run doctor` and scripts ask for JSON. */
function prefersHtml(request: Request): boolean {
  const accept = request.headers.get("Accept") ?? "";
  return accept.includes("text/html") && !accept.startsWith("application/json");
}

function page(answer: { ok: boolean; issuer: string; checkedAt: string; nextRunAfter: string; checks: readonly Check[] }): Response {
  const rows = answer.checks
    .map((c) => `<tr><td>${MARK[c.status]}</td><td><code>${escapeHtml(c.id)}</code></td><td>${escapeHtml(c.message)}${c.fix ? `<br><strong>Fix:</strong> ${escapeHtml(c.fix)}` : ""}</td></tr>`)
    .join("\n");
  return htmlPage(
    "Self-check",
    `<p>${answer.ok ? "No problem found." : `${count(answer.checks, "fail")} problem(s): see the fixes below.`}</p>
<table>
<tr><th></th><th>check</th><th>result</th></tr>
${rows}
</table>
<p class="muted">Checked at ${escapeHtml(answer.checkedAt)}; the checks that call Discord run again after ${escapeHtml(answer.nextRunAfter)}. The same as JSON: <code>curl ${escapeHtml(answer.issuer)}/doctor</code>; with the checks only your machine can make: <code>npm run doctor -- --remote</code>.</p>`,
  );
}

/** The answer of a bridge whose configuration is invalid: which field is in the log, not here. */
export function doctorNotSetUp(reason: "config_invalid" | "issuer_missing", requestId: string): Response {
  const check: Check =
    reason === "config_invalid"
      ? { id: "config", status: "fail", message: "the configuration (config.json, or a Worker var or secret) is invalid: every request gets a 503; the Worker's log names the field (event config_invalid)", fix: "run `npm run check`, correct what it names, then `npm run deploy` (a missing secret: `npx wrangler secret put DISCORD_CLIENT_SECRET`)" }
      : { id: "issuer", status: "fail", message: "config.json has no issuer, so a deployed bridge answers no request", fix: "set issuer in config.json to the origin the Worker is served at (`npm run client -- add ... --issuer <origin>` or by hand), then `npm run deploy`" };
  return jsonResponse({ ok: false, checkedAt: new Date().toISOString(), cached: false, checks: [check], keys: [], discordCalls: 0, request_id: requestId }, { status: 503 });
}
