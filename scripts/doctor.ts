// `npm run doctor [-- --remote] [--config <path>] [--url <origin>]`: the self-check. Validates the
// configuration as `npm run check` does, then asks the running bridge (local: http://127.0.0.1:8787,
// where `npm start` and `npm run dev` serve; --remote: the configured issuer): its discovery must name
// the issuer, its /doctor checks what only the Worker can (Discord secret, redirect, bot, storage,
// keys), and its /jwks.json must carry every key /doctor reports in use or next. Prints each check with
// its fix; exit 0 when nothing fails, 1 when something does, 2 for a usage error.
import { existsSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { parseArgs } from "node:util";
import { validateConfig, type BridgeConfig } from "../src/config.ts";
import { checkClients } from "../src/doctor/clients.ts";
import { ConfigError } from "../src/errors.ts";
import { consoleIo, runCheck, type Io } from "./check.ts";
import { DEFAULT_CONFIG, FileProblem, readJsonFile } from "./lib/config-file.ts";
import { isMain } from "./lib/main.ts";

const USAGE = `usage: npm run doctor [-- [--remote] [--config <path>] [--url <origin>]]
  --remote         check the deployed bridge at the configured issuer (and the full deploy checks)
  --config <path>  the configuration file (default: $BRIDGE_CONFIG, else config.json)
  --url <origin>   where the bridge answers (default: http://127.0.0.1:8787 locally, the issuer with --remote)`;

export const LOCAL_URL = "http://127.0.0.1:8787";
/** /doctor may wait on Discord (each call has its own timeout, 5 s by default, some in sequence). */
const DOCTOR_TIMEOUT_MS = 30_000;
const FETCH_TIMEOUT_MS = 10_000;

type Status = "ok" | "warn" | "fail" | "skipped";
interface Check {
  readonly id: string;
  readonly status: Status;
  readonly message: string;
  readonly fix?: string;
}
interface DoctorAnswer {
  readonly ok?: boolean;
  readonly checkedAt?: string;
  readonly cached?: boolean;
  readonly nextRunAfter?: string;
  readonly checks?: readonly Check[];
  readonly keys?: readonly { kid: string; alg: string; status: string }[];
}

const MARK: Record<Status, string> = { ok: "✔", warn: "⚠", fail: "✘", skipped: "–" };

/** Why a fetch failed, in a few words (no stack). */
function why(err: unknown): string {
  if (err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError")) return "no answer in time";
  const cause = err instanceof Error ? (err.cause as { code?: string; message?: string } | undefined) : undefined;
  const code = cause?.code;
  if (code === "ECONNREFUSED") return "connection refused";
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return "host not found";
  if (code) return code;
  return (cause?.message ?? (err instanceof Error ? err.message : String(err))).split("\n")[0]!.slice(0, 200);
}

class Unreachable extends Error {}

async function getJson(url: string, timeoutMs: number): Promise<{ status: number; json: unknown }> {
  let res: Response;
  try {
    res = await fetch(url, { headers: { Accept: "application/json" }, redirect: "manual", signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    throw new Unreachable(why(err));
  }
  let json: unknown;
  try {
    json = await res.json();
  } catch {
    json = undefined;
  }
  return { status: res.status, json };
}

function print(io: Io, check: Check): void {
  const line = `${MARK[check.status]} ${check.message}`;
  if (check.status === "fail") io.err(line);
  else io.out(line);
  if (check.fix) (check.status === "fail" ? io.err : io.out)(`  → ${check.fix}`);
}

/** An http(s) origin, or undefined. */
function origin(value: string): string | undefined {
  try {
    const url = new URL(value);
    return (url.protocol === "https:" || url.protocol === "http:") && url.origin === value.replace(/\/+$/, "") ? url.origin : undefined;
  } catch {
    return undefined;
  }
}

export async function runDoctor(args: readonly string[], io: Io = consoleIo, cwd = "."): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: [...args], allowPositionals: false, options: { remote: { type: "boolean" }, config: { type: "string" }, url: { type: "string" }, help: { type: "boolean", short: "h" } } });
  } catch (err) {
    if (!(err instanceof TypeError && "code" in err && String(err.code).startsWith("ERR_PARSE_ARGS"))) throw err;
    io.err(`✘ ${err.message}`);
    io.err(USAGE);
    return 2;
  }
  const { values } = parsed;
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  const remote = values.remote === true;
  if (values.url !== undefined && origin(values.url) === undefined) {
    io.err(`✘ --url must be an origin such as https://auth.example.org (no path), got ${JSON.stringify(values.url)}`);
    io.err(USAGE);
    return 2;
  }
  let failed = 0;

  // 1. The configuration, with the same code as `npm run check` (--local unless --remote).
  const named = values.config ?? process.env.BRIDGE_CONFIG;
  const path = named ?? DEFAULT_CONFIG;
  const fullPath = isAbsolute(path) ? path : join(cwd, path);
  let configuredIssuer: string | undefined;
  let config: BridgeConfig | undefined;
  if (!remote && named === undefined && !existsSync(fullPath)) {
    io.out(`⚠ no ${path}: only the running bridge is checked (\`npm start\` runs dev/config.json)`);
  } else {
    if (runCheck([...(remote ? [] : ["--local"]), path], io, cwd) !== 0) failed++;
    try {
      const raw = readJsonFile(fullPath) as { issuer?: unknown } | null;
      if (typeof raw?.issuer === "string") configuredIssuer = raw.issuer;
      config = validateConfig(raw);
    } catch (err) {
      if (!(err instanceof FileProblem) && !(err instanceof ConfigError)) throw err;
    }
  }

  const base = values.url !== undefined ? origin(values.url)! : remote ? configuredIssuer?.replace(/\/+$/, "") : LOCAL_URL;
  if (base === undefined) {
    io.err(`✘ --remote checks the bridge at its issuer, and ${path} names none: set issuer in ${path}, or pass --url <origin>`);
    return 1;
  }

  try {
    // 2. Discovery, served where the issuer says, names that issuer.
    const discovery = await getJson(`${base}/.well-known/openid-configuration`, FETCH_TIMEOUT_MS);
    const served = (discovery.json as { issuer?: unknown } | undefined)?.issuer;
    const expected = remote ? [configuredIssuer ?? base] : [base, ...(configuredIssuer !== undefined ? [configuredIssuer] : [])];
    if (discovery.status !== 200 || typeof served !== "string") {
      print(io, { id: "discovery", status: "fail", message: `${base}/.well-known/openid-configuration answered HTTP ${discovery.status} without an issuer: this is not the bridge, or it is not set up`, fix: `check that ${base} is routed to the Worker (Workers, Settings, Domains & Routes) and see its /doctor or its log` });
      failed++;
    } else if (!expected.includes(served)) {
      print(io, { id: "discovery", status: "fail", message: `discovery at ${base} names the issuer ${served}, not ${expected.join(" or ")}: clients reject every token (iss mismatch)`, fix: `deploy the configuration you checked (\`npm run deploy\`), or set issuer in ${path} to ${served}` });
      failed++;
    } else {
      print(io, { id: "discovery", status: "ok", message: `discovery at ${base} names the issuer ${served}` });
    }

    // 3. What only the Worker can check.
    const doctor = await getJson(`${base}/doctor`, DOCTOR_TIMEOUT_MS);
    const answer = doctor.json as DoctorAnswer | undefined;
    if (!answer || !Array.isArray(answer.checks)) {
      print(io, { id: "doctor", status: "fail", message: `${base}/doctor answered HTTP ${doctor.status} without a self-check: the bridge there predates it`, fix: "deploy this version with `npm run deploy`" });
      return 1;
    }
    // The clients are checked here from config.json (the bridge may keep their names private).
    const clientCheck = (id: string) => id === "clients" || id.startsWith("client:");
    const checks = config ? [...answer.checks.filter((c) => !clientCheck(c.id)), ...checkClients(config, base)] : answer.checks;
    for (const check of checks) {
      print(io, check);
      if (check.status === "fail") failed++;
    }
    if (answer.cached && answer.checkedAt) io.out(`  (the bridge's own checks ran at ${answer.checkedAt}; they run again after ${answer.nextRunAfter ?? "5 minutes"})`);

    // 4. Every key in use or next is in the JWKS verifiers fetch.
    const wanted = (answer.keys ?? []).filter((k) => k.status === "current" || k.status === "next");
    if (wanted.length > 0) {
      const jwks = await getJson(`${base}/jwks.json`, FETCH_TIMEOUT_MS);
      const kids = new Set(((jwks.json as { keys?: { kid?: unknown }[] } | undefined)?.keys ?? []).map((k) => k.kid));
      const missing = wanted.filter((k) => !kids.has(k.kid));
      const missingCurrent = missing.filter((k) => k.status === "current");
      if (missingCurrent.length > 0) {
        print(io, { id: "jwks", status: "fail", message: `${base}/jwks.json lacks the key(s) in use ${missingCurrent.map((k) => `${k.kid} (${k.alg})`).join(", ")}: verifiers reject every new token`, fix: "wait a minute for the Worker's key cache and try again; if it persists, see the Worker's log for keys.import or keys_warning" });
        failed++;
      } else if (missing.length > 0) {
        print(io, { id: "jwks", status: "warn", message: `${base}/jwks.json does not show the next key(s) ${missing.map((k) => `${k.kid} (${k.alg})`).join(", ")} yet`, fix: "caches refresh within the JWKS max-age (a quarter of keys.leadTimeHours, at most an hour); run the check again later" });
      } else {
        print(io, { id: "jwks", status: "ok", message: `${base}/jwks.json carries the ${wanted.length} key(s) in use or next` });
      }
    }
  } catch (err) {
    if (!(err instanceof Unreachable)) throw err;
    io.err(`✘ cannot reach the bridge at ${base}: ${err.message}; ${remote ? "is it deployed (`npm run deploy`) and is the issuer routed to it?" : "start it with `npm start` or `npm run dev`, or pass --url <origin>"}`);
    return 1;
  }

  if (failed > 0) {
    io.err(`✘ ${failed} problem(s): fix what is marked ✘ above, then run the self-check again`);
    return 1;
  }
  io.out("✔ no problem found");
  return 0;
}

if (isMain(import.meta.url)) {
  runDoctor(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(`✘ ${err instanceof Error ? err.message : String(err)}`);
      process.exitCode = 1;
    },
  );
}
