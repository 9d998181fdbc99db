// Benchmark: what large request bodies cost. POSTs of 1 MiB and 10 MiB of
// application/x-www-form-urlencoded content to every endpoint that takes a POST (and, as controls, an
// unknown path and the GET-only /callback), sent with a Content-Length and chunked without one, in
// two shapes: one long pair (`a=xxx…`) and many small pairs (`p00001=vvvvvvv&…`, where parsing costs
// most). A tiny POST to each endpoint is the floor. Also a GET /authorize with a 60 KiB `state` that
// ends in an error redirect.
//
// Requests go over HTTP/1.1 straight to Miniflare's entry socket with the headers dispatchFetch adds
// (MF-Original-URL, MF-Disable-Pretty-Error), one connection each as dispatchFetch does, because
// dispatchFetch itself cannot send these cases: it re-wraps the request, so every body goes out
// chunked unless Content-Length is set by hand, and when the Worker answers before reading the whole
// body the upload's ECONNRESET fails the fetch (or kills the process with an uncaught "terminated")
// and the status is lost. The second line of output checks what the Worker sees. workerd closes a
// connection whose body was not read to the end, so such a client often gets ECONNRESET and never
// sees the answer: status ERR (the answer column shows what the others saw).
//
// CPU is that of the workerd process (Miniflare's entry Worker, the bridge, the runtime's HTTP layer),
// per request: the time on CPU of its threads (/proc/.../schedstat, ns resolution) from just before
// the request until the response is read, the upload has ended and workerd has been idle for a
// moment. Nothing is subtracted. The "ticks" column is the same from utime+stime (whole process,
// clock ticks), averaged over the case, as a cross-check for threads that ended. Run:
// `npm run bench:bodies` (Linux only). Counts: BENCH_BODIES_N_TINY, BENCH_BODIES_N_1MB,
// BENCH_BODIES_N_10MB; BENCH_BODIES_ONLY=<text> keeps the cases whose name contains it.
import { request as httpRequest, type ClientRequest, type IncomingHttpHeaders } from "node:http";
import { Miniflare } from "miniflare";
import { ACCESS_BASIC, bundleWorker, CHALLENGE, client, ISSUER, REDIRECT, startBridge, threadsCpuMs, TICK_MS, workerdCpuMs, workerdPids } from "./lib.ts";

const N_TINY = Number(process.env.BENCH_BODIES_N_TINY ?? 20);
const N_1MB = Number(process.env.BENCH_BODIES_N_1MB ?? 20);
const N_10MB = Number(process.env.BENCH_BODIES_N_10MB ?? 8);
const ONLY = process.env.BENCH_BODIES_ONLY ?? "";
const CHUNK = Number(process.env.BENCH_BODIES_CHUNK ?? 64 * 1024);
/** workerd counts as done with a request once its threads used no CPU for this long. */
const QUIET_MS = Number(process.env.BENCH_BODIES_QUIET_MS ?? 30);
/** A request still unfinished after this long is reported as hanging. */
const HANG_MS = 30_000;
const MiB = 1024 * 1024;
const FORM = "application/x-www-form-urlencoded";

const startedAt = performance.now();
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const encoder = new TextEncoder();

// ---- bodies -----------------------------------------------------------------------------------

type Shape = "one pair" | "many pairs";

/** `a=xxx…` or `p000000=vvvvvvv&p000001=vvvvvvv&…` (16 bytes a pair, distinct names), exactly `size` bytes. */
function formBody(size: number, shape: Shape): Uint8Array {
  if (shape === "one pair") return encoder.encode(`a=${"x".repeat(size - 2)}`);
  const pairs: string[] = [];
  let length = 0;
  for (let i = 0; length + 16 <= size; i++, length += 16) pairs.push(`p${i.toString(36).padStart(6, "0")}=vvvvvvv&`);
  return encoder.encode(pairs.join("") + "x".repeat(size - length));
}

// ---- a plain HTTP/1.1 client --------------------------------------------------------------------

