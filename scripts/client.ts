// `npm run client -- add|list|remove`: manage the OIDC clients (and the issuer) in config.json. `add` generates
// the client secret, prints it once and stores only its hash; every change is validated before writing.
import { existsSync } from "node:fs";
import { parseArgs } from "node:util";
import { validateConfig } from "../src/config.ts";
import { DEFAULT_SIGNING_ALG, isSigningAlg, type SigningAlg } from "../src/keys/keyset.ts";
import { ConfigError } from "../src/errors.ts";
import { consoleIo, type Io } from "./check.ts";
import { DEFAULT_CONFIG, EXAMPLE_CONFIG, FileProblem, hashClientSecret, newClientSecret, readJsonFile, writeJsonFileAtomic } from "./lib/config-file.ts";
import { deployProblems } from "./lib/deploy.ts";
import { isMain, runMain } from "./lib/main.ts";
import { isParseArgsError, usageMessage } from "./lib/wrangler.ts";

const USAGE = `usage:
  npm run client -- add <client-id> --redirect-uri <url> [--redirect-uri <url>...] [--name "Display name"] [--require-pkce] [--alg RS256|ES256] [--rotate-secret] [--issuer <origin>]
  npm run client -- list
  npm run client -- remove <client-id>
options:
  --config <path>     the configuration file (default: config.json)
  --issuer <origin>   with add: set "issuer", the origin the Worker is served at (e.g. https://auth.example.org)
  --alg <alg>         with add: the ID token signature; default ES256 for a Cloudflare Access callback, else RS256`;

const ADD_OPTIONS = ["redirect-uri", "name", "require-pkce", "alg", "rotate-secret", "issuer"] as const;

/** Cloudflare Access's callback: https://<team>.cloudflareaccess.com/cdn-cgi/access/callback. */
const ACCESS_CALLBACK = /^https:\/\/[a-z0-9-]+\.cloudflareaccess\.com\/cdn-cgi\/access\/callback$/;

/**
 * The ID token algorithm for a new client, and why. Access accepts ES256, whose tokens are 256 bytes
 * smaller than RS256's (its session cookie has a size limit); anything else gets RS256, what an OpenID
 * Connect client registered without an algorithm expects.
 */
export function chooseAlg(redirectUris: readonly string[], named: string | undefined): { alg: SigningAlg; why: string } {
  if (named !== undefined) {
    if (!isSigningAlg(named)) throw new UsageError(`--alg is RS256 or ES256, got "${named}"`);
    return { alg: named, why: "as asked" };
  }
  if (redirectUris.length > 0 && redirectUris.every((u) => ACCESS_CALLBACK.test(u))) {
    return { alg: "ES256", why: "a Cloudflare Access callback: Access accepts ES256, and its tokens are 256 bytes smaller than RS256's; --alg RS256 to change" };
  }
  return { alg: DEFAULT_SIGNING_ALG, why: "what OpenID Connect clients expect by default; --alg ES256 for 256-byte smaller tokens if the client accepts ES256" };
}

type Json = Record<string, unknown>;

class UsageError extends Error {}

function load(path: string, createIfMissing: boolean): Json {
  if (!existsSync(path) && createIfMissing) {
    const example = readJsonFile(EXAMPLE_CONFIG) as Json;
    // The example's client is a placeholder: start with no clients.
    return { ...example, clients: [] };
  }
  const raw = readJsonFile(path);
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new FileProblem(`${path} must hold a JSON object`);
  return raw as Json;
}

function clientsOf(config: Json): Json[] {
  return Array.isArray(config.clients) ? (config.clients as Json[]) : [];
}

/** Validate, naming only the problems of what this command touches when the rest is still a template. */
function checkBeforeWrite(config: Json, touched: string | undefined, issuerTouched: boolean, io: Io): boolean {
  try {
    validateConfig(config);
    return true;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const index = clientsOf(config).findIndex((c) => c.clientId === touched);
    const mine = err.problems.filter((p) => p.startsWith(`clients[${index}]`) || (issuerTouched && p.startsWith("issuer ")));
    if (mine.length > 0) {
      io.err("✘ not written:");
      for (const p of mine) io.err(`  - ${p}`);
      return false;
    }
    // Problems elsewhere (e.g. discord.clientId still the example's) do not block this change.
    io.out("  note: the rest of the file still needs attention (`npm run check` lists it):");
    for (const p of err.problems) io.out(`  - ${p}`);
    return true;
  }
}

/** One client id: `add My Wiki` would otherwise quietly become a client named "My". */
function oneClientId(command: string, positionals: readonly string[]): string {
  const [clientId, ...extra] = positionals;
  if (!clientId) throw new UsageError(`${command} needs a client id`);
  if (extra.length > 0) {
    const words = positionals.map((w) => `"${w}"`).join(" ");
    const hint = command === "add" ? `; for a display name with spaces, quote it and pass it with --name, e.g. add my-wiki --name "${positionals.join(" ")}"` : "";
    throw new UsageError(`${command} takes one client id, got ${positionals.length} words: ${words}. A client id has no spaces${hint}`);
  }
  return clientId;
}

