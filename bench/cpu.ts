// Benchmark: CPU per request of each endpoint in workerd, measured as the workerd process's own CPU
// time (utime + stime from /proc) over many sequential requests against the bundled Worker. It
// includes the runtime's HTTP handling and the Durable Objects (same process), so it is an upper
// bound on what the Workers platform bills. Run: `npm run bench` (Linux only).
import { client, bundleWorker, LEGACY, startBridge, TICK_MS, workerdCpuMs } from "./lib.ts";

const N = Number(process.env.BENCH_N ?? 300);

const bundleBytes = bundleWorker();
const mf = await startBridge();
const { fetchWorker, authorize, callback, token } = client(mf);

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