type Upload = "sent" | "reset" | "closed" | "stopped" | "none";

interface Exchange {
  /** Status code, or ERR when no response came. */
  readonly status: string;
  /** ms from sending until the response headers (or the error). */
  readonly time: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
  /** "sent": all bytes handed to the OS; "reset"/"closed": the connection failed/closed first; "none": no body. */
  readonly upload: Upload;
  /** Bytes handed to the OS. */
  readonly written: number;
  readonly error?: string;
}

/** Resolves once `req` wants more data, or has failed or closed. */
function drained(req: ClientRequest): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      req.off("drain", done);
      req.off("error", done);
      req.off("close", done);
      resolve();
    };
    req.on("drain", done);
    req.on("error", done);
    req.on("close", done);
  });
}

/**
 * One request on its own connection to `origin` (Miniflare's entry socket), as if to ISSUER + path.
 * A body is written in CHUNK-sized pieces, with a Content-Length or chunked; writing goes on after
 * an early response until the body ends or the connection fails, as a client that ignores the answer
 * would. `holdAfterFirstChunk` holds the rest of the body back until the response (or 3 s).
 */
function exchange(origin: URL, method: string, path: string, headers: Record<string, string>, body?: { bytes: Uint8Array; chunked: boolean; holdAfterFirstChunk?: boolean }): Promise<Exchange> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const all: Record<string, string> = { "MF-Original-URL": new URL(path, ISSUER).href, "MF-Disable-Pretty-Error": "true", Connection: "close", ...headers };
    if (body && !body.chunked) all["Content-Length"] = String(body.bytes.byteLength);
    if (body?.chunked) all["Transfer-Encoding"] = "chunked";
    const req = httpRequest(origin, { method, path, headers: all, agent: false, maxHeaderSize: 1 << 20 });
    let status = "ERR";
    let time: number | undefined;
    let resHeaders: IncomingHttpHeaders = {};
    let text = "";
    let error: string | undefined;
    let written = 0;
    let upload: Upload | undefined = body ? undefined : "none";
    let responded = false;
    let answered!: () => void;
    const answer = new Promise<void>((r) => (answered = r));
    const hang = setTimeout(() => {
      error = `still open after ${HANG_MS / 1000} s`;
      req.destroy();
      finish(true);
    }, HANG_MS);
    let done = false;
    const finish = (force = false) => {
      if (done || (!force && (!responded || upload === undefined))) return;
      done = true;
      clearTimeout(hang);
      resolve({ status, time: time ?? performance.now() - t0, headers: resHeaders, text, upload: upload ?? "stopped", written, ...(error !== undefined && { error }) });
    };
    req.on("response", (res) => {
      time = performance.now() - t0;
      status = String(res.statusCode);
      resHeaders = res.headers;
      answered();
      res.setEncoding("utf8");
      res.on("data", (d: string) => (text += d));
      res.on("end", () => {
        responded = true;
        finish();
      });
      res.on("error", (err) => {
        error ??= err.message;
        responded = true;
        finish();
      });
    });
    req.on("error", (err) => {
      error ??= (err as NodeJS.ErrnoException).code ?? err.message;
      upload ??= "reset";
      if (time === undefined) {
        time = performance.now() - t0;
        responded = true; // no response will come
        answered();
      }
      finish();
    });
    if (!body) {
      req.end();
      return;
    }
    void (async () => {
      const { bytes } = body;
      for (let offset = 0; offset < bytes.byteLength && !req.destroyed && upload === undefined; offset += CHUNK) {
        const piece = bytes.subarray(offset, offset + CHUNK);
        const flushed = req.write(piece);
        written += piece.byteLength;
        if (body.holdAfterFirstChunk && offset === 0) await Promise.race([answer, sleep(3000)]);
        if (!flushed) await drained(req);
      }
      if (upload !== undefined) return;
      if (req.destroyed) {
        upload = "closed";
        return finish();
      }
      req.end(() => {
        upload ??= "sent";
        finish();
      });
    })();
  });
}

