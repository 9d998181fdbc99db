// `npm run keys -- status | stock | rotate [--alg RS256] | prune`: inspect and manage the signing key
// set in Workers KV through wrangler, locally (miniflare state, the default) or in the deployed namespace
// (--remote). Prints the key table (kid, alg, status, dates) and never private key material.
// `stock` makes RSA keys ahead of time (the Worker never makes them: too slow for a free-plan
// invocation); `npm run deploy` and `npm start` run it.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { DEFAULT_KEY_POLICY, validateConfig, type KeyPolicy } from "../src/config.ts";
import { createKey, createReserveKey, isSigningAlg, KEYSET_KV_KEY, MADE_AHEAD, parseKeySet, reserveOf, signingKey, statusAt, timelineStatus, type KeySet, type SigningAlg } from "../src/keys/keyset.ts";
import { emptyKeySet, FILL_ONLY, rotateKeySet, rotationPolicy, type RotationPolicy } from "../src/keys/rotation.ts";
import { ID_TOKEN_TTL_SECONDS } from "../src/tokens/lifetimes.ts";
import { consoleIo, type Io } from "./check.ts";
import { ConfigError } from "../src/errors.ts";
import { FileProblem, readJsonFile } from "./lib/config-file.ts";
import { isMain, runMain } from "./lib/main.ts";
import { isParseArgsError, runWrangler, usageMessage, UsageError, WRANGLER, WranglerFailed } from "./lib/wrangler.ts";

const USAGE = `usage:
  npm run keys -- status
  npm run keys -- stock [--count N]             make RS256 keys ahead of time (default: a year of rotations)
  npm run keys -- rotate [--alg ES256|RS256]    publish a new key (it signs after the lead time)
  npm run keys -- prune                         drop retired keys no live token needs
options:
  --remote              the deployed KV namespace (needs \`npx wrangler login\` or CLOUDFLARE_API_TOKEN)
  --local               local miniflare state (the default)
  --env <name>          the KV namespace of a wrangler environment
  --persist-to <dir>    local state directory (default .wrangler/state; npm start uses .wrangler/state-local)
  --config <path>       where the rotation policy is read (default config.json, else the defaults)`;

export interface KvAccess {
  read(): string | null;
  write(value: string): void;
}

/** Which namespace: the deployed one (remote, optionally of a wrangler environment) or local state. */
export interface KvTarget {
  readonly remote: boolean;
  readonly persistTo?: string | undefined;
  readonly env?: string | undefined;
}

/**
 * KV through the wrangler CLI, so it works the same for local state and the deployed namespace. A failed
 * call throws WranglerFailed ("wrangler kv key get failed: <wrangler's words>", with a hint).
 */
