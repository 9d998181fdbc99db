// Benchmark: CPU per request of each endpoint in workerd, measured as the workerd process's own CPU
// time (utime + stime from /proc) over many sequential requests against the bundled Worker. It
// includes the runtime's HTTP handling and the Durable Objects (same process), so it is an upper
// bound on what the Workers platform bills. Run: `npm run bench` (Linux only).
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { Miniflare } from "miniflare";
import { FAKE_DISCORD_CLIENT_SECRET, FakeDiscord } from "../test/helpers/fake-discord.ts";

const N = Number(process.env.BENCH_N ?? 300);
const ISSUER = "https://bridge.test";
const TICK_MS = 1000 / Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim());
const ACCESS_BASIC = `Basic ${btoa("access:access-secret-with:colon%and+plus")}`;
const REDIRECT = "https://team.cloudflareaccess.com/cdn-cgi/access/callback";
const VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

execFileSync("npx", ["wrangler", "deploy", "--dry-run", "--outdir", "dist", "test/fixtures/worker.ts"], {
  stdio: "ignore",
  env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
});
const bundleBytes = statSync("dist/worker.js").size;

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

function workerdCpuMs(): number {
  let ticks = 0;
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (!stat.includes("(workerd)") || Number(fields[1]) !== process.pid) continue;
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // the process ended
    }
  }
  return ticks * TICK_MS;
}

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

const LEGACY = { basic: `Basic ${btoa("legacy-rs:legacy-secret-0123456789")}`, redirect: "https://legacy.example.com/oauth/callback" };

async function token(code: string, client = { basic: ACCESS_BASIC, redirect: REDIRECT }): Promise<string> {
  const body = new URLSearchParams({ grant_type: "authorization_code", code, redirect_uri: client.redirect, ...(client.redirect === REDIRECT && { code_verifier: VERIFIER }) });
  const res = await fetchWorker("/token", { method: "POST", headers: { Authorization: client.basic, "Content-Type": "application/x-www-form-urlencoded" }, body: body.toString() });
  const json = (await res.json()) as { access_token: string };
  if (res.status !== 200) throw new Error(`token ${res.status}`);
  return json.access_token;
}

async function measure(name: string, prepare: () => Promise<unknown[]>, run: (input: unknown) => Promise<unknown>): Promise<[string, number, number]> {
  const inputs = await prepare();
  const cpu0 = workerdCpuMs();
  const t0 = performance.now();
  for (const input of inputs) await run(input);
  const wall = (performance.now() - t0) / inputs.length;
  const cpu = (workerdCpuMs() - cpu0) / inputs.length;
  return [name, cpu, wall];
}

const times = <T>(n: number, f: () => Promise<T>) => Promise.all(Array.from({ length: n }, f));
const simple = (path: string, init?: Record<string, unknown>) => async () => {
  const res = await fetchWorker(path, init);
  await res.arrayBuffer();
};

// Warm up: key bootstrap, a scheduled rotation (creates the RS256 key), JIT, DO start.
for (let i = 0; i < 30; i++) await token(await callback(await authorize()));
const cronCpu0 = workerdCpuMs();
const cron = await mf.dispatchFetch("http://localhost/cdn-cgi/handler/scheduled?cron=17+*+*+*+*");
if (cron.status !== 200) throw new Error(`scheduled: ${cron.status}`);
const cronCpu = workerdCpuMs() - cronCpu0;
const idleCpu0 = workerdCpuMs();
const idleCron = await mf.dispatchFetch("http://localhost/cdn-cgi/handler/scheduled?cron=17+*+*+*+*");
await idleCron.arrayBuffer();
const idleCronCpu = workerdCpuMs() - idleCpu0;
// Isolates re-read KV for a missing algorithm at most every 10 s: wait for the RS256 key to show.
for (let ready = false, tries = 0; !ready; tries++) {
  try {
    await token(await callback(await authorize(true)), LEGACY);
    ready = true;
  } catch (err) {
    if (tries > 90) throw err;
    await new Promise((r) => setTimeout(r, 1000));
  }
}
for (let i = 0; i < 10; i++) await token(await callback(await authorize(true)), LEGACY);

const rows: [string, number, number][] = [];
const none = async () => Array.from({ length: N }, () => null);
rows.push(await measure("404 (runtime floor)", none, simple("/nope")));
rows.push(await measure("GET /", none, simple("/")));
rows.push(await measure("GET /.well-known/openid-configuration", none, simple("/.well-known/openid-configuration")));
rows.push(await measure("GET /jwks.json", none, simple("/jwks.json")));
rows.push(await measure("GET /authorize", none, () => authorize()));
rows.push(await measure("GET /callback (2 Discord calls + revoke, DO put)", () => times(N, () => authorize()), (a) => callback(a as { state: string; cookie: string })));
const codes = async () => { const out: string[] = []; for (let i = 0; i < N; i++) out.push(await callback(await authorize())); return out; };
rows.push(await measure("GET /callback, scope guilds (4 Discord calls + revoke: user, guild list, 2 member calls)", () => times(N, () => authorize(false, "openid email profile guilds")), (a) => callback(a as { state: string; cookie: string })));
rows.push(await measure("POST /token (DO take, ES256 sign)", codes, (c) => token(c as string)));
const guildCodes = async () => { const out: string[] = []; for (let i = 0; i < N; i++) out.push(await callback(await authorize(false, "openid email profile guilds"))); return out; };
rows.push(await measure("POST /token, scope guilds (DO take, ES256 sign, 3 guilds, 3 roles)", guildCodes, (c) => token(c as string)));
const legacyCodes = async () => { const out: string[] = []; for (let i = 0; i < N; i++) out.push(await callback(await authorize(true))); return out; };
rows.push(await measure("POST /token (DO take, RS256 sign)", legacyCodes, (c) => token(c as string, LEGACY)));
const accessTokens = async () => {
  const issued: string[] = [];
  for (let i = 0; i < 20; i++) issued.push(await token(await callback(await authorize())));
  return Array.from({ length: N }, (_, i) => issued[i % issued.length]);
};
rows.push(await measure("GET /userinfo", accessTokens, async (t) => {
  const res = await fetchWorker("/userinfo", { headers: { Authorization: `Bearer ${t as string}` } });
  if (res.status !== 200) throw new Error(`userinfo ${res.status}`);
  await res.arrayBuffer();
}));

await mf.dispose();
console.log(`bundle: dist/worker.js ${(bundleBytes / 1024).toFixed(1)} KiB (uncompressed); N=${N} sequential requests per row; CPU is workerd's utime+stime (tick ${TICK_MS} ms)`);
console.log("| endpoint | workerd CPU per request (ms) | wall per request (ms) |\n|---|---:|---:|");
for (const [name, cpu, wall] of rows) console.log(`| ${name} | ${cpu.toFixed(2)} | ${wall.toFixed(2)} |`);
console.log(`scheduled run that creates an RS256 key (in the KeyKeeper Durable Object): ${cronCpu.toFixed(0)} ms CPU; a run with nothing to do: ${idleCronCpu.toFixed(0)} ms (one sample each, 10 ms ticks)`);