// ---- what does the Worker see? -------------------------------------------------------------------

async function probe(): Promise<string> {
  const mf = new Miniflare({
    modules: true,
    compatibilityDate: "2026-04-01",
    script: `export default { async fetch(request) {
      const headers = { contentLength: request.headers.get("content-length"), transferEncoding: request.headers.get("transfer-encoding") };
      // dispatchFetch fails if the body is not read to the end (the upload is reset).
      if (new URL(request.url).pathname === "/all") return Response.json({ ...headers, read: (await request.arrayBuffer()).byteLength });
      const first = await request.body.getReader().read();
      return Response.json({ ...headers, firstRead: first.value?.byteLength ?? 0 });
    } };`,
  });
  try {
    const origin = await mf.ready;
    const bytes = new Uint8Array(MiB);
    type Seen = { contentLength: string | null; transferEncoding: string | null; firstRead: number };
    const seen = async (chunked: boolean) => {
      const ex = await exchange(origin, "POST", "/", {}, { bytes, chunked, holdAfterFirstChunk: true });
      if (ex.status !== "200") return `no answer (${ex.status} ${ex.error ?? ""})`;
      const s = JSON.parse(ex.text) as Seen;
      const early = ex.time < 2500 ? `answered after ${ex.time.toFixed(0)} ms with the rest held back (streamed)` : "answered only after the hold ended (buffered?)";
      return `Content-Length ${s.contentLength ?? "absent"}, Transfer-Encoding ${s.transferEncoding ?? "absent"}, ${early}`;
    };
    const withLength = await seen(false);
    const chunked = await seen(true);
    const viaDispatch = (await (await mf.dispatchFetch("http://probe/all", { method: "POST", body: bytes } as never)).json()) as Seen;
    return (
      `what the Worker sees: Content-Length bodies: ${withLength}; chunked bodies: ${chunked}. ` +
      `(dispatchFetch with a Uint8Array body: Content-Length ${viaDispatch.contentLength ?? "absent"}, Transfer-Encoding ${viaDispatch.transferEncoding ?? "absent"})`
    );
  } finally {
    await mf.dispose();
  }
}

const probeLine = await probe();
process.stderr.write(`[${((performance.now() - startedAt) / 1000).toFixed(0)} s] probe done\n`);

// ---- the bridge ---------------------------------------------------------------------------------

const bundleBytes = bundleWorker();
const mf = await startBridge();
const origin = await mf.ready;
const { authorize, callback, token } = client(mf);
const pids = workerdPids();
if (pids.length === 0) throw new Error("no workerd process found");

/** Wait until workerd's threads have used no CPU for QUIET_MS (at most 5 s). */
async function quiet(): Promise<void> {
  const start = performance.now();
  let last = threadsCpuMs(pids);
  let stableSince = performance.now();
  while (performance.now() - start < 5000) {
    await sleep(5);
    const now = threadsCpuMs(pids);
    if (now - last > 0.05) {
      last = now;
      stableSince = performance.now();
    } else if (performance.now() - stableSince >= QUIET_MS) {
      return;
    }
  }
}

interface Sample {
  readonly cpu: number;
  readonly time: number;
  readonly status: string;
  /** What the answer said: an error_description, a page's message, or a redirect's error. */
  readonly answer: string;
  readonly upload: Upload;
  readonly written: number;
  readonly locationLength?: number;
}

function describe(ex: Exchange): string {
  if (ex.status === "ERR") return ex.error ?? "no response";
  const location = ex.headers.location;
  if (location) {
    const url = new URL(location);
    return url.searchParams.get("error_description") ?? url.searchParams.get("error") ?? `redirect to ${url.host}`;
  }
  try {
    const json = JSON.parse(ex.text) as { error_description?: string; error?: string };
    return json.error_description ?? json.error ?? "";
  } catch {
    const p = /<p>([^<]*)<\/p>/.exec(ex.text);
    return p?.[1] ?? ex.text.slice(0, 40);
  }
}

