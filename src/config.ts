// Configuration: config.json (bundled at build time) plus Worker vars and secrets, validated once per
// isolate. Every problem names the exact field so `npm run check` and the error page can point at it.
import { ConfigError } from "./errors";
import { memberCallGuilds } from "./guilds/plan";
import { DEFAULT_SIGNING_ALG, isSigningAlg, type SigningAlg } from "./keys/keyset";

export interface ClientConfig {
  /** The OAuth client_id the relying party sends ("App ID" in Cloudflare Access). */
  readonly clientId: string;
  /** A human name for pages and logs. */
  readonly name: string;
  /** Exact-match redirect URIs (RFC 6749 3.1.2, OIDC Core 3.1.2.1). */
  readonly redirectUris: readonly string[];
  /** `sha256:` + base64url(SHA-256(secret)); the secret itself is never stored. */
  readonly clientSecretHash: string;
  /** Refuse authorization requests without a PKCE challenge. */
  readonly requirePkce: boolean;
  /** The ID token signature algorithm this client expects (RS256 when the configuration names none). */
  readonly idTokenSigningAlg: SigningAlg;
  /** Whether config.json names the algorithm (false: the RS256 default, which may fall back to ES256). */
  readonly idTokenSigningAlgNamed: boolean;
  /** Log in only members of at least one of these guilds (empty: no guild check). */
  readonly requireGuilds: readonly string[];
  /** Log in only users with at least one of these roles: "<guildId>:<roleId>" or a `groups` alias name. */
  readonly requireRoles: readonly string[];
  /** An invite link shown to users who are refused for not being a member. */
  readonly joinUrl: string | undefined;
  /**
   * For users without a Discord-verified email: send `<discord id>@<this domain>` as `email` (never
   * `email_verified: true`), so Access can still tell them apart. Undefined: send no email at all.
   */
  readonly syntheticEmailDomain: string | undefined;
  /**
   * How long a login to this client lasts (its session length in Cloudflare Access, say): the login
   * ledger keeps each user's entry this long after their last login (src/ledger/).
   */
  readonly sessionHours: number;
}

/** clients[].sessionHours when config.json names none, and its range. */
export const DEFAULT_SESSION_HOURS = 24;
export const MAX_SESSION_HOURS = 24 * 30;

/** An operator-named group: members of `guild`, optionally only those with any of `anyRole`. */
export interface GroupAlias {
  readonly guild: string;
  readonly anyRole: readonly string[] | undefined;
}

/** Discord guild and role claims (README "Guilds and roles"). */
export interface GuildConfig {
  /** Keep the `guilds` claim to these guild ids; undefined: every guild of the user. */
  readonly include: readonly string[] | undefined;
  /** Guilds whose roles become `roles:<guildId>` claims. */
  readonly roleGuilds: readonly string[];
  /** Aliases that appear in the `groups` claim. */
  readonly groups: Readonly<Record<string, GroupAlias>>;
  /** Display names for guild ids on refusal pages. */
  readonly names: Readonly<Record<string, string>>;
}

/** Signing key rotation (README "Signing keys"). */
export interface KeyPolicy {
  readonly rotationPeriodDays: number;
  readonly leadTimeHours: number;
  readonly retireMarginHours: number;
}

export const DEFAULT_KEY_POLICY: KeyPolicy = { rotationPeriodDays: 30, leadTimeHours: 24, retireMarginHours: 24 };

/** What GET / shows: every client's settings, only the bridge's own addresses, or nothing (404). */
export const LANDING_PAGES = ["full", "minimal", "off"] as const;
export type LandingPage = (typeof LANDING_PAGES)[number];

export interface BridgeConfig {
  /** Fixed issuer (an origin); when absent the request's origin is used. */
  readonly issuer: string | undefined;
  readonly landingPage: LandingPage;
  readonly discord: { readonly clientId: string };
  readonly clients: readonly ClientConfig[];
  readonly keys: KeyPolicy;
  readonly guilds: GuildConfig;
}