function add(path: string, positionals: string[], values: { "redirect-uri"?: string[]; name?: string; "require-pkce"?: boolean; alg?: string; "rotate-secret"?: boolean; issuer?: string }, io: Io): number {
  const clientId = oneClientId("add", positionals);
  const created = !existsSync(path);
  // A created file keeps the example's issuer (a placeholder `npm run check` refuses to deploy); a configured one is never dropped.
  const config = load(path, true);
  if (values.issuer !== undefined) config.issuer = values.issuer;
  const clients = clientsOf(config);
  const existing = clients.find((c) => c.clientId === clientId);
  const secret = newClientSecret();
  let signing: { alg: SigningAlg; why: string } | undefined;
  if (existing) {
    if (values.alg !== undefined) throw new UsageError("--alg goes with a new client (edit idTokenSigningAlg in the file to change an existing one)");
    if (!values["rotate-secret"]) {
      io.err(`✘ a client "${clientId}" already exists in ${path}; use --rotate-secret to give it a new secret, or remove it first`);
      return 1;
    }
    existing.clientSecretHash = hashClientSecret(secret);
  } else {
    const redirectUris = values["redirect-uri"] ?? [];
    if (redirectUris.length === 0) throw new UsageError("add needs at least one --redirect-uri");
    const client: Json = { clientId, redirectUris, clientSecretHash: hashClientSecret(secret) };
    if (values.name !== undefined) client.name = values.name;
    if (values["require-pkce"]) client.requirePkce = true;
    signing = chooseAlg(redirectUris, values.alg);
    // The default is left out of the file, so the file says only what differs from it.
    if (signing.alg !== DEFAULT_SIGNING_ALG) client.idTokenSigningAlg = signing.alg;
    clients.push(client);
    config.clients = clients;
  }
  if (!checkBeforeWrite(config, clientId, values.issuer !== undefined, io)) return 1;
  writeJsonFileAtomic(path, config);
  io.out(`✔ ${existing ? "new secret for" : "added"} client "${clientId}" in ${path}`);
  io.out("");
  io.out(`  client id:     ${clientId}`);
  io.out(`  client secret: ${secret}`);
  if (signing) io.out(`  ID tokens:     ${signing.alg} (${signing.why})`);
  io.out("");
  io.out("  The secret is shown only this once (only its hash is stored). Paste it now into your");
  io.out('  OIDC client, e.g. Cloudflare Access, "Client secret". Then deploy: `npm run deploy`.');
  if (created) {
    io.out("");
    io.out(`  ${path} was created from ${EXAMPLE_CONFIG}.`);
  }
  const todo = deployProblems(config, {});
  if (todo.length > 0) {
    io.out("");
    io.out(`  Before deploying, ${path} still needs (\`npm run check\` lists everything):`);
    for (const problem of todo) io.out(`  - ${problem}`);
    if (todo.some((p) => p.startsWith("issuer "))) io.out(`  Set the issuer with \`--issuer <origin>\` on this command, or edit "issuer" in ${path}.`);
  }
  return 0;
}

function list(path: string, io: Io): number {
  const clients = clientsOf(load(path, false));
  if (clients.length === 0) io.out(`no clients in ${path}`);
  for (const c of clients) {
    const uris = Array.isArray(c.redirectUris) ? c.redirectUris.join(", ") : "";
    io.out(`${String(c.clientId)}${c.name ? ` (${String(c.name)})` : ""}${c.requirePkce ? " [PKCE required]" : ""}: ${uris}`);
  }
  return 0;
}

function remove(path: string, positionals: string[], io: Io): number {
  const clientId = oneClientId("remove", positionals);
  const config = load(path, false);
  const clients = clientsOf(config);
  if (!clients.some((c) => c.clientId === clientId)) {
    io.err(`✘ no client "${clientId}" in ${path}`);
    return 1;
  }
  config.clients = clients.filter((c) => c.clientId !== clientId);
  writeJsonFileAtomic(path, config);
  io.out(`✔ removed client "${clientId}" from ${path}`);
  return 0;
}

export function runClient(argv: readonly string[], io: Io = consoleIo): number {
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        config: { type: "string" },
        "redirect-uri": { type: "string", multiple: true },
        name: { type: "string" },
        "require-pkce": { type: "boolean" },
        alg: { type: "string" },
        "rotate-secret": { type: "boolean" },
        issuer: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
    const [command, ...rest] = positionals;
    const path = values.config ?? DEFAULT_CONFIG;
    if (values.help) {
      io.out(USAGE);
      return 0;
    }
    const misplaced = ADD_OPTIONS.find((option) => values[option] !== undefined);
    if ((command === "list" || command === "remove") && misplaced) throw new UsageError(`--${misplaced} is an option of add, not of ${command}`);
    switch (command) {
      case "add":
        return add(path, rest, values, io);
      case "list":
        if (rest.length > 0) throw new UsageError(`list takes no arguments, got "${rest.join(" ")}"`);
        return list(path, io);
      case "remove":
        return remove(path, rest, io);
      default:
        throw new UsageError(command ? `unknown command "${command}"` : "a command is needed");
    }
  } catch (err) {
    if (err instanceof FileProblem) {
      io.err(`✘ ${err.message}`);
      return 1;
    }
    if (err instanceof UsageError || isParseArgsError(err)) {
      io.err(`✘ ${usageMessage(err)}`);
      io.err(USAGE);
      return 2;
    }
    throw err;
  }
}

if (isMain(import.meta.url)) runMain("npm run client", () => runClient(process.argv.slice(2)));
