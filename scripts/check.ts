// `npm run check [path]`: validate config.json (or the given file, or $BRIDGE_CONFIG) exactly as the
// Worker will, and name every bad field. Exit 0 when valid, 1 otherwise.
import { existsSync } from "node:fs";
import { validateConfig } from "../src/config.ts";
import { ConfigError } from "../src/errors.ts";
import { configWarnings } from "../src/warnings.ts";
import { DEFAULT_CONFIG, EXAMPLE_CONFIG, FileProblem, readJsonFile } from "./lib/config-file.ts";
import { isMain } from "./lib/main.ts";

export interface Io {
  out(line: string): void;
  err(line: string): void;
}

export const consoleIo: Io = { out: (l) => console.log(l), err: (l) => console.error(l) };

export function runCheck(args: readonly string[], io: Io = consoleIo, cwd = "."): number {
  const path = args[0] ?? process.env.BRIDGE_CONFIG ?? DEFAULT_CONFIG;
  let raw: unknown;
  try {
    raw = readJsonFile(path);
  } catch (err) {
    if (!(err instanceof FileProblem)) throw err;
    io.err(`✘ ${err.message}`);
    if (!existsSync(path)) {
      io.err(`  Create it with \`npm run client -- add <client-id> --redirect-uri <url>\` (it starts from ${EXAMPLE_CONFIG}),`);
      io.err(`  or copy ${EXAMPLE_CONFIG} to ${DEFAULT_CONFIG} and edit it.`);
    }
    return 1;
  }
  try {
    const config = validateConfig(raw);
    const names = config.clients.map((c) => c.clientId).join(", ");
    io.out(`✔ ${path} is valid: ${config.clients.length} client(s) (${names}), Discord application ${config.discord.clientId}, issuer ${config.issuer ?? "(the request's origin)"}`);
    for (const warning of configWarnings(config)) io.out(`  ⚠ ${warning}`);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.err(`✘ ${path} has ${err.problems.length} problem(s):`);
    for (const problem of err.problems) io.err(`  - ${problem}`);
    return 1;
  }
  if (!existsSync(`${cwd}/.dev.vars`)) {
    io.out("  note: no .dev.vars: `npm run dev` needs DISCORD_CLIENT_SECRET=... there; deployed Workers use `wrangler secret put DISCORD_CLIENT_SECRET`.");
  }
  return 0;
}

if (isMain(import.meta.url)) {
  process.exitCode = runCheck(process.argv.slice(2));
}