/** Everything the request path needs: the file plus vars and secrets from the Worker environment. */
export interface Settings extends BridgeConfig {
  readonly discordClientSecret: string;
  readonly discordApiBase: string;
  readonly discordAuthorizeUrl: string;
  /** When set, roles are read with this bot token instead of the user's `guilds.members.read`. */
  readonly discordBotToken: string | undefined;
  readonly discordTimeoutMs: number;
  /** `npm start`'s demo relying party, linked from a local bridge's landing page. */
  readonly demoUrl: string | undefined;
}

/** The part of the Worker environment that configuration reads. */
export interface ConfigEnv {
  readonly DISCORD_CLIENT_SECRET?: string;
  readonly DISCORD_API_BASE?: string;
  readonly DISCORD_AUTHORIZE_URL?: string;
  readonly DISCORD_BOT_TOKEN?: string;
  readonly DISCORD_TIMEOUT_MS?: string;
  readonly DEMO_URL?: string;
}

export const DEFAULT_DISCORD_API_BASE = "https://discord.com/api/v10";
export const DEFAULT_DISCORD_AUTHORIZE_URL = "https://discord.com/oauth2/authorize";
export const DEFAULT_DISCORD_TIMEOUT_MS = 5000;
export const SECRET_HASH_PATTERN = /^sha256:[A-Za-z0-9_-]{43}$/;
const CLIENT_ID_PATTERN = /^[A-Za-z0-9._~-]{1,64}$/;
const SNOWFLAKE = /^\d{17,20}$/;
/** A DNS name of at least two labels, lower case (RFC 1035 letters, digits and hyphens). */
const DOMAIN = /^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;
/** Guilds whose roles a login may read: each is one Discord call (and maybe one retry) per login. */
export const MAX_MEMBER_CALL_GUILDS = 20;

type Problems = string[];

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A host name that can only be this machine (any 127.x address too): where a run is local. */
export function isLocalHost(hostname: string): boolean {
  return /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/.test(hostname);
}

export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "127.0.0.1" || host === "[::1]";
}

/** A value as a message shows it: quoted, with any whitespace other than a plain space escaped. */
function shown(value: string): string {
  return JSON.stringify(value).replace(/\s/gu, (c) => (c === " " ? c : `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`));
}

/**
 * A string with leading or trailing whitespace (any Unicode \s) never equals what a client, Discord or a
 * browser sends, and `new URL` would hide it by trimming: name it instead of letting every login fail.
 */
function padded(value: unknown, path: string, problems: Problems, show = true): boolean {
  if (typeof value !== "string" || !/^\s|\s$/u.test(value)) return false;
  problems.push(`${path} has leading or trailing whitespace${show ? `: ${shown(value)}` : ""}`);
  return true;
}

/** An absolute URL, https (or http on a loopback host for local work), without a fragment. */
function checkUrl(value: unknown, path: string, problems: Problems, options: { originOnly?: boolean } = {}): string | undefined {
  if (typeof value !== "string" || value === "") {
    problems.push(`${path} must be a non-empty string URL`);
    return undefined;
  }
  if (padded(value, path, problems)) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    problems.push(`${path} is not an absolute URL: "${value}"`);
    return undefined;
  }
  if (url.protocol !== "https:" && !(url.protocol === "http:" && isLoopback(url.hostname))) {
    problems.push(`${path} must use https (http is allowed only for localhost, 127.0.0.1 and [::1]): "${value}"`);
  }
  if (url.hash || value.includes("#")) problems.push(`${path} must not contain a fragment: "${value}"`);
  if (url.username || url.password) problems.push(`${path} must not contain credentials`);
  // The issuer is used as written (`iss`, discovery, endpoint URLs): it must be exactly its origin, so
  // "https://auth.example.org?", "https:auth.example.org" or an upper-case host cannot slip through.
  if (options.originOnly && value !== url.origin) {
    problems.push(`${path} must be an origin like "https://auth.example.com" (no path, no trailing slash): "${value}"`);
  }
  return value;
}

