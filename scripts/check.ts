// `npm run check [-- --local] [path]`: validate config.json (or the given file, or $BRIDGE_CONFIG) and the vars
// in wrangler.toml exactly as the Worker will, then what deploying needs; name every bad field. Exit 0 or 1.
import { existsSync, readFileSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { validateConfig, type BridgeConfig } from "../src/config.ts";
import { ConfigError } from "../src/errors.ts";
import { configWarnings } from "../src/warnings.ts";
import { DEFAULT_CONFIG, EXAMPLE_CONFIG, FileProblem, readJsonFile } from "./lib/config-file.ts";
import { deployProblems, wranglerVarProblems } from "./lib/deploy.ts";
import { isMain, runMain } from "./lib/main.ts";
import { isParseArgsError, usageMessage } from "./lib/wrangler.ts";
import { parseToml, tableAt, TomlProblem, type TomlTable } from "./lib/wrangler-toml.ts";

export interface Io {
  out(line: string): void;
  err(line: string): void;
}

export const consoleIo: Io = { out: (l) => console.log(l), err: (l) => console.error(l) };

const USAGE = `usage: npm run check [-- [--local] [path]]
  path      the configuration file (default: $BRIDGE_CONFIG, else config.json)
  --local   only what local runs (\`npm run dev\`) need: skip the deploy checks (issuer set, no example
            placeholders, a real KV namespace), which \`npm run deploy\` always runs`;

/** The leading field name of a problem ("clients[0].clientSecretHash must be ..." -> "clients[0].clientSecretHash"). */
const fieldOf = (problem: string): string => problem.split(" ", 1)[0] ?? "";

function list(io: Io, heading: string, problems: readonly string[]): void {
  io.err(heading);
  for (const problem of problems) io.err(`  - ${problem}`);
}

/** wrangler.toml parsed, or why not; undefined when the file is absent. */
function readWranglerToml(path: string): TomlTable | string | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return parseToml(readFileSync(path, "utf8"));
  } catch (err) {
    if (!(err instanceof TomlProblem)) throw err;
    return `${path} could not be read at ${err.message}`;
  }
}

/** The checked file must be the one wrangler bundles (wrangler.toml [alias] "bridge-config", relative to wrangler.toml). */
function bundledElsewhere(path: string, tomlPath: string, toml: TomlTable): string[] {
  const bundled = tableAt(toml, "alias")?.["bridge-config"];
  if (typeof bundled !== "string" || resolve(dirname(tomlPath), bundled) === resolve(path)) return [];
  return [`wrangler.toml [alias] "bridge-config" bundles ${bundled}, not the checked ${path}: check the file that will be deployed`];
}

/** `cwd` stands for the process's working directory (tests pass a temporary one). */
export function runCheck(args: readonly string[], io: Io = consoleIo, cwd = "."): number {
  let parsed;
  try {
    parsed = parseArgs({ args: [...args], allowPositionals: true, options: { local: { type: "boolean" }, help: { type: "boolean", short: "h" } } });
  } catch (err) {
    if (!isParseArgsError(err)) throw err;
    io.err(`✘ ${usageMessage(err)}`);
    io.err(USAGE);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  if (positionals.length > 1) {
    io.err(`✘ check takes one configuration file, got ${positionals.length}: ${positionals.join(" ")}`);
    io.err(USAGE);
    return 2;
  }
  const inCwd = (p: string): string => (isAbsolute(p) ? p : join(cwd, p));
  const path = inCwd(positionals[0] ?? process.env.BRIDGE_CONFIG ?? DEFAULT_CONFIG);
  const local = values.local === true;

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

  // 1. The file, exactly as the Worker validates it.
  let config: BridgeConfig | undefined;
  let invalid: readonly string[] = [];
  try {
    config = validateConfig(raw);
    const names = config.clients.map((c) => c.clientId).join(", ");
    io.out(`✔ ${path} is valid: ${config.clients.length} client(s) (${names}), Discord application ${config.discord.clientId}, issuer ${config.issuer ?? "(the request's origin)"}`);
    for (const warning of configWarnings(config)) io.out(`  ⚠ ${warning}`);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    invalid = err.problems;
    list(io, `✘ ${path} has ${invalid.length} problem(s):`, invalid);
  }

  // 2. The Worker vars in wrangler.toml, which local runs use too.
  const tomlPath = inCwd("wrangler.toml");
  const toml = readWranglerToml(tomlPath);
  const badVars = typeof toml === "object" ? wranglerVarProblems(toml) : [];
  if (local && typeof toml === "string") io.out(`  ⚠ ${toml}; its vars were not checked`);
  if (badVars.length > 0) list(io, `✘ ${tomlPath} has ${badVars.length} problem(s):`, badVars);

  // 3. What deploying needs; a field the validator already named is not named twice.
  let notReady: string[] = [];
  if (!local) {
    const named = new Set(invalid.map(fieldOf));
    if (typeof toml === "object") notReady = [...bundledElsewhere(path, tomlPath, toml), ...deployProblems(raw, toml).filter((p) => !named.has(fieldOf(p)))];
    else notReady = [...deployProblems(raw, {}), toml ?? `${tomlPath} not found: deploying needs it (the KV namespace, the Durable Objects)`];
    if (notReady.length > 0) list(io, "✘ not ready to deploy (`npm run check -- --local` skips these checks for local runs):", notReady);
    else if (config) io.out(`✔ ready to deploy: issuer ${config.issuer ?? ""}`);
  }

  if (invalid.length > 0 || badVars.length > 0 || notReady.length > 0) return 1;
  if (!existsSync(inCwd(".dev.vars"))) {
    io.out("  note: no .dev.vars: `npm run dev` needs DISCORD_CLIENT_SECRET=... there; deployed Workers use `wrangler secret put DISCORD_CLIENT_SECRET`.");
  }
  return 0;
}

if (isMain(import.meta.url)) runMain("npm run check", () => runCheck(process.argv.slice(2)));
