// The operator commands' side of wrangler: which of its options `npm run dev` and `npm run deploy` pass on
// (checked before anything runs, so a typo never gets as far as a key stock or a half-started dev server),
// and a failed wrangler call turned into one line plus wrangler's own first words, never a stack.
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { parseArgs } from "node:util";

/** The project's wrangler, as `npm ci` installs it (and as the tests replace it with a fake). */
export const WRANGLER = join("node_modules", ".bin", "wrangler");

/** A command-line mistake: the command prints it with its usage and exits 2. */
export class UsageError extends Error {}

/** True for the errors node:util parseArgs throws for an unknown option, a missing value, and the like. */
export function isParseArgsError(err: unknown): err is Error {
  return err instanceof TypeError && "code" in err && String(err.code).startsWith("ERR_PARSE_ARGS");
}

/** A parseArgs message without its advice on `--`, which under `npm run` would need a second `--`. */
export function usageMessage(err: Error): string {
  return err.message.replace(/\. To specify a positional argument starting with a '-'.*$/s, "");
}

/** One wrangler option a command passes on: `value` names its argument (none for a flag). */
export interface WranglerOption {
  readonly short?: string;
  readonly value?: string;
  readonly multiple?: boolean;
  readonly help: string;
}

export type WranglerOptions = Readonly<Record<string, WranglerOption>>;

/** The usage lines for a table of options, aligned. */
export function optionLines(options: WranglerOptions): string[] {
  const left = Object.entries(options).map(([name, o]) => `${o.short ? `-${o.short}, ` : "    "}--${name}${o.value ? ` <${o.value}>` : ""}`);
  const width = Math.max(...left.map((l) => l.length));
  return Object.values(options).map((o, i) => `  ${left[i]!.padEnd(width)}  ${o.help}${o.multiple ? " (repeatable)" : ""}`);
}

export type ParsedValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

/**
 * Check `argv` against the options a command passes on to wrangler. Everything after a `--` goes to
 * wrangler unchecked (`npm run deploy -- --dry-run -- --name other`), for the options not in the table.
 * Returns the parsed values (for the command's own use) and the arguments for wrangler, without the `--`.
 * Throws UsageError for an unknown option, a missing value or a stray word.
 */
export function wranglerArgs(argv: readonly string[], options: WranglerOptions, extra: Record<string, { type: "boolean"; short?: string }> = {}): { values: ParsedValues; args: string[]; own: ParsedValues } {
  const config = Object.fromEntries(
    Object.entries(options).map(([name, o]) => [name, { type: o.value ? ("string" as const) : ("boolean" as const), ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) }]),
  );
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: { ...config, ...extra }, allowPositionals: true, strict: true, tokens: true });
  } catch (err) {
    if (isParseArgsError(err)) throw new UsageError(usageMessage(err));
    throw err;
  }
  const end = parsed.tokens.find((t) => t.kind === "option-terminator")?.index ?? argv.length;
  const stray = parsed.tokens.find((t) => t.kind === "positional" && t.index < end);
  if (stray && stray.kind === "positional") throw new UsageError(`unexpected argument "${stray.value}"`);
  const ownNames = new Set(Object.keys(extra));
  const ownIndexes = new Set(parsed.tokens.filter((t) => t.kind === "option" && ownNames.has(t.name)).map((t) => t.index));
  const args = [...argv.slice(0, end).filter((_, i) => !ownIndexes.has(i)), ...argv.slice(end + 1)];
  const values: ParsedValues = {};
  const own: ParsedValues = {};
  for (const [name, value] of Object.entries(parsed.values)) (ownNames.has(name) ? own : values)[name] = value;
  return { values, args, own };
}

/**
 * wranglerArgs with the command's `--help`; a usage mistake is printed with `usage` and becomes exit
 * code 2, `--help` prints `usage` and becomes 0.
 */
export function commandArgs(argv: readonly string[], options: WranglerOptions, usage: string, io: { out(line: string): void; err(line: string): void }): { values: ParsedValues; args: string[] } | number {
  try {
    const { values, args, own } = wranglerArgs(argv, options, { help: { type: "boolean", short: "h" } });
    if (own.help) {
      io.out(usage);
      return 0;
    }
    return { values, args };
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.err(`✘ ${err.message}`);
    io.err(usage);
    return 2;
  }
}