function checkKeys(obj: Record<string, unknown>, allowed: readonly string[], path: string, problems: Problems): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key) && !key.startsWith("$")) {
      problems.push(`${path}${path ? "." : ""}${key} is not a known field (allowed: ${allowed.join(", ")})`);
    }
  }
}

function checkClient(raw: unknown, path: string, problems: Problems): ClientConfig | undefined {
  if (!isRecord(raw)) {
    problems.push(`${path} must be an object`);
    return undefined;
  }
  checkKeys(raw, ["clientId", "name", "redirectUris", "clientSecretHash", "requirePkce", "idTokenSigningAlg", "requireGuilds", "requireRoles", "joinUrl", "syntheticEmailDomain", "sessionHours"], path, problems);
  const { clientId, name, redirectUris, clientSecretHash, requirePkce, idTokenSigningAlg, requireGuilds, requireRoles, joinUrl, syntheticEmailDomain, sessionHours } = raw;
  const guilds = checkSnowflakes(requireGuilds, `${path}.requireGuilds`, problems);
  const roles = checkStrings(requireRoles, `${path}.requireRoles`, problems, /^(\d{17,20}:\d{17,20}|[A-Za-z0-9_.-]{1,64})$/, '"<guildId>:<roleId>" or a groups alias name');
  const join = joinUrl === undefined ? undefined : checkUrl(joinUrl, `${path}.joinUrl`, problems);
  if (!padded(syntheticEmailDomain, `${path}.syntheticEmailDomain`, problems) && syntheticEmailDomain !== undefined && (typeof syntheticEmailDomain !== "string" || !DOMAIN.test(syntheticEmailDomain))) {
    problems.push(`${path}.syntheticEmailDomain must be a lower-case domain name like "discord.example.com" (no scheme, no @, no spaces)`);
  }
  if (!padded(clientId, `${path}.clientId`, problems) && (typeof clientId !== "string" || !CLIENT_ID_PATTERN.test(clientId))) {
    problems.push(`${path}.clientId must be 1-64 characters of A-Z a-z 0-9 . _ ~ -`);
  }
  if (name !== undefined && (typeof name !== "string" || name.length > 100)) {
    problems.push(`${path}.name must be a string of at most 100 characters`);
  }
  const uris: string[] = [];
  if (!Array.isArray(redirectUris) || redirectUris.length === 0) {
    problems.push(`${path}.redirectUris must be a non-empty array of URLs`);
  } else {
    redirectUris.forEach((u, i) => {
      const ok = checkUrl(u, `${path}.redirectUris[${i}]`, problems);
      if (!ok) return;
      uris.push(ok);
      checkResponseParameters(ok, `${path}.redirectUris[${i}]`, problems);
    });
  }
  if (!padded(clientSecretHash, `${path}.clientSecretHash`, problems, false) && (typeof clientSecretHash !== "string" || !SECRET_HASH_PATTERN.test(clientSecretHash))) {
    problems.push(
      `${path}.clientSecretHash must be "sha256:" followed by 43 base64url characters (create clients with \`npm run client -- add <name> --redirect-uri <url>\`)`,
    );
  }
  if (requirePkce !== undefined && typeof requirePkce !== "boolean") {
    problems.push(`${path}.requirePkce must be true or false`);
  }
  if (idTokenSigningAlg !== undefined && !isSigningAlg(idTokenSigningAlg)) {
    problems.push(`${path}.idTokenSigningAlg must be "RS256" (the default) or "ES256"`);
  }
  const session = sessionHours === undefined ? DEFAULT_SESSION_HOURS : sessionHours;
  const sessionOk = typeof session === "number" && Number.isFinite(session) && session >= 1 && session <= MAX_SESSION_HOURS;
  if (!sessionOk) problems.push(`${path}.sessionHours must be a number of hours from 1 to ${MAX_SESSION_HOURS} (default ${DEFAULT_SESSION_HOURS})`);
  if (typeof clientId !== "string" || typeof clientSecretHash !== "string") return undefined;
  return {
    clientId,
    name: typeof name === "string" ? name : clientId,
    redirectUris: uris,
    clientSecretHash,
    requirePkce: requirePkce === true,
    idTokenSigningAlg: isSigningAlg(idTokenSigningAlg) ? idTokenSigningAlg : DEFAULT_SIGNING_ALG,
    idTokenSigningAlgNamed: isSigningAlg(idTokenSigningAlg),
    requireGuilds: guilds,
    requireRoles: roles,
    joinUrl: join,
    syntheticEmailDomain: typeof syntheticEmailDomain === "string" && DOMAIN.test(syntheticEmailDomain) ? syntheticEmailDomain : undefined,
    sessionHours: sessionOk ? session : DEFAULT_SESSION_HOURS,
  };
}

