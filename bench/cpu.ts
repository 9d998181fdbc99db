// Benchmark: CPU per request of each endpoint in workerd, measured as the workerd process's own CPU
// time (utime + stime from /proc) over many sequential requests against the bundled Worker. It
// includes the runtime's HTTP handling and the Durable Objects (same process), so it is an upper
// bound on what the Workers platform bills. Run: `npm run bench` (Linux only).
import { Miniflare } from "miniflare";
import { createReserveKey, KEYSET_KV_KEY } from "../src/keys/keyset.ts";
import { stockedKeySet } from "../src/keys/rotation.ts";
import { client, bundleWorker, LEGACY, startBridge, threadsCpuMs, TICK_MS, workerdCpuMs, workerdPids } from "./lib.ts";

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

// What `npm run deploy` does first: RSA keys made ahead of time (here, in this Node process), one in use
// and a year of rotations (13) in reserve. Stocked 29.5 days ago, so the first scheduled run is due to
// publish the next RS256 key from the reserve.
const DAY = 86_400_000;
const stockedAt = Date.now() - 29.5 * DAY;
const nodeCpu0 = process.cpuUsage();
const nodeWall0 = performance.now();
const reserve = await Promise.all(Array.from({ length: 14 }, () => createReserveKey("RS256", stockedAt)));
const nodeCpu = process.cpuUsage(nodeCpu0);
const nodeKeygen = { cpu: (nodeCpu.user + nodeCpu.system) / 1000 / 14, wall: (performance.now() - nodeWall0) / 14 };
const stocked = await stockedKeySet(reserve, stockedAt);
const keySetBytes = JSON.stringify(stocked).length;
// (miniflare's KV type does not resolve under tsconfig.node.json; the object is a KVNamespace.)
const kv = (await mf.getKVNamespace("KV")) as unknown as { put(key: string, value: string): Promise<void> };
await kv.put(KEYSET_KV_KEY, JSON.stringify(stocked));

// Warm up: JIT, DO start.
for (let i = 0; i < 30; i++) await token(await callback(await authorize()));
// Scheduled runs, timed per thread (ns resolution): each of the first CRON_N finds the stocked set
// (re-put with a higher revision, so the KeyKeeper takes it) due and publishes the next RS256 key from
// the reserve and new ES256 and sealing keys; then runs with nothing to do.
const CRON_N = 10;
const runCron = async () => {
  const pids = workerdPids();
  const c0 = threadsCpuMs(pids);
  const res = await mf.dispatchFetch("http://localhost/cdn-cgi/handler/scheduled?cron=17+*+*+*+*");
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`scheduled: ${res.status}`);
  return threadsCpuMs(pids) - c0;
};
const promoteRuns: number[] = [];
for (let i = 0; i < CRON_N; i++) {
  await kv.put(KEYSET_KV_KEY, JSON.stringify({ ...stocked, revision: 100 + i }));
  promoteRuns.push(await runCron());
}
const idleRuns: number[] = [];
for (let i = 0; i < CRON_N; i++) idleRuns.push(await runCron());
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
for (let i = 0; i < 10; i++) await token(await callback(await authorize(true)), LEGACY);

// ID token sizes for the same user and scope: the Access client (ES256) and legacy-rs (RS256).
const idTokenBytes = async (legacy: boolean, scope: string) => {
  const code = await callback(await authorize(legacy, scope));
  const body = new URLSearchParams({ grant_type: "authorization_code", code, redirect_uri: legacy ? LEGACY.redirect : "https://team.cloudflareaccess.com/cdn-cgi/access/callback", ...(!legacy && { code_verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk" }) });
  const res = await fetchWorker("/token", { method: "POST", headers: { Authorization: legacy ? LEGACY.basic : `Basic ${btoa("access:access-secret-with:colon%and+plus")}`, "Content-Type": "application/x-www-form-urlencoded" }, body: body.toString() });
  return ((await res.json()) as { id_token: string }).id_token.length;
};
const sizes: string[] = [];
for (const scope of ["openid", "openid email profile", "openid email profile guilds"]) {
  sizes.push(`| ${scope} | ${await idTokenBytes(false, scope)} | ${await idTokenBytes(true, scope)} |`);
}

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

// What making an RSA key would cost inside workerd (the Worker never does it: see README "Signing keys").
const keygenWorker = new Miniflare({
  modules: true,
  compatibilityDate: "2026-04-01",
  script: `export default { async fetch() {
    await crypto.subtle.generateKey({ name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" }, true, ["sign", "verify"]);
    return new Response("ok");
  } };`,
});
await (await keygenWorker.dispatchFetch("http://localhost/")).text();
const KEYGEN_N = 30;
const keygenSamples: number[] = [];
for (let i = 0; i < KEYGEN_N; i++) {
  const c0 = workerdCpuMs();
  await (await keygenWorker.dispatchFetch("http://localhost/")).text();
  keygenSamples.push(workerdCpuMs() - c0);
}
await keygenWorker.dispose();
keygenSamples.sort((a, b) => a - b);
const keygenMean = keygenSamples.reduce((a, b) => a + b, 0) / KEYGEN_N;

console.log(`bundle: dist/worker.js ${(bundleBytes / 1024).toFixed(1)} KiB (uncompressed); N=${N} sequential requests per row; CPU is workerd's utime+stime (tick ${TICK_MS} ms)`);
console.log("| endpoint | workerd CPU per request (ms) | wall per request (ms) |\n|---|---:|---:|");
for (const [name, cpu, wall] of rows) console.log(`| ${name} | ${cpu.toFixed(2)} | ${wall.toFixed(2)} |`);
console.log(`scheduled run that publishes the next RS256 key from the reserve (and makes the next ES256 and sealing keys): median ${median(promoteRuns).toFixed(1)} ms CPU, max ${Math.max(...promoteRuns).toFixed(1)} ms; a run with nothing to do: median ${median(idleRuns).toFixed(1)} ms, max ${Math.max(...idleRuns).toFixed(1)} ms (${CRON_N} runs each, all workerd threads, so an upper bound)`);
console.log(`key set in KV with 13 RS256 keys in reserve: ${(keySetBytes / 1024).toFixed(1)} KiB`);
console.log(`RSA-2048 key generation in workerd (what the Worker would pay; it never does): mean ${keygenMean.toFixed(0)} ms CPU per key, median ${keygenSamples[KEYGEN_N >> 1]} ms, min ${keygenSamples[0]} ms, max ${keygenSamples[KEYGEN_N - 1]} ms over ${KEYGEN_N} keys (10 ms ticks)`);
console.log(`RSA-2048 key generation in Node (npm run keys -- stock, where it runs): ${nodeKeygen.cpu.toFixed(0)} ms CPU, ${nodeKeygen.wall.toFixed(0)} ms wall per key (14 keys made in parallel)`);
console.log("| ID token for alice, scope | ES256 (bytes) | RS256 (bytes) |\n|---|---:|---:|");
for (const line of sizes) console.log(line);