/** A wrangler call that failed: `lines` is what to print (the first names the call), `hint` what to do next. */
export class WranglerFailed extends Error {
  constructor(
    readonly lines: readonly string[],
    readonly hint: string | undefined,
  ) {
    super(lines.join("\n"));
  }

  /** The lines as a command prints them: `✘ ...`, wrangler's words indented, then the hint. */
  report(): string[] {
    const [first = "", ...rest] = this.lines;
    return [`✘ ${first}`, ...rest.map((l) => `  ${l}`), ...(this.hint ? [`  hint: ${this.hint}`] : [])];
  }
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g;

/**
 * What wrangler said, trimmed to the lines that matter: no colours, no banner, no blank lines, no
 * `[ERROR]` badge, at most `max` lines of at most 400 characters. The log file line is kept apart.
 */
export function wranglerWords(output: string, max = 3): { lines: string[]; log: string | undefined } {
  let log: string | undefined;
  const lines: string[] = [];
  for (const raw of output.replace(ANSI, "").split(/\r?\n/)) {
    const line = raw.trim();
    const logged = /Logs were written to "([^"]+)"/.exec(line);
    if (logged) {
      log = logged[1];
      continue;
    }
    if (line === "" || /^⛅️? ?wrangler \d/.test(line) || /^[─-]{5,}$/.test(line) || /^\s*at /.test(raw)) continue;
    lines.push(line.replace(/^✘ \[ERROR\] /, "").replace(/^▲ \[WARNING\] /, "warning: "));
  }
  const kept = lines.slice(0, max).map((l) => (l.length > 400 ? `${l.slice(0, 397)}...` : l));
  return { lines: kept, log };
}

/** What to do about a failure wrangler described in `text`. */
export function wranglerHint(text: string, log: string | undefined): string | undefined {
  if (/CLOUDFLARE_API_TOKEN|not logged in|wrangler login|authenticat|Authentication error|\[code: 10000\]|\[code: 9109\]/i.test(text)) {
    return "log in with `npx wrangler login` (or set CLOUDFLARE_API_TOKEN for a run without a browser), then try again";
  }
  if (/namespace/i.test(text) && /not found|does not exist|invalid|\[code: 10041\]/i.test(text)) {
    return "check the KV namespace id in wrangler.toml: `npx wrangler kv namespace list` shows yours, `npm run check` names a placeholder";
  }
  if (/fetch failed|ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|network/i.test(text)) return "check the network connection, then try again";
  return log ? `wrangler's log has the details: ${log}` : undefined;
}

/** The failure of `wrangler <what>` (an execFileSync/spawnSync error or exit), as one line plus wrangler's own words. */
export function wranglerFailure(what: string, err: unknown): WranglerFailed {
  const e = err as { code?: unknown; status?: unknown; signal?: unknown; stderr?: unknown; stdout?: unknown; message?: unknown };
  if (e?.code === "ENOENT") return new WranglerFailed([`wrangler ${what} failed: wrangler is not installed (no ${WRANGLER})`], "run `npm ci` first");
  const text = `${typeof e?.stderr === "string" ? e.stderr : ""}\n${typeof e?.stdout === "string" ? e.stdout : ""}`;
  const { lines, log } = wranglerWords(text);
  const how = typeof e?.signal === "string" && e.signal ? `stopped by ${e.signal}` : typeof e?.status === "number" ? `exit code ${e.status}` : String(e?.message ?? err);
  const [first, ...rest] = lines.length > 0 ? lines : [`${how}, and it printed nothing`];
  return new WranglerFailed([`wrangler ${what} failed: ${first}`, ...rest], wranglerHint(text, log));
}

/** Run `wrangler <args>` and return its standard output; a failure throws WranglerFailed naming `what`. */
export function runWrangler(what: string, args: readonly string[], wrangler = WRANGLER): string {
  try {
    return execFileSync(wrangler, [...args], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
    });
  } catch (err) {
    throw wranglerFailure(what, err);
  }
}