/** Parameters the bridge adds to every redirect back to a client (RFC 6749 4.1.2 and 4.1.2.1, RFC 9207). */
const RESPONSE_PARAMETERS = ["code", "state", "iss", "error", "error_description"] as const;

/** A registered redirect URI that already carries one of them would give the client two, or a forged one. */
function checkResponseParameters(uri: string, path: string, problems: Problems): void {
  const query = new URL(uri).searchParams;
  for (const name of RESPONSE_PARAMETERS) {
    if (query.has(name)) {
      problems.push(`${path} already has the query parameter "${name}", which the bridge itself adds to its redirects (${RESPONSE_PARAMETERS.join(", ")}): remove it from "${uri}"`);
    }
  }
}

function checkStrings(raw: unknown, path: string, problems: Problems, pattern: RegExp, what: string): string[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) {
    problems.push(`${path} must be an array of ${what}`);
    return [];
  }
  const out: string[] = [];
  raw.forEach((v, i) => {
    if (padded(v, `${path}[${i}]`, problems)) return;
    if (typeof v !== "string" || !pattern.test(v)) problems.push(`${path}[${i}] must be ${what}`);
    else if (out.includes(v)) problems.push(`${path}[${i}] "${v}" is listed twice`);
    else out.push(v);
  });
  return out;
}

function checkSnowflakes(raw: unknown, path: string, problems: Problems): string[] {
  return checkStrings(raw, path, problems, SNOWFLAKE, "a Discord id (17-20 digits, as a string)");
}

const ALIAS_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

function checkGuilds(raw: Record<string, unknown>, problems: Problems): GuildConfig {
  let include: string[] | undefined;
  let names: Record<string, string> = {};
  if (raw.guilds !== undefined) {
    if (!isRecord(raw.guilds)) {
      problems.push('guilds must be an object like {"include": ["<guildId>"], "names": {"<guildId>": "My community"}}');
    } else {
      checkKeys(raw.guilds, ["include", "names"], "guilds", problems);
      if (raw.guilds.include !== undefined) include = checkSnowflakes(raw.guilds.include, "guilds.include", problems);
      if (raw.guilds.names !== undefined) {
        if (!isRecord(raw.guilds.names)) problems.push("guilds.names must map guild ids to display names");
        else {
          for (const [id, n] of Object.entries(raw.guilds.names)) {
            if (padded(id, `guilds.names[${shown(id)}]`, problems, false)) continue;
            if (!SNOWFLAKE.test(id) || typeof n !== "string" || n.length === 0 || n.length > 100) {
              problems.push(`guilds.names["${id}"] must map a Discord id to a name of 1-100 characters`);
            }
          }
          names = raw.guilds.names as Record<string, string>;
        }
      }
    }
  }
  const roleGuilds = checkSnowflakes(raw.roleGuilds, "roleGuilds", problems);
  const groups: Record<string, GroupAlias> = {};
  if (raw.groups !== undefined) {
    if (!isRecord(raw.groups)) {
      problems.push('groups must be an object like {"moderators": {"guild": "<guildId>", "anyRole": ["<roleId>"]}}');
    } else {
      for (const [name, def] of Object.entries(raw.groups)) {
        const path = `groups.${name}`;
        if (!ALIAS_NAME.test(name) || /^\d+$/.test(name)) problems.push(`${path}: a group name is 1-64 of A-Z a-z 0-9 _ . - and not all digits`);
        else if (name === "__proto__") problems.push(`${path}: "__proto__" cannot be a group name`);
        if (!isRecord(def)) {
          problems.push(`${path} must be an object like {"guild": "<guildId>", "anyRole": ["<roleId>"]}`);
          continue;
        }
        checkKeys(def, ["guild", "anyRole"], path, problems);
        if (!padded(def.guild, `${path}.guild`, problems) && (typeof def.guild !== "string" || !SNOWFLAKE.test(def.guild))) problems.push(`${path}.guild must be a Discord guild id (17-20 digits, as a string)`);
        const anyRole = def.anyRole === undefined ? undefined : checkSnowflakes(def.anyRole, `${path}.anyRole`, problems);
        if (anyRole !== undefined && anyRole.length === 0) problems.push(`${path}.anyRole must not be empty (leave it out to mean any member)`);
        if (typeof def.guild === "string") groups[name] = { guild: def.guild, anyRole };
      }
    }
  }
  return { include, roleGuilds, groups, names };
}

