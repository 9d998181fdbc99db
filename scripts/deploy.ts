// `npm run deploy [-- <wrangler deploy options>]`: the deploy checks (`npm run check`), then RSA keys made
// ahead of time in the deployed KV namespace (`npm run keys -- stock --remote`: the Worker never makes
// them), then `wrangler deploy` with the given options. A dry run (--dry-run) writes no keys.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { consoleIo, runCheck, type Io } from "./check.ts";
import { runKeys, wranglerKv, type KvAccess } from "./keys.ts";
import { isMain } from "./lib/main.ts";

export interface DeploySteps {
  readonly check: (io: Io) => number;
  readonly stock: (args: readonly string[], io: Io) => Promise<number>;
  readonly wrangler: (args: readonly string[]) => number;
}

const WRANGLER = join("node_modules", ".bin", "wrangler");

export const realSteps: DeploySteps = {
  check: (io) => runCheck([], io),
  stock: (args, io) => runKeys(args, (target): KvAccess => wranglerKv(target), io),
  wrangler: (args) => spawnSync(WRANGLER, ["deploy", ...args], { stdio: "inherit" }).status ?? 1,
};

export async function runDeploy(argv: readonly string[], steps: DeploySteps = realSteps, io: Io = consoleIo): Promise<number> {
  // Only what the stock needs to know; everything else goes to wrangler as given.
  const { values } = parseArgs({ args: [...argv], strict: false, options: { "dry-run": { type: "boolean" }, env: { type: "string", short: "e" } } });
  const check = steps.check(io);
  if (check !== 0) return check;
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
  return steps.wrangler(argv);
}

if (isMain(import.meta.url)) {
  process.exitCode = await runDeploy(process.argv.slice(2));
}
