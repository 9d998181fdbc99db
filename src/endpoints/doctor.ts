// GET /doctor: the bridge's self-check, as JSON: { ok, checkedAt, cached, issuer, checks: [{ id, status,
// message, fix? }], keys, discordCalls }. What costs nothing (the configuration, the issuer, the clients'
// redirect URIs) is checked on every request; what calls Discord or storage runs at most once every 5
// minutes per configuration (src/doctor/cache.ts). No secret, token or Discord body is ever in it.
// `npm run doctor` prints it; README "Self-check" lists every check and its fix.
import type { RequestContext } from "../context";
import { remoteReport, DOCTOR_TTL_MS } from "../doctor/cache";
import { ok, type Check } from "../doctor/check";
import { checkClients } from "../doctor/clients";
import { checkIssuer } from "../doctor/issuer";
import { jsonResponse } from "../http";

const count = (checks: readonly Check[], status: Check["status"]) => checks.filter((c) => c.status === status).length;

export async function doctor(request: Request, ctx: RequestContext): Promise<Response> {
  const { settings, issuer } = ctx;
  const { report, source } = await remoteReport(ctx);
  const checks: Check[] = [
    ok("config", `config.json and the Worker's vars and secrets are valid: ${settings.clients.length} client(s), Discord application ${settings.discord.clientId}`),
    checkIssuer(settings, issuer, request),
    ...report.checks,
    ...checkClients(settings, issuer),
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
  return jsonResponse(
    {
      ok: count(checks, "fail") === 0,
      issuer,
      checkedAt: report.checkedAt,
      cached: source !== "run",
      nextRunAfter: new Date(Date.parse(report.checkedAt) + DOCTOR_TTL_MS).toISOString(),
      checks,
      keys: report.keys,
      discordCalls: report.discordCalls,
    },
  );
}

/** The answer of a bridge whose configuration is invalid: which field is in the log, not here. */
export function doctorNotSetUp(reason: "config_invalid" | "issuer_missing"): Response {
  const check: Check =
    reason === "config_invalid"
      ? { id: "config", status: "fail", message: "the configuration (config.json, or a Worker var or secret) is invalid: every request gets a 503; the Worker's log names the field (event config_invalid)", fix: "run `npm run check`, correct what it names, then `npm run deploy` (a missing secret: `npx wrangler secret put DISCORD_CLIENT_SECRET`)" }
      : { id: "issuer", status: "fail", message: "config.json has no issuer, so a deployed bridge answers no request", fix: "set issuer in config.json to the origin the Worker is served at (`npm run client -- add ... --issuer <origin>` or by hand), then `npm run deploy`" };
  return jsonResponse({ ok: false, checkedAt: new Date().toISOString(), cached: false, checks: [check], keys: [], discordCalls: 0 }, { status: 503 });
}
