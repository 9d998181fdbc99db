// `npm run deploy [-- <wrangler deploy options>]`: the deploy checks (`npm run check`), then RSA keys made
// ahead of time in the deployed KV namespace (`npm run keys -- stock --remote`: the Worker never makes
// them), then `wrangler deploy` with the given options. A dry run (--dry-run) writes no keys.
// The options are checked before anything runs; anything after a second `--` goes to wrangler unchecked.
import { spawnSync } from "node:child_process";
import { consoleIo, runCheck, type Io } from "./check.ts";
import { runKeys, wranglerKv, type KvAccess } from "./keys.ts";
import { isMain, runMain } from "./lib/main.ts";
import { commandArgs, optionLines, WRANGLER, wranglerFailure, WranglerFailed, type WranglerOptions } from "./lib/wrangler.ts";

export interface DeploySteps {
  readonly check: (io: Io) => number;
  readonly stock: (args: readonly string[], io: Io) => Promise<number>;
  readonly wrangler: (args: readonly string[]) => number;
}

/** The wrangler deploy options `npm run deploy` passes on (test/node/cli.test.ts checks wrangler knows each). */
export const DEPLOY_OPTIONS: WranglerOptions = {
  "dry-run": { help: "check and build without uploading; no keys are made" },
  outdir: { value: "dir", help: "where the built Worker is written" },
  env: { short: "e", value: "name", help: "a wrangler environment ([env.<name>] in wrangler.toml); its KV namespace gets the keys" },
  minify: { help: "minify the Worker" },
  "keep-vars": { help: "keep vars set in the dashboard" },
  "upload-source-maps": { help: "upload source maps with the Worker" },
  message: { value: "text", help: "a message for this version of the Worker" },
  tag: { value: "tag", help: "a tag for this version of the Worker" },
  strict: { help: "wrangler's strict mode: no deploy on small potential risks" },
};

export const DEPLOY_USAGE = [
  "usage: npm run deploy [-- [options] [-- <other wrangler deploy options>]]",
  "  the deploy checks (npm run check), RSA keys made ahead of time in the deployed KV namespace",
  "  (npm run keys -- stock --remote), then wrangler deploy with these options:",
  ...optionLines({ ...DEPLOY_OPTIONS, help: { short: "h", help: "this text" } }),
  "  anything after a second -- goes to wrangler deploy unchecked (npx wrangler deploy --help lists it all)",
].join("\n");

export const realSteps: DeploySteps = {
  check: (io) => runCheck([], io),
  stock: (args, io) => runKeys(args, (target): KvAccess => wranglerKv(target), io),
  wrangler: (args) => {
    const run = spawnSync(WRANGLER, ["deploy", ...args], { stdio: "inherit" });
    if (run.error) throw wranglerFailure("deploy", run.error);
    return run.status ?? 1;
  },
};

export async function runDeploy(argv: readonly string[], steps: DeploySteps = realSteps, io: Io = consoleIo): Promise<number> {
  const parsed = commandArgs(argv, DEPLOY_OPTIONS, DEPLOY_USAGE, io);
  if (typeof parsed === "number") return parsed;
  const { values, args } = parsed;
  const check = steps.check(io);
  if (check !== 0) {
    io.err("  (not deployed: nothing was written and wrangler did not run)");
    return check;
  }
  if (values["dry-run"] === true) io.out("dry run: no RSA keys are made in the deployed KV namespace");
  else {
    io.out("Making RSA signing keys ahead of time in the deployed KV namespace (npm run keys -- stock --remote):");
    const env = typeof values.env === "string" ? ["--env", values.env] : [];
    const stocked = await steps.stock(["stock", "--remote", ...env], io);
    if (stocked !== 0) {
      io.err("✘ not deployed: the signing keys could not be stocked (see above)");
      return stocked;
    }
  }
  let deployed: number;
  try {
    deployed = steps.wrangler(args);
  } catch (err) {
    if (!(err instanceof WranglerFailed)) throw err;
    for (const line of err.report()) io.err(line);
    return 1;
  }
  if (deployed !== 0) io.err(`✘ not deployed: wrangler deploy failed (exit code ${deployed}); its message is above`);
  return deployed;
}

if (isMain(import.meta.url)) runMain("npm run deploy", () => runDeploy(process.argv.slice(2)));