export function wranglerKv(target: KvTarget, wrangler = WRANGLER): KvAccess {
  const where = [...(target.remote ? ["--remote"] : ["--local", ...(target.persistTo ? ["--persist-to", target.persistTo] : [])]), ...(target.env ? ["--env", target.env] : [])];
  const run = (args: string[]) => runWrangler(`kv key ${args[0]}`, ["kv", "key", ...args, "--binding", "KV", ...where], wrangler);
  return {
    read() {
      const out = run(["get", KEYSET_KV_KEY, "--text"]);
      return out.trim() === "Value not found" ? null : out;
    },
    write(value) {
      const dir = mkdtempSync(join(tmpdir(), "bridge-keys-"));
      try {
        const file = join(dir, "keyset.json");
        writeFileSync(file, value, { mode: 0o600 });
        run(["put", KEYSET_KV_KEY, "--path", file]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** RS256 keys a stock keeps in reserve: one per rotation for a year, at least 2 and at most 24. */
export function reserveTarget(policy: KeyPolicy): number {
  return Math.min(24, Math.max(2, Math.ceil(365 / policy.rotationPeriodDays)));
}

function policyFrom(configPath: string | undefined): KeyPolicy {
  const path = configPath ?? "config.json";
  if (!configPath && !existsSync(path)) return DEFAULT_KEY_POLICY;
  return validateConfig(readJsonFile(path)).keys;
}

const day = (iso: string | undefined) => (iso ? iso.replace("T", " ").slice(0, 16) : "-");

export function keyTable(set: KeySet, now: number, policy: RotationPolicy): string[] {
  const rows = [["kid", "alg", "status", "created", "signs from", "superseded", "dropped after"]];
  const row = (k: { kid: string; createdAt: string; activatesAt: string; supersededAt?: string | undefined }, alg: string, status: string) => {
    const dropAfter = k.supersededAt ? new Date(Date.parse(k.supersededAt) + policy.maxTokenLifetimeMs + policy.retireMarginMs).toISOString() : undefined;
    rows.push([k.kid, alg, status, day(k.createdAt), day(k.activatesAt), day(k.supersededAt), day(dropAfter)]);
  };
  for (const k of set.keys) row(k, k.alg, statusAt(set, k, now));
  // Sealing keys: their times only, never the secret.
  const sealing = set.sealingKeys ?? [];
  for (const k of sealing) row(k, "sealing", timelineStatus(sealing, k, now));
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return [`key set revision ${set.revision}, updated ${day(set.updatedAt)} UTC`, ...rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd()), ...MADE_AHEAD.map((alg) => reserveLine(set, alg, policy))];
}

/** How many keys of `alg` wait in the reserve (never published), and until when they last. */
function reserveLine(set: KeySet, alg: SigningAlg, policy: RotationPolicy): string {
  const count = reserveOf(set, alg).length;
  const latest = Math.max(...set.keys.filter((k) => k.alg === alg).map((k) => Date.parse(k.activatesAt)));
  if (!Number.isFinite(latest)) return `${alg} reserve: ${count} key${count === 1 ? "" : "s"}; no ${alg} key in use yet`;
  const until = day(new Date(latest + (count + 1) * policy.periodMs).toISOString()).slice(0, 10);
  return `${alg} reserve: ${count} key${count === 1 ? "" : "s"} made ahead of time, enough for rotations until ${until}${count === 0 ? `: run \`npm run keys -- stock\` (with --remote for the deployed bridge)` : ""}`;
}

export async function runKeys(argv: readonly string[], kvFor: (t: KvTarget) => KvAccess = wranglerKv, io: Io = consoleIo, now = Date.now()): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: { remote: { type: "boolean" }, local: { type: "boolean" }, env: { type: "string" }, "persist-to": { type: "string" }, config: { type: "string" }, alg: { type: "string" }, count: { type: "string" }, help: { type: "boolean", short: "h" } },
    });
    if (values.help) {
      io.out(USAGE);
      return 0;
    }
    const [command, ...extra] = positionals;
    if (command !== "status" && command !== "stock" && command !== "rotate" && command !== "prune") throw new UsageError(command ? `unknown command "${command}"` : "a command is needed");
    if (extra.length > 0) throw new UsageError(`${command} takes no other words, got "${extra.join(" ")}"`);
    if (values.remote && values.local) throw new UsageError("--remote and --local exclude each other");
    if (values.remote && values["persist-to"] !== undefined) throw new UsageError("--persist-to is for local state, not with --remote");
    if (values.alg !== undefined && (command !== "rotate" || !isSigningAlg(values.alg))) throw new UsageError("--alg goes with rotate and is ES256 or RS256");
    if (values.count !== undefined && (command !== "stock" || !/^(?:[1-9]|1\d|2[0-4])$/.test(values.count))) throw new UsageError("--count goes with stock and is a number from 1 to 24");
    const keyPolicy = policyFrom(values.config);
    const policy = rotationPolicy(keyPolicy, ID_TOKEN_TTL_SECONDS);
    const kv = kvFor({ remote: values.remote === true, persistTo: values["persist-to"], env: values.env });
    const where = values.remote ? `deployed KV namespace${values.env ? ` of environment ${values.env}` : ""}` : `local state${values["persist-to"] ? ` in ${values["persist-to"]}` : ""}`;

    const text = kv.read();
    const set = parseKeySet(text);
    if (text !== null && !set) io.err(`✘ the stored key set in the ${where} is not readable; \`rotate\` replaces it with a fresh one`);

    if (command === "status") {
      if (!set) {
        if (text === null) io.out(`no key set yet in the ${where}: the Worker creates one on its first request, or run \`npm run keys -- rotate\``);
        return text === null ? 0 : 1;
      }
      for (const line of keyTable(set, now, policy)) io.out(line);
      return 0;
    }

    let next: KeySet;
    if (command === "stock") {
      const target = values.count === undefined ? reserveTarget(keyPolicy) : Number(values.count);
      let stocked: KeySet = set ?? emptyKeySet(now);
      for (const alg of MADE_AHEAD) {
        // One more when no key of the algorithm is in use: it is put in use at once.
        const wanted = target + (signingKey(stocked, alg, now) ? 0 : 1) - reserveOf(stocked, alg).length;
        if (wanted <= 0) continue;
        const made = await Promise.all(Array.from({ length: wanted }, () => createReserveKey(alg, now)));
        stocked = { ...stocked, reserve: [...(stocked.reserve ?? []), ...made] };
        io.out(`  made ${wanted} ${alg} key${wanted === 1 ? "" : "s"} ahead of time`);
      }
      // Put in use whatever has no key in use yet (the first RS256 key, and on an empty namespace the
      // first ES256 and sealing keys too), so the Worker needs nothing more on its first request.
      const filled = await rotateKeySet(stocked, now, FILL_ONLY);
      for (const change of filled.changes) io.out(`  ${change}`);
      if (stocked === set && filled.set === set) {
        io.out(`✔ nothing to do: ${MADE_AHEAD.map((alg) => `${reserveOf(set, alg).length} ${alg} keys in reserve`).join(", ")} (a stock keeps ${target})`);
        return 0;
      }
      next = { ...filled.set, revision: (set?.revision ?? 0) + 1, updatedAt: new Date(now).toISOString() };
    } else if (command === "prune") {
      if (!set) {
        io.out(`nothing to prune in the ${where}`);
        return 0;
      }
      const result = await rotateKeySet(set, now, policy, [], createKey);
      const dropped = result.changes.filter((c) => c.startsWith("dropped"));
      if (dropped.length === 0) {
        io.out("nothing to prune: every published key may still be needed");
        return 0;
      }
      for (const change of dropped) io.out(`  ${change}`);
      next = result.set;
    } else {
      const alg: SigningAlg = isSigningAlg(values.alg) ? values.alg : "ES256";
      const keys = set?.keys ?? [];
      const pending = keys.find((k) => k.alg === alg && Date.parse(k.activatesAt) > now);
      if (pending) {
        io.err(`✘ a next ${alg} key (${pending.kid}) is already published and signs from ${pending.activatesAt}; nothing to do`);
        return 1;
      }
      const activatesAt = set && signingKey(set, alg, now) ? now + policy.leadMs : now;
      const key = await createKey(alg, activatesAt, now);
      next = { ...set, version: 1, revision: (set?.revision ?? 0) + 1, updatedAt: new Date(now).toISOString(), keys: [...keys, key] };
      io.out(`  created ${alg} key ${key.kid}: published now, signs from ${key.activatesAt}`);
    }
    kv.write(JSON.stringify(next));
    io.out(`✔ written to the ${where}`);
    for (const line of keyTable(next, now, policy)) io.out(line);
    return 0;
  } catch (err) {
    if (err instanceof UsageError || isParseArgsError(err)) {
      io.err(`✘ ${usageMessage(err)}`);
      io.err(USAGE);
      return 2;
    }
    if (err instanceof WranglerFailed) {
      for (const line of err.report()) io.err(line);
      return 1;
    }
    if (err instanceof FileProblem) {
      io.err(`✘ ${err.message}`);
      return 1;
    }
    if (err instanceof ConfigError) {
      io.err(`✘ the rotation policy could not be read: the configuration has ${err.problems.length} problem(s) (\`npm run check\` lists them):`);
      for (const problem of err.problems) io.err(`  - ${problem}`);
      return 1;
    }
    throw err;
  }
}

if (isMain(import.meta.url)) runMain("npm run keys", () => runKeys(process.argv.slice(2)));
