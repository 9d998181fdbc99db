// Shared by the benchmarks: bundle the Worker as `wrangler deploy` would, run it in Miniflare with the
// fake Discord, read the workerd process's own CPU time from /proc, and the login steps (authorize,
// callback, token) as a client makes them. Linux only.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { Miniflare } from "miniflare";
import { FAKE_DISCORD_CLIENT_SECRET, FakeDiscord } from "../test/helpers/fake-discord.ts";

export const ISSUER = "https://bridge.test";
export const TICK_MS = 1000 / Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim());
export const ACCESS_BASIC = `Basic ${btoa("access:access-secret-with:colon%and+plus")}`;
export const REDIRECT = "https://team.cloudflareaccess.com/cdn-cgi/access/callback";
export const VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
export const CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
export const LEGACY = { basic: `Basic ${btoa("legacy-rs:legacy-secret-0123456789")}`, redirect: "https://legacy.example.com/oauth/callback" };

/** Bundles test/fixtures/worker.ts into dist/worker.js; returns its size in bytes. */
export function bundleWorker(): number {
  execFileSync("npx", ["wrangler", "deploy", "--dry-run", "--outdir", "dist", "test/fixtures/worker.ts"], {
    stdio: "ignore",
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
  });
  return statSync("dist/worker.js").size;
}

/** The bundled Worker in Miniflare, its outbound fetches answered by the fake Discord. */
export async function startBridge(): Promise<Miniflare> {
  const discord = new FakeDiscord();
  const mf = new Miniflare({
    modules: true,
    scriptPath: "dist/worker.js",
    compatibilityDate: "2026-04-01",
    kvNamespaces: ["KV"],
    durableObjects: { CODES: { className: "CodeStore", useSQLite: true }, KEYS: { className: "KeyKeeper", useSQLite: true } },
    bindings: {
      DISCORD_CLIENT_SECRET: FAKE_DISCORD_CLIENT_SECRET,
      DISCORD_API_BASE: "https://discord.test/api/v10",
      DISCORD_AUTHORIZE_URL: "https://discord.test/oauth2/authorize",
    },
    outboundService: (request) => discord.fetch(request as unknown as Request) as never,
    unsafeTriggerHandlers: true, // /cdn-cgi/handler/scheduled runs the cron handler
    // The Worker's login log lines would drown the table.
    handleRuntimeStdio: (stdout, stderr) => {
      stdout.resume();
      stderr.resume();
    },
  });
  await mf.ready;
  return mf;
}

/** The workerd processes started by this process. */
export function workerdPids(): string[] {
  const pids: string[] = [];
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (stat.includes("(workerd)") && Number(fields[1]) === process.pid) pids.push(pid);
    } catch {
      // the process ended
    }
  }
  return pids;
}

/** utime + stime of our workerd processes, in ms (clock-tick resolution, usually 10 ms). */
export function workerdCpuMs(): number {
  let ticks = 0;
  for (const pid of workerdPids()) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // the process ended
    }
  }
  return ticks * TICK_MS;
}

/**
 * Time on CPU of every live thread of `pids`, in ms with nanosecond resolution (the first field of
 * /proc/PID/task/TID/schedstat). Threads that ended are missing, so compare with workerdCpuMs().
 */
export function threadsCpuMs(pids: readonly string[]): number {
  let ns = 0;
  for (const pid of pids) {
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue; // the process ended
    }
    for (const tid of tids) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
      } catch {
        // the thread ended
      }
    }
  }
  return ns / 1e6;
}

/** Requests to the Worker (as https://bridge.test), redirects not followed, and the login steps. */
export function client(mf: Miniflare) {
  const fetchWorker = (path: string, init: Record<string, unknown> = {}) =>
    mf.dispatchFetch(new URL(path, ISSUER).toString(), { redirect: "manual", ...init } as never) as unknown as Promise<Response>;

  async function authorize(legacy = false, scope = "openid email profile"): Promise<{ state: string; cookie: string }> {
    const q = legacy
      ? new URLSearchParams({ response_type: "code", client_id: "legacy-rs", redirect_uri: LEGACY.redirect, scope })
      : new URLSearchParams({ response_type: "code", client_id: "access", redirect_uri: REDIRECT, scope, state: "s", nonce: "n", code_challenge: CHALLENGE, code_challenge_method: "S256" });
    const res = await fetchWorker(`/authorize?${q}`);
    await res.text();
    const discordUrl = new URL(res.headers.get("Location")!);
    return { state: discordUrl.searchParams.get("state")!, cookie: res.headers.get("Set-Cookie")!.split(";")[0]! };
  }

  async function callback(a: { state: string; cookie: string }): Promise<string> {
    const res = await fetchWorker(`/callback?code=alice~${crypto.randomUUID()}&state=${encodeURIComponent(a.state)}`, { headers: { Cookie: a.cookie } });
    await res.text();
    return new URL(res.headers.get("Location")!).searchParams.get("code")!;
  }

  async function token(code: string, c = { basic: ACCESS_BASIC, redirect: REDIRECT }): Promise<string> {
    const body = new URLSearchParams({ grant_type: "authorization_code", code, redirect_uri: c.redirect, ...(c.redirect === REDIRECT && { code_verifier: VERIFIER }) });
    const res = await fetchWorker("/token", { method: "POST", headers: { Authorization: c.basic, "Content-Type": "application/x-www-form-urlencoded" }, body: body.toString() });
    const json = (await res.json()) as { access_token: string };
    if (res.status !== 200) throw new Error(`token ${res.status}`);
    return json.access_token;
  }

  return { fetchWorker, authorize, callback, token };
}
