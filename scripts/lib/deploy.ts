// What a deployment needs beyond a valid config.json: one fixed issuer, no placeholder left from
// config.example.json, a real KV namespace; and Worker vars in wrangler.toml that the Worker accepts.
import { isLoopback, varProblems } from "../../src/config.ts";
import { tableAt, tablesAt, type TomlTable } from "./wrangler-toml.ts";

/** The placeholders config.example.json ships with (test/node/commands.test.ts keeps them in step with the file). */
export const EXAMPLE_ISSUER = "https://auth.example.com";
export const EXAMPLE_DISCORD_CLIENT_ID = "123456789012345678";
export const EXAMPLE_REDIRECT_URI = "https://your-team.cloudflareaccess.com/cdn-cgi/access/callback";
export const EXAMPLE_SECRET_HASH = "sha256:REPLACE_ME_WITH_npm_run_client_add_OUTPUT_0000";

const MISSING_ISSUER =
  "issuer is required to deploy: set it to the origin your Worker is served at, e.g. https://auth.<your-domain> or " +
  "https://discord-oidc-bridge.<you>.workers.dev; local runs default to the request's origin";

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** wrangler.toml's top-level tables and those of each `[env.<name>]`, with how a message names them. */
function environments(toml: TomlTable): { label: string; table: TomlTable }[] {
  const envs = tableAt(toml, "env") ?? {};
  return [{ label: "", table: toml }, ...Object.keys(envs).flatMap((name) => {
    const table = tableAt(envs, name);
    return table ? [{ label: `env.${name}.`, table }] : [];
  })];
}

/** The Worker vars in wrangler.toml ([vars] and each [env.<name>.vars]), checked as the Worker checks them. */
export function wranglerVarProblems(toml: TomlTable): string[] {
  return environments(toml).flatMap(({ label, table }) => {
    const vars = tableAt(table, "vars");
    if (!vars) return [];
    const strings = Object.entries(vars).filter((entry): entry is [string, string] => typeof entry[1] === "string");
    return varProblems(Object.fromEntries(strings), `wrangler.toml [${label}vars]`);
  });
}

/**
 * Deploy-time problems, each naming its field. `raw` is the parsed config.json, read leniently: the
 * validator names what is malformed, this names what is valid but not deployable.
 */
export function deployProblems(raw: unknown, toml: TomlTable): string[] {
  const problems: string[] = [];
  const config = isRecord(raw) ? raw : {};
  const { issuer } = config;
  if (issuer === undefined) problems.push(MISSING_ISSUER);
  else if (issuer === EXAMPLE_ISSUER) problems.push(`issuer is still the example's placeholder "${EXAMPLE_ISSUER}": set it to the origin your Worker is served at`);
  else if (typeof issuer === "string" && URL.canParse(issuer) && isLoopback(new URL(issuer).hostname)) {
    problems.push(`issuer "${issuer}" is a loopback origin, fine for local runs only: set it to the origin your Worker is served at`);
  }
  if (isRecord(config.discord) && config.discord.clientId === EXAMPLE_DISCORD_CLIENT_ID) {
    problems.push(`discord.clientId is still the example's placeholder "${EXAMPLE_DISCORD_CLIENT_ID}": set it to your Discord application id (developer portal, OAuth2, Client ID)`);
  }
  const clients = Array.isArray(config.clients) ? config.clients : [];
  clients.forEach((client: unknown, i) => {
    if (!isRecord(client)) return;
    if (client.clientSecretHash === EXAMPLE_SECRET_HASH) {
      problems.push(`clients[${i}].clientSecretHash is still the example's placeholder: create the client with \`npm run client -- add <client-id> --redirect-uri <url>\``);
    }
    const uris = Array.isArray(client.redirectUris) ? client.redirectUris : [];
    uris.forEach((uri: unknown, j) => {
      if (uri === EXAMPLE_REDIRECT_URI) {
        problems.push(`clients[${i}].redirectUris[${j}] is still the example's placeholder "${EXAMPLE_REDIRECT_URI}": use your own team's name in place of your-team`);
      }
    });
  });
  for (const { label, table } of environments(toml)) {
    tablesAt(table, "kv_namespaces").forEach((ns, i) => {
      if (typeof ns.id !== "string" || !/^0+$/.test(ns.id)) return;
      const binding = typeof ns.binding === "string" ? ns.binding : "KV";
      problems.push(
        `wrangler.toml ${label}kv_namespaces[${i}].id (binding "${binding}") is the example's all-zero placeholder: ` +
          `create the namespace with \`npx wrangler kv namespace create ${binding}\` and paste the id it prints`,
      );
    });
  }
  return problems;
}
