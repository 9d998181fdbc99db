// For Node-side tests that need the bridge on a real port: a Worker entry bundled by wrangler as it
// would be deployed, run in Miniflare on a free loopback port, its Discord calls sent to `discord`, and
// its keys stocked as `npm run deploy` and `npm start` stock them (RSA keys are never made in the Worker).
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import { createReserveKey, KEYSET_KV_KEY } from "../../src/keys/keyset.ts";
import { stockedKeySet } from "../../src/keys/rotation.ts";
import { FAKE_DISCORD_CLIENT_SECRET } from "./fake-discord.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

export interface BundledBridge {
  readonly mf: Miniflare;
  /** The bridge's origin, e.g. http://127.0.0.1:40123 (its issuer when the configuration names none). */
  readonly origin: string;
}

/**
 * A Worker entry for `config` (the Worker with that configuration bundled, like dev/worker.ts), written
 * into `work`/entry; returns its path for startBundledBridge.
 */
export function writeEntry(work: string, config: unknown): string {
  const dir = join(work, "entry");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "config.json"), JSON.stringify(config, null, 2));
  const src = (path: string) => JSON.stringify(join(ROOT, "src", path));
  const entry = join(dir, "worker.ts");
  writeFileSync(
    entry,
    [
      `import { createWorker } from ${src("worker.ts")};`,
      `import rawConfig from "./config.json";`,
      `export { CodeStore } from ${src("codes/store.ts")};`,
      `export { KeyKeeper } from ${src("keys/keeper.ts")};`,
      `export default createWorker(rawConfig);`,
      "",
    ].join("\n"),
  );
  return entry;
}

/**
 * Bundle `entry` into `work`/dist and start it; `discord` is the fake Discord's origin. `bindings`
 * replace the Worker's vars and secrets (e.g. a missing DISCORD_CLIENT_SECRET for a misconfigured bridge).
 */
export async function startBundledBridge(entry: string, work: string, discord: string, bindings: Record<string, string> = {}): Promise<BundledBridge> {
  const dist = join(work, "dist");
  execFileSync("npx", ["wrangler", "deploy", "--dry-run", "--config", join(ROOT, "wrangler.toml"), "--outdir", dist, entry], {
    cwd: ROOT,
    stdio: "ignore",
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
  });
  const mf = new Miniflare({
    modules: true,
    scriptPath: join(dist, "worker.js"),
    modulesRoot: dist,
    compatibilityDate: "2026-04-01",
    host: "127.0.0.1",
    port: 0,
    kvNamespaces: ["KV"],
    durableObjects: { CODES: { className: "CodeStore", useSQLite: true }, KEYS: { className: "KeyKeeper", useSQLite: true } },
    bindings: {
      DISCORD_CLIENT_SECRET: FAKE_DISCORD_CLIENT_SECRET,
      DISCORD_API_BASE: `${discord}/api/v10`,
      DISCORD_AUTHORIZE_URL: `${discord}/oauth2/authorize`,
      ...bindings,
    },
    handleRuntimeStdio: (stdout, stderr) => {
      stdout.resume();
      stderr.resume();
    },
  });
  const origin = (await mf.ready).origin;
  // The key set `npm run keys -- stock` leaves: RS256, ES256 and sealing keys in use, one RSA key in reserve.
  const now = Date.now();
  const reserve = await Promise.all([0, 1].map(() => createReserveKey("RS256", now)));
  const set = await stockedKeySet(reserve, now);
  // (Typed by hand: without the Workers types, miniflare's KVNamespace type does not resolve here.)
  const kv = (await mf.getKVNamespace("KV")) as unknown as { put(key: string, value: string): Promise<void> };
  await kv.put(KEYSET_KV_KEY, JSON.stringify(set));
  return { mf, origin };
}
