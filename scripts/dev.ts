// `npm run dev [-- <wrangler dev options>]`: check the configuration wrangler bundles (config.json, or
// what wrangler.toml's [alias] "bridge-config" names) as `npm run check -- --local` does, and stop there
// with its message when it is missing or invalid; else `wrangler dev` with the given options, against
// the real Discord. The options are checked first; anything after a second `--` goes to wrangler unchecked.
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { constants } from "node:os";
import { dirname, join } from "node:path";
import { consoleIo, runCheck, type Io } from "./check.ts";
import { DEFAULT_CONFIG } from "./lib/config-file.ts";
import { isMain, runMain } from "./lib/main.ts";
import { commandArgs, optionLines, WRANGLER, wranglerFailure, WranglerFailed, type WranglerOptions } from "./lib/wrangler.ts";
import { parseToml, tableAt, TomlProblem } from "./lib/wrangler-toml.ts";

export interface DevSteps {
  readonly check: (args: readonly string[], io: Io, cwd: string) => number;
  /** `wrangler dev <args>` until it exits; its exit code. */
  readonly wrangler: (args: readonly string[]) => Promise<number>;
}

/** The wrangler dev options `npm run dev` passes on (test/node/cli.test.ts checks wrangler knows each). */
export const DEV_OPTIONS: WranglerOptions = {
  port: { value: "port", help: "the port to listen on (default 8787)" },
  ip: { value: "address", help: "the address to listen on" },
  "inspector-port": { value: "port", help: "the devtools port (default 9229)" },
  "local-protocol": { value: "http|https", help: "serve http (default) or https" },
  "persist-to": { value: "dir", help: "the local state directory (default .wrangler/state)" },
  var: { value: "NAME:value", multiple: true, help: "set a Worker var, e.g. DISCORD_TIMEOUT_MS:10000" },
  env: { short: "e", value: "name", help: "a wrangler environment ([env.<name>] in wrangler.toml)" },
  "log-level": { value: "level", help: "debug, info, log, warn, error or none" },
  "test-scheduled": { help: "serve /__scheduled to run the key rotation by hand" },
  "live-reload": { help: "reload HTML pages on a change" },
  "show-interactive-dev-session": { help: "the hotkeys bar (default: on in a terminal)" },
};

export const DEV_USAGE = [
  "usage: npm run dev [-- [options] [-- <other wrangler dev options>]]",
  "  checks the configuration wrangler bundles (as npm run check -- --local does), then runs wrangler dev",
  "  against the real Discord (DISCORD_CLIENT_SECRET=... in .dev.vars) with these options:",
  ...optionLines({ ...DEV_OPTIONS, help: { short: "h", help: "this text" } }),
  "  anything after a second -- goes to wrangler dev unchecked (npx wrangler dev --help lists it all)",
  "  npm start runs the bridge with a fake Discord instead: no Discord application needed",
].join("\n");

/** The configuration file wrangler bundles: wrangler.toml [alias] "bridge-config", else config.json. */
export function bundledConfig(cwd = "."): string {
  const tomlPath = join(cwd, "wrangler.toml");
  if (!existsSync(tomlPath)) return DEFAULT_CONFIG;
  try {
    const bundled = tableAt(parseToml(readFileSync(tomlPath, "utf8")), "alias")?.["bridge-config"];
    return typeof bundled === "string" ? join(dirname("wrangler.toml"), bundled) : DEFAULT_CONFIG;
  } catch (err) {
    if (!(err instanceof TomlProblem)) throw err;
    return DEFAULT_CONFIG; // the check names the unreadable file
  }
}

/** wrangler dev in the foreground; a signal sent to this process (npm forwards Ctrl-C and kill) goes on to it. */
function wranglerDev(args: readonly string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(WRANGLER, [...args], { stdio: "inherit" });
    const signals = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
    const forward = (signal: NodeJS.Signals) => void child.kill(signal);
    for (const signal of signals) process.on(signal, forward);
    const done = () => {
      for (const signal of signals) process.off(signal, forward);
    };
    child.once("error", (err) => {
      done();
      reject(wranglerFailure("dev", err));
    });
    child.once("exit", (code, signal) => {
      done();
      resolve(code ?? (signal ? 128 + (constants.signals[signal] ?? 0) : 1));
    });
  });
}

export const realDevSteps: DevSteps = { check: (args, io, cwd) => runCheck(args, io, cwd), wrangler: wranglerDev };

export async function runDev(argv: readonly string[], steps: DevSteps = realDevSteps, io: Io = consoleIo, cwd = "."): Promise<number> {
  const parsed = commandArgs(argv, DEV_OPTIONS, DEV_USAGE, io);
  if (typeof parsed === "number") return parsed;
  const checked = steps.check(["--local", bundledConfig(cwd)], io, cwd);
  if (checked !== 0) {
    io.err("  (wrangler dev was not started)");
    return checked;
  }
  try {
    return await steps.wrangler(["dev", ...parsed.args]);
  } catch (err) {
    if (!(err instanceof WranglerFailed)) throw err;
    for (const line of err.report()) io.err(line);
    return 1;
  }
}

if (isMain(import.meta.url)) runMain("npm run dev", () => runDev(process.argv.slice(2)));