function checkKeyPolicy(raw: unknown, problems: Problems): KeyPolicy {
  if (raw === undefined) return DEFAULT_KEY_POLICY;
  if (!isRecord(raw)) {
    problems.push("keys must be an object like {\"rotationPeriodDays\": 30, \"leadTimeHours\": 24, \"retireMarginHours\": 24}");
    return DEFAULT_KEY_POLICY;
  }
  checkKeys(raw, ["rotationPeriodDays", "leadTimeHours", "retireMarginHours"], "keys", problems);
  const number = (name: keyof KeyPolicy, min: number, max: number): number => {
    const value = raw[name] ?? DEFAULT_KEY_POLICY[name];
    if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max) {
      problems.push(`keys.${name} must be a number from ${min} to ${max}`);
      return DEFAULT_KEY_POLICY[name];
    }
    return value;
  };
  const policy = {
    rotationPeriodDays: number("rotationPeriodDays", 1, 365),
    leadTimeHours: number("leadTimeHours", 1, 24 * 30),
    retireMarginHours: number("retireMarginHours", 1, 24 * 30),
  };
  if (policy.leadTimeHours >= policy.rotationPeriodDays * 24) {
    problems.push("keys.leadTimeHours must be shorter than keys.rotationPeriodDays");
  }
  return policy;
}