async function measureOnce(method: string, path: string, headers: Record<string, string>, body?: { bytes: Uint8Array; chunked: boolean }): Promise<Sample> {
  const cpu0 = threadsCpuMs(pids);
  const ex = await exchange(origin, method, path, headers, body);
  await quiet();
  const cpu = threadsCpuMs(pids) - cpu0;
  const location = ex.headers.location;
  return { cpu, time: ex.time, status: ex.status, answer: describe(ex) + (ex.error && ex.status !== "ERR" ? ` [${ex.error}]` : ""), upload: ex.upload, written: ex.written, ...(location !== undefined && { locationLength: location.length }) };
}

// ---- cases --------------------------------------------------------------------------------------

interface Endpoint {
  readonly name: string;
  readonly path: string;
  readonly headers?: Record<string, string>;
}

const ENDPOINTS: readonly Endpoint[] = [
  { name: "POST /authorize", path: "/authorize" },
  { name: "POST /authorize/email", path: "/authorize/email" },
  { name: "POST /authorize/guilds", path: "/authorize/guilds" },
  { name: "POST /authorize/roles", path: "/authorize/roles" },
  { name: "POST /token", path: "/token", headers: { Authorization: ACCESS_BASIC } },
  { name: "POST /userinfo", path: "/userinfo" },
  { name: "POST /nope (control: 404)", path: "/nope" },
  { name: "POST /callback (control: GET only)", path: "/callback" },
];

interface Row {
  readonly name: string;
  readonly body: string;
  readonly sentAs: string;
  readonly samples: readonly Sample[];
  readonly ticksMean: number;
}

const rows: Row[] = [];

async function runCase(name: string, body: string, sentAs: string, n: number, one: () => Promise<Sample>): Promise<void> {
  if (ONLY && !`${name} | ${body} | ${sentAs}`.includes(ONLY)) return;
  const ticks0 = workerdCpuMs();
  const samples: Sample[] = [];
  for (let i = 0; i < n; i++) samples.push(await one());
  rows.push({ name, body, sentAs, samples, ticksMean: (workerdCpuMs() - ticks0) / n });
  const elapsed = ((performance.now() - startedAt) / 1000).toFixed(0);
  process.stderr.write(`[${elapsed} s] ${name} | ${body} | ${sentAs}: ${fmt(median(samples.map((s) => s.cpu)))} ms, ${tally(samples.map((s) => s.status))}\n`);
}

const post = (endpoint: Endpoint, bytes: Uint8Array, chunked: boolean) => () =>
  measureOnce("POST", endpoint.path, { "Content-Type": FORM, ...endpoint.headers }, { bytes, chunked });

// Warm up: key bootstrap, JIT, Durable Object start, and each endpoint's small-body path.
for (let i = 0; i < 10; i++) await token(await callback(await authorize()));
const tiny = encoder.encode("a=b");
for (const endpoint of ENDPOINTS) for (let i = 0; i < 6; i++) await post(endpoint, tiny, i % 2 === 1)();

process.stderr.write(`[${((performance.now() - startedAt) / 1000).toFixed(0)} s] warmed up\n`);
const idle0 = threadsCpuMs(pids);
await sleep(1000);
const idleMs = threadsCpuMs(pids) - idle0;

const SIZES = [
  { label: "1 MiB", bytes: MiB, n: N_1MB },
  { label: "10 MiB", bytes: 10 * MiB, n: N_10MB },
] as const;
const SHAPES: readonly Shape[] = ["one pair", "many pairs"];
const bodies = new Map<string, Uint8Array>();
for (const size of SIZES) for (const shape of SHAPES) bodies.set(`${size.label}, ${shape}`, formBody(size.bytes, shape));

