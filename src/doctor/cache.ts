// The self-check's remote part runs at most once per DOCTOR_TTL_MS for a configuration, whoever asks:
// a memo in the isolate, then the Cache API (this location), then a gate in the CodeStore Durable
// Object (global: one run, its result shared). The key is a hash of the configuration, secrets
// included, so a fixed secret is checked afresh at once, and no key reveals anything. No KV writes.
import type { RequestContext } from "../context";
import { base64url } from "jose";
import type { Check } from "./check";
import { runRemoteChecks, type RemoteReport } from "./run";

export const DOCTOR_TTL_MS = 5 * 60_000;
/** How long an isolate keeps an answer it did not make itself before asking again (bounds DO calls). */
const SHORT_MS = 10_000;

export type Source = "run" | "isolate" | "cache" | "store" | "busy";

const memo = new Map<string, { expires: number; value: Promise<{ report: RemoteReport; source: Source }> }>();

async function fingerprintOf(ctx: RequestContext): Promise<string> {
  const data = new TextEncoder().encode(JSON.stringify([ctx.issuer, ctx.settings]));
  return base64url.encode(new Uint8Array(await crypto.subtle.digest("SHA-256", data)).slice(0, 16));
}

const busy = (): RemoteReport => ({
  checkedAt: new Date().toISOString(),
  checks: [{ id: "discord", status: "skipped", message: "another self-check of this configuration is running right now; try again in a few seconds" } satisfies Check],
  keys: [],
  discordCalls: 0,
});

async function fromCacheApi(key: Request): Promise<RemoteReport | undefined> {
  try {
    const hit = await caches.default.match(key);
    return hit ? ((await hit.json()) as RemoteReport) : undefined;
  } catch {
    return undefined;
  }
}

function toCacheApi(ctx: RequestContext, key: Request, report: RemoteReport): void {
  const seconds = Math.floor((Date.parse(report.checkedAt) + DOCTOR_TTL_MS - Date.now()) / 1000);
  if (seconds <= 0) return;
  const response = new Response(JSON.stringify(report), { headers: { "Content-Type": "application/json", "Cache-Control": `max-age=${seconds}` } });
  ctx.exec.waitUntil(caches.default.put(key, response).catch(() => undefined));
}

async function lookUp(ctx: RequestContext, fingerprint: string): Promise<{ report: RemoteReport; source: Source }> {
  const key = new Request(`${ctx.issuer}/doctor?run=${fingerprint}`);
  const cached = await fromCacheApi(key);
  if (cached) return { report: cached, source: "cache" };
  const store = ctx.env.CODES.getByName("codes");
  let codeStore = true;
  try {
    const gate = await store.doctorGate(fingerprint, DOCTOR_TTL_MS);
    if (!gate.run) {
      if (gate.result === null) return { report: busy(), source: "busy" };
      const report = JSON.parse(gate.result) as RemoteReport;
      toCacheApi(ctx, key, report);
      return { report, source: "store" };
    }
  } catch {
    // The CodeStore is down: the storage check says so. The isolate memo still bounds the runs.
    codeStore = false;
  }
  const report = await runRemoteChecks(ctx, codeStore);
  if (codeStore) ctx.exec.waitUntil(store.doctorSave(fingerprint, JSON.stringify(report)).catch(() => undefined));
  toCacheApi(ctx, key, report);
  return { report, source: "run" };
}

/** The remote report for this configuration, and where it came from ("run": this request made it). */
export async function remoteReport(ctx: RequestContext): Promise<{ report: RemoteReport; source: Source }> {
  const fingerprint = await fingerprintOf(ctx);
  const now = Date.now();
  const hit = memo.get(fingerprint);
  if (hit && hit.expires > now) return { report: (await hit.value).report, source: "isolate" };
  for (const [k, v] of memo) if (v.expires <= now) memo.delete(k);
  const value = lookUp(ctx, fingerprint);
  memo.set(fingerprint, { expires: now + SHORT_MS, value });
  try {
    const result = await value;
    const expires = result.source === "busy" ? now + SHORT_MS : Math.max(Date.parse(result.report.checkedAt) + DOCTOR_TTL_MS, now + SHORT_MS);
    if (memo.get(fingerprint)?.value === value) memo.set(fingerprint, { expires, value });
    return result;
  } catch (err) {
    if (memo.get(fingerprint)?.value === value) memo.delete(fingerprint);
    throw err;
  }
}

/** For tests: forget this isolate's memo (the Cache API and the CodeStore's gate still remember). */
export function clearDoctorMemo(): void {
  memo.clear();
}
