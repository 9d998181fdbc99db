// A copy of the project in a temporary directory for running the operator commands for real (`npm run
// <command>`): package.json as it is, scripts/, src/, test/ and dev/worker.ts linked, tsx from
// node_modules, and a fake `wrangler` in node_modules/.bin. Nothing listens, nothing reaches the network.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

/**
 * A wrangler that records its arguments in wrangler-calls, keeps one KV value in the file kv-value
 * (`kv key get` / `kv key put --path`), deploys nothing, and exits with $FAKE_WRANGLER_EXIT (default 0).
 */
export const RECORDING_WRANGLER = [
  "#!/bin/sh",
  'echo "$@" >> wrangler-calls',
  'if [ "$1 $2 $3" = "kv key get" ]; then if [ -f kv-value ]; then cat kv-value; else echo "Value not found"; fi; fi',
  'if [ "$1 $2 $3" = "kv key put" ]; then while [ "$1" != "--path" ]; do shift; done; cp "$2" kv-value; fi',
  'exit "${FAKE_WRANGLER_EXIT:-0}"',
  "",
].join("\n");

/** What wrangler 4.86 prints on stderr (colours and all) for a remote call without Cloudflare credentials; exit 1. */
export const LOGGED_OUT_WRANGLER = [
  "#!/bin/sh",
  'echo "$@" >> wrangler-calls',
  `printf '\\033[31m✘ \\033[41;31m[\\033[41;97mERROR\\033[41;31m]\\033[0m \\033[1mIn a non-interactive environment, it'"'"'s necessary to set a CLOUDFLARE_API_TOKEN environment variable for wrangler to work. Please go to https://developers.cloudflare.com/fundamentals/api/get-started/create-token/ for instructions on how to create an api token, and assign its value to CLOUDFLARE_API_TOKEN.\\033[0m\\n\\n\\n' >&2`,
  `printf '\\360\\237\\252\\265  Logs were written to "/tmp/wrangler-logs/wrangler-1.log"\\n' >&2`,
  "exit 1",
  "",
].join("\n");

const pkg = readFileSync("package.json", "utf8");

/** A new project directory; `files` are written into it (e.g. config.json), `wrangler` is the fake's script. */
export function fakeProject(files: Record<string, string> = {}, wrangler = RECORDING_WRANGLER): string {
  const cwd = mkdtempSync(join(tmpdir(), "bridge-project-"));
  writeFileSync(join(cwd, "package.json"), pkg);
  for (const linked of ["scripts", "src", "test"]) symlinkSync(resolve(linked), join(cwd, linked));
  mkdirSync(join(cwd, "dev"));
  symlinkSync(resolve("dev/worker.ts"), join(cwd, "dev", "worker.ts"));
  mkdirSync(join(cwd, "node_modules", ".bin"), { recursive: true });
  symlinkSync(resolve("node_modules/.bin/tsx"), join(cwd, "node_modules", ".bin", "tsx"));
  writeFileSync(join(cwd, "node_modules", ".bin", "wrangler"), wrangler, { mode: 0o755 });
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(cwd, name, ".."), { recursive: true });
    writeFileSync(join(cwd, name), text);
  }
  return cwd;
}

/** Replace the project's fake wrangler. */
export function useWrangler(cwd: string, wrangler: string): void {
  writeFileSync(join(cwd, "node_modules", ".bin", "wrangler"), wrangler, { mode: 0o755 });
}

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  /** Both streams, stdout first. */
  output: string;
  /** The fake wrangler's calls, one line of arguments each. */
  wranglerCalls: string[];
  kv: string | undefined;
}

export function readIn(cwd: string, name: string): string | undefined {
  return existsSync(join(cwd, name)) ? readFileSync(join(cwd, name), "utf8") : undefined;
}

/** `npm run <script> -- <args>` in `cwd`, quietly (no npm banner), with `env` added. */
export function npmRun(cwd: string, script: string, args: readonly string[] = [], env: Record<string, string> = {}): Run {
  const runEnv: NodeJS.ProcessEnv = { ...process.env, npm_config_update_notifier: "false", npm_config_fund: "false", ...env };
  delete runEnv.BRIDGE_CONFIG;
  const run = spawnSync("npm", ["run", "--silent", script, "--", ...args], { cwd, env: runEnv, encoding: "utf8", timeout: 90_000 });
  const calls = readIn(cwd, "wrangler-calls") ?? "";
  return {
    status: run.status,
    stdout: run.stdout,
    stderr: run.stderr,
    output: `${run.stdout}${run.stderr}`,
    wranglerCalls: calls.split("\n").filter(Boolean),
    kv: readIn(cwd, "kv-value"),
  };
}

/** True when `text` shows a JavaScript stack trace or a raw Node error dump. */
export function hasStack(text: string): boolean {
  return /^\s+at .+[(:]\d+|node:internal|^Node\.js v\d/m.test(text);
}