/** Validate the parsed config.json; throws ConfigError listing every problem. */
export function validateConfig(raw: unknown): BridgeConfig {
  const problems: Problems = [];
  if (!isRecord(raw)) throw new ConfigError(["the configuration must be a JSON object"]);
  checkKeys(raw, ["issuer", "landingPage", "discord", "clients", "keys", "guilds", "roleGuilds", "groups"], "", problems);

  const issuer = raw.issuer === undefined ? undefined : checkUrl(raw.issuer, "issuer", problems, { originOnly: true });
  const landingPage = raw.landingPage ?? "full";
  if (!(LANDING_PAGES as readonly unknown[]).includes(landingPage)) problems.push(`landingPage must be "full" (the default), "minimal" or "off"`);

  let discordClientId = "";
  if (!isRecord(raw.discord)) {
    problems.push(`discord must be an object like {"clientId": "<your Discord application id>"}`);
  } else {
    checkKeys(raw.discord, ["clientId"], "discord", problems);
    const id = raw.discord.clientId;
    if (typeof id === "string" && SNOWFLAKE.test(id)) discordClientId = id;
    else if (!padded(id, "discord.clientId", problems)) problems.push("discord.clientId must be your Discord application id (17-20 digits, as a string)");
  }

  const clients: ClientConfig[] = [];
  if (!Array.isArray(raw.clients) || raw.clients.length === 0) {
    problems.push("clients must be a non-empty array (add one with `npm run client -- add <name> --redirect-uri <url>`)");
  } else {
    const seen = new Set<string>();
    raw.clients.forEach((c, i) => {
      const client = checkClient(c, `clients[${i}]`, problems);
      if (!client) return;
      if (seen.has(client.clientId)) problems.push(`clients[${i}].clientId "${client.clientId}" is used twice`);
      seen.add(client.clientId);
      clients.push(client);
    });
  }

  const keys = checkKeyPolicy(raw.keys, problems);
  const guilds = checkGuilds(raw, problems);
  clients.forEach((client, i) => {
    client.requireRoles.forEach((entry, j) => {
      if (!entry.includes(":") && !Object.hasOwn(guilds.groups, entry)) problems.push(`clients[${i}].requireRoles[${j}] "${entry}" is not a group defined in groups`);
    });
  });

  const memberCalls = memberCallGuilds(guilds, clients).length;
  if (memberCalls > MAX_MEMBER_CALL_GUILDS) {
    problems.push(
      `roleGuilds, groups with anyRole and requireRoles name ${memberCalls} guilds; at most ${MAX_MEMBER_CALL_GUILDS} can have their roles read ` +
        "(one Discord call per guild per login, within the Workers limit of 50 calls per request)",
    );
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return { issuer, landingPage: landingPage as LandingPage, discord: { clientId: discordClientId }, clients, keys, guilds };
}

function discordTimeoutMs(env: ConfigEnv): number {
  return env.DISCORD_TIMEOUT_MS === undefined || env.DISCORD_TIMEOUT_MS === "" ? DEFAULT_DISCORD_TIMEOUT_MS : Number(env.DISCORD_TIMEOUT_MS);
}

/**
 * Problems in the Worker vars that configuration reads (not the secrets), each named with `source`
 * (e.g. "Worker var", or "wrangler.toml [vars]" for `npm run check`). The Discord URLs are overridden
 * only to reach a fake Discord (tests, `npm start`): https, or http on a loopback host.
 */
export function varProblems(env: ConfigEnv, source = "Worker var"): string[] {
  const problems: Problems = [];
  checkUrl(env.DISCORD_API_BASE || DEFAULT_DISCORD_API_BASE, `DISCORD_API_BASE (${source})`, problems);
  checkUrl(env.DISCORD_AUTHORIZE_URL || DEFAULT_DISCORD_AUTHORIZE_URL, `DISCORD_AUTHORIZE_URL (${source})`, problems);
  const timeoutMs = discordTimeoutMs(env);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 100 || timeoutMs > 30_000) problems.push(`DISCORD_TIMEOUT_MS (${source}) must be a whole number of milliseconds from 100 to 30000`);
  return problems;
}

/** Validate the file and the Worker environment together. */
export function loadSettings(raw: unknown, env: ConfigEnv): Settings {
  const problems: Problems = [];
  let config: BridgeConfig | undefined;
  try {
    config = validateConfig(raw);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.problems);
  }
  const secret = env.DISCORD_CLIENT_SECRET;
  if (typeof secret !== "string" || secret.length < 8) {
    problems.push(
      "DISCORD_CLIENT_SECRET (Worker secret) is missing: run `wrangler secret put DISCORD_CLIENT_SECRET`, or put it in .dev.vars for local runs",
    );
  }
  problems.push(...varProblems(env));
  if (problems.length > 0 || !config || typeof secret !== "string") throw new ConfigError(problems);
  return {
    ...config,
    discordClientSecret: secret,
    discordApiBase: (env.DISCORD_API_BASE || DEFAULT_DISCORD_API_BASE).replace(/\/+$/, ""),
    discordAuthorizeUrl: env.DISCORD_AUTHORIZE_URL || DEFAULT_DISCORD_AUTHORIZE_URL,
    discordBotToken: env.DISCORD_BOT_TOKEN || undefined,
    discordTimeoutMs: discordTimeoutMs(env),
    demoUrl: env.DEMO_URL || undefined,
  };
}

export function findClient(settings: BridgeConfig, clientId: string): ClientConfig | undefined {
  return settings.clients.find((c) => c.clientId === clientId);
}