for (const endpoint of ENDPOINTS) {
  for (const chunked of [false, true]) await runCase(endpoint.name, "tiny (a=b): floor", chunked ? "chunked" : "Content-Length", N_TINY, post(endpoint, tiny, chunked));
  for (const size of SIZES) {
    for (const shape of SHAPES) {
      const label = `${size.label}, ${shape}`;
      for (const chunked of [false, true]) await runCase(endpoint.name, label, chunked ? "chunked" : "Content-Length", size.n, post(endpoint, bodies.get(label)!, chunked));
    }
  }
}

// A 60 KiB state on a GET /authorize that is refused with an error redirect (the state goes back).
const bigState = "x".repeat(60 * 1024);
const authorizeQuery = (extra: Record<string, string>) =>
  `/authorize?${new URLSearchParams({ response_type: "code", client_id: "access", redirect_uri: REDIRECT, scope: "openid", code_challenge: CHALLENGE, code_challenge_method: "S256", ...extra })}`;
const get = (path: string) => () => measureOnce("GET", path, {});
await runCase("GET /authorize", "state of 60 KiB (too long)", "query", N_TINY, get(authorizeQuery({ state: bigState })));
await runCase("GET /authorize", "state of 60 KiB, response_type=token", "query", N_TINY, get(authorizeQuery({ state: bigState, response_type: "token" })));
await runCase("GET /authorize", "state s, response_type=token: floor", "query", N_TINY, get(authorizeQuery({ state: "s", response_type: "token" })));

await mf.dispose();

// ---- the table ----------------------------------------------------------------------------------

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
function fmt(ms: number): string {
  return ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2);
}
/** "400" or "400 ×19, ERR ×1" */
function tally(values: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  if (counts.size === 1) return [...counts.keys()][0]!;
  return [...counts].map(([v, c]) => `${v} ×${c}`).join(", ");
}

/** "sent", or "sent ×5, reset ×3 (after 0.13–3.75 MiB)" */
function uploads(samples: readonly Sample[]): string {
  const cut = samples.filter((s) => s.upload === "reset" || s.upload === "closed").map((s) => s.written / MiB);
  return tally(samples.map((s) => s.upload)) + (cut.length ? ` (after ${Math.min(...cut).toFixed(2)}–${Math.max(...cut).toFixed(2)} MiB)` : "");
}

console.log(`bundle: dist/worker.js ${(bundleBytes / 1024).toFixed(1)} KiB (uncompressed); workerd CPU per request, nothing subtracted (Miniflare's entry Worker, the bridge and the runtime's HTTP layer); bodies written in ${CHUNK / 1024} KiB pieces; idle workerd: ${idleMs.toFixed(2)} ms CPU in 1 s`);
console.log(probeLine);
console.log("| endpoint | body | sent as | n | status | answer | CPU ms median | CPU ms min–max | CPU ms mean (ticks) | ms to response median (min–max) | upload |");
console.log("|---|---|---|---:|---|---|---:|---:|---:|---:|---|");
for (const row of rows) {
  const cpu = row.samples.map((s) => s.cpu);
  const time = row.samples.map((s) => s.time);
  const location = row.samples.find((s) => s.locationLength !== undefined)?.locationLength;
  const answer = tally(row.samples.map((s) => s.answer)) + (location !== undefined ? ` (Location: ${location} chars)` : "");
  console.log(
    `| ${row.name} | ${row.body} | ${row.sentAs} | ${row.samples.length} | ${tally(row.samples.map((s) => s.status))} | ${answer} | ` +
      `${fmt(median(cpu))} | ${fmt(Math.min(...cpu))}–${fmt(Math.max(...cpu))} | ${fmt(row.ticksMean)} | ` +
      `${fmt(median(time))} (${fmt(Math.min(...time))}–${fmt(Math.max(...time))}) | ${uploads(row.samples)} |`,
  );
}
console.log(
  `ticks: utime+stime of the whole process over the case divided by n (${TICK_MS} ms ticks). upload: "sent" = the whole body was handed to the OS, "reset" / "closed" = the connection failed or was closed first, after the MiB shown. ERR = no response reached the client. ` +
    `The bench took ${((performance.now() - startedAt) / 1000).toFixed(0)} s.`,
);
