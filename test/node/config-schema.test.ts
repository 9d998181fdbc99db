// config.schema.json (what editors complete and check config.json with) kept in step with validateConfig
// (src/config.ts, what `npm run check` and the Worker apply): the same field names at every level, the
// same patterns, ranges, enums and defaults, and the same verdict on a table of configurations. The
// rules a schema cannot state are listed below as known differences, each asserted both ways, so that
// a change on either side shows up here.
import Ajv, { type ErrorObject, type ValidateFunction } from "ajv";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { DEFAULT_KEY_POLICY, DEFAULT_SESSION_HOURS, MAX_MEMBER_CALL_GUILDS, MAX_SESSION_HOURS, SECRET_HASH_PATTERN, validateConfig } from "../../src/config.ts";
import { ConfigError } from "../../src/errors.ts";
import { DEFAULT_SIGNING_ALG, SIGNING_ALGS } from "../../src/keys/keyset.ts";

type Json = any; // configurations under test are deliberately malformed
type Schema = Record<string, any>;

const readJson = (path: string): Json => JSON.parse(readFileSync(path, "utf8"));
const schema: Schema = readJson("config.schema.json");
const source = readFileSync("src/config.ts", "utf8");

// Strict mode: a misspelt schema keyword is an error, not silently ignored. `patternErrorMessage` is
// VS Code's message for a failed pattern; other editors and validators ignore it.
const ajv = new Ajv({ strict: true, allErrors: true, keywords: ["patternErrorMessage"] });
const validateSchema: ValidateFunction = ajv.compile(schema);

function schemaErrors(config: Json): ErrorObject[] {
  return validateSchema(config) ? [] : [...(validateSchema.errors ?? [])];
}

function problems(config: Json): readonly string[] {
  try {
    validateConfig(config);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
}

/** The schema at a JSON pointer inside the schema ("#/definitions/client"). */
function deref(s: Schema): Schema {
  if (typeof s.$ref !== "string") return s;
  const target = (s.$ref as string).replace(/^#\//, "").split("/").reduce<Schema>((at, key) => at[key], schema);
  return deref({ ...target, ...Object.fromEntries(Object.entries(s).filter(([k]) => k !== "$ref")) });
}

/** A place in a configuration: field names, "[]" for every array item, "{}" for every value of a map. */
type Place = readonly string[];

function schemaAt(place: Place): Schema {
  let s = deref(schema);
  for (const step of place) s = deref(step === "[]" ? s.items : step === "{}" ? s.additionalProperties : s.properties[step]);
  return s;
}

/** Every object schema with named fields, and where it is (following properties, items, allOf and maps). */
function objectPlaces(s: Schema = schema, place: Place = []): Place[] {
  s = deref(s);
  const out: Place[] = s.properties ? [place] : [];
  for (const [name, sub] of Object.entries<Schema>(s.properties ?? {})) out.push(...objectPlaces(sub, [...place, name]));
  if (s.items) out.push(...objectPlaces(s.items, [...place, "[]"]));
  if (typeof s.additionalProperties === "object") out.push(...objectPlaces(s.additionalProperties, [...place, "{}"]));
  for (const sub of s.allOf ?? []) out.push(...objectPlaces(sub, place));
  return out;
}

// ---- the field lists validateConfig accepts, read from src/config.ts ----

/**
 * Each `checkKeys(<object>, [<field names>], ...)` call in src/config.ts, by the function it is in and
 * the object it checks, and where that object is in config.json. A new call (a new nested object) must
 * be added here, and then to the schema.
 */
const CHECK_KEYS_SITES: Record<string, Place> = {
  "validateConfig(raw)": [],
  "validateConfig(raw.discord)": ["discord"],
  "checkClient(raw)": ["clients", "[]"],
  "checkKeyPolicy(raw)": ["keys"],
  "checkGuilds(raw.guilds)": ["guilds"],
  "checkGuilds(def)": ["groups", "{}"],
};

function checkKeysCalls(): Map<string, string[]> {
  const calls = new Map<string, string[]>();
  for (const call of source.matchAll(/\bcheckKeys\(\s*([\w.]+)\s*,\s*\[([^\]]*)\]/g)) {
    const [, object = "", list = ""] = call;
    const inFunction = [...source.slice(0, call.index).matchAll(/^(?:export )?function (\w+)/gm)].at(-1)?.[1];
    // Only string literals: anything else (a constant, a spread) this test cannot read.
    expect(list.replace(/"[^"]*"/g, "").replace(/[\s,]/g, ""), `checkKeys list in ${inFunction}`).toBe("");
    calls.set(`${inFunction}(${object})`, [...list.matchAll(/"([^"]*)"/g)].map((m) => m[1] ?? ""));
  }
  return calls;
}

/** A regular expression literal `const NAME = /.../;` in src/config.ts, as its source. */
function regexConst(name: string): string {
  const found = new RegExp(`^const ${name} = /(.+)/[a-z]*;$`, "m").exec(source)?.[1];
  if (found === undefined) throw new Error(`src/config.ts has no "const ${name} = /.../;"`);
  return new RegExp(found).source;
}

// ---- sample configurations ----

const HASH = `sha256:${"A".repeat(43)}`;
const G1 = "300000000000000001";
const G2 = "300000000000000002";
const R1 = "400000000000000001";

/** The smallest valid configuration. */
const minimal = (): Json => ({
  discord: { clientId: "111111111111111111" },
  clients: [{ clientId: "app", redirectUris: ["https://app.example.com/cb"], clientSecretHash: HASH }],
});

/** Every field the schema names, each with a valid value. */
const kitchenSink = (): Json => ({
  $schema: "./config.schema.json",
  $comment: "every field",
  issuer: "https://auth.example.org",
  landingPage: "minimal",
  discord: { $comment: "x", clientId: "111111111111111111" },
  clients: [
    {
      $comment: "x",
      clientId: "wiki",
      name: "Community Wiki",
      redirectUris: ["https://wiki.example.org/cb", "http://127.0.0.1:8788/cb?x=1"],
      clientSecretHash: HASH,
      requirePkce: true,
      idTokenSigningAlg: "ES256",
      requireGuilds: [G1],
      requireRoles: ["moderators", `${G1}:${R1}`],
      joinUrl: "https://discord.gg/example",
      syntheticEmailDomain: "discord.example.org",
      sessionHours: 12,
    },
  ],
  keys: { $comment: "x", rotationPeriodDays: 14, leadTimeHours: 12, retireMarginHours: 48 },
  guilds: { $comment: "x", include: [G1, G2], names: { [G1]: "The Main Community" } },
  roleGuilds: [G1],
  groups: { moderators: { $comment: "x", guild: G1, anyRole: [R1] }, members: { guild: G2 } },
});

type Change = (c: Json) => void;
const ids = (n: number, prefix = "5000000000000000") => Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(2, "0")}`);

/** Configurations that schema and validateConfig both accept. */
const bothAccept: [string, Change][] = [
  ["the smallest configuration", () => {}],
  ["every field", (c) => Object.assign(c, kitchenSink())],
  ["no issuer (local runs)", (c) => delete c.issuer],
  ["issuer https", (c) => (c.issuer = "https://auth.example.org")],
  ["issuer with a port", (c) => (c.issuer = "https://auth.example.org:8443")],
  ["issuer on loopback http", (c) => (c.issuer = "http://127.0.0.1:8787")],
  ["issuer localhost", (c) => (c.issuer = "http://localhost:8787")],
  ["issuer [::1]", (c) => (c.issuer = "http://[::1]:8787")],
  ["redirect on loopback http", (c) => (c.clients[0].redirectUris = ["http://localhost:3000/cb", "http://[::1]/cb"])],
  ["redirect with a query", (c) => (c.clients[0].redirectUris = ["https://app.example.com/cb?tenant=1&x"])],
  ["redirect whose path holds &code=", (c) => (c.clients[0].redirectUris = ["https://app.example.com/x&code=1/cb"])],
  ["redirect parameter that only starts like a reserved one", (c) => (c.clients[0].redirectUris = ["https://app.example.com/cb?codes=1&issuer=x"])],
  ["redirect with an @ in the path", (c) => (c.clients[0].redirectUris = ["https://app.example.com/@me/cb"])],
  ["clientId with every allowed character", (c) => (c.clients[0].clientId = "aZ09._~-")],
  ["clientId of 64 characters", (c) => (c.clients[0].clientId = "a".repeat(64))],
  ["name of 100 characters", (c) => (c.clients[0].name = "n".repeat(100))],
  ["RS256 named", (c) => (c.clients[0].idTokenSigningAlg = "RS256")],
  ["keys at their lower bounds", (c) => (c.keys = { rotationPeriodDays: 2, leadTimeHours: 1, retireMarginHours: 1 })],
  ["keys at their upper bounds", (c) => (c.keys = { rotationPeriodDays: 365, leadTimeHours: 720, retireMarginHours: 720 })],
  ["keys as fractions", (c) => (c.keys = { rotationPeriodDays: 1.5, leadTimeHours: 12.5 })],
  ["an empty keys object", (c) => (c.keys = {})],
  ["20 role guilds", (c) => (c.roleGuilds = ids(20))],
  ["Discord ids of 17 and 20 digits", (c) => (c.guilds = { include: ["12345678901234567", "12345678901234567890"] })],
  ["group names with . _ -", (c) => (c.groups = { "mod.team_1-a": { guild: G1 } })],
  ["a guild name of 100 characters", (c) => (c.guilds = { names: { [G1]: "n".repeat(100) } })],
  ["empty optional lists", (c) => Object.assign(c.clients[0], { requireGuilds: [], requireRoles: [] })],
  ["sessionHours at its lower bound", (c) => (c.clients[0].sessionHours = 1)],
  ["sessionHours at its upper bound (30 days)", (c) => (c.clients[0].sessionHours = 720)],
  ["sessionHours as a fraction", (c) => (c.clients[0].sessionHours = 1.5)],
];

/** Configurations that schema and validateConfig both refuse. */
const bothRefuse: [string, Change | { readonly raw: unknown }][] = [
  ["an unknown landingPage", (c) => (c.landingPage = "hidden")],
  // The issuer is used as written (`iss`, discovery, endpoint URLs): it must be exactly its origin.
  ["issuer with an empty query", (c) => (c.issuer = "https://auth.example.org?")],
  ["issuer without //", (c) => (c.issuer = "https:auth.example.org")],
  ["issuer in upper case", (c) => (c.issuer = "HTTPS://Auth.Example.org")],
  ["issuer with a tab inside (the URL parser drops it)", (c) => (c.issuer = "https://auth.exam\tple.org")],
  ["a group named __proto__", { raw: JSON.parse('{"discord":{"clientId":"111111111111111111"},"clients":[{"clientId":"a","redirectUris":["https://a.example.com/cb"],"clientSecretHash":"sha256:I2XTSZPfmT_RE2MaGBhg4l25HEWybDW5TUbzvkZfIx4"}],"groups":{"__proto__":{"guild":"300000000000000001"}}}') }],
  ["not an object", { raw: [minimal()] }],
  ["null", { raw: null }],
  ["missing discord", (c) => delete c.discord],
  ["missing discord.clientId", (c) => (c.discord = {})],
  ["discord.clientId as a number", (c) => (c.discord.clientId = 111111111111111111)],
  ["discord.clientId of 16 digits", (c) => (c.discord.clientId = "1111111111111111")],
  ["discord.clientId padded", (c) => (c.discord.clientId = " 111111111111111111")],
  ["unknown field in discord", (c) => (c.discord.clientSecret = "x")],
  ["unknown top-level field", (c) => (c.issuers = "https://auth.example.org")],
  ["missing clients", (c) => delete c.clients],
  ["empty clients", (c) => (c.clients = [])],
  ["a client that is not an object", (c) => (c.clients = ["app"])],
  ["missing clientId", (c) => delete c.clients[0].clientId],
  ["clientId with a space", (c) => (c.clients[0].clientId = "my app")],
  ["clientId of 65 characters", (c) => (c.clients[0].clientId = "a".repeat(65))],
  ["empty clientId", (c) => (c.clients[0].clientId = "")],
  ["a typo in a client field", (c) => (c.clients[0].redirectUri = ["https://app.example.com/cb"])],
  ["missing clientSecretHash", (c) => delete c.clients[0].clientSecretHash],
  ["the example's placeholder secret hash", (c) => (c.clients[0].clientSecretHash = "sha256:REPLACE_ME_WITH_npm_run_client_add_OUTPUT_0000")],
  ["a plain secret", (c) => (c.clients[0].clientSecretHash = "hunter2")],
  ["a secret hash of 42 characters", (c) => (c.clients[0].clientSecretHash = `sha256:${"A".repeat(42)}`)],
  ["a secret hash in base64, not base64url", (c) => (c.clients[0].clientSecretHash = `sha256:${"A".repeat(42)}+`)],
  ["a secret hash with a trailing newline", (c) => (c.clients[0].clientSecretHash = `${HASH}\n`)],
  ["missing redirectUris", (c) => delete c.clients[0].redirectUris],
  ["empty redirectUris", (c) => (c.clients[0].redirectUris = [])],
  ["redirectUris as a string", (c) => (c.clients[0].redirectUris = "https://app.example.com/cb")],
  ["a redirect URI that is not a string", (c) => (c.clients[0].redirectUris = [42])],
  ["a relative redirect URI", (c) => (c.clients[0].redirectUris = ["/cb"])],
  ["a redirect URI over http", (c) => (c.clients[0].redirectUris = ["http://app.example.com/cb"])],
  ["a redirect URI on a host that starts like localhost", (c) => (c.clients[0].redirectUris = ["http://localhost.example.com/cb"])],
  ["a redirect URI with a fragment", (c) => (c.clients[0].redirectUris = ["https://app.example.com/cb#x"])],
  ["a redirect URI with credentials", (c) => (c.clients[0].redirectUris = ["https://user:pw@app.example.com/cb"])],
  ["a redirect URI with leading whitespace", (c) => (c.clients[0].redirectUris = [" https://app.example.com/cb"])],
  ["a redirect URI with trailing whitespace", (c) => (c.clients[0].redirectUris = ["https://app.example.com/cb "])],
  ["a redirect URI with a trailing no-break space", (c) => (c.clients[0].redirectUris = ["https://app.example.com/cb\u00a0"])],
  ["a redirect URI with another scheme", (c) => (c.clients[0].redirectUris = ["myapp://cb"])],
  ["a redirect URI with ?code=", (c) => (c.clients[0].redirectUris = ["https://app.example.com/cb?code=1"])],
  ["a redirect URI with &state=", (c) => (c.clients[0].redirectUris = ["https://app.example.com/cb?x=1&state=2"])],
  ["a redirect URI with a bare iss", (c) => (c.clients[0].redirectUris = ["https://app.example.com/cb?iss"])],
  ["a redirect URI with error_description", (c) => (c.clients[0].redirectUris = ["https://app.example.com/cb?a&error_description=&b"])],
  ["requirePkce as a string", (c) => (c.clients[0].requirePkce = "yes")],
  ["idTokenSigningAlg HS256", (c) => (c.clients[0].idTokenSigningAlg = "HS256")],
  ["idTokenSigningAlg in lower case", (c) => (c.clients[0].idTokenSigningAlg = "rs256")],
  ["idTokenSigningAlg none", (c) => (c.clients[0].idTokenSigningAlg = "none")],
  ["requireGuilds with a name, not an id", (c) => (c.clients[0].requireGuilds = ["main"])],
  ["requireGuilds with an id as a number", (c) => (c.clients[0].requireGuilds = [300000000000000001])],
  ["requireGuilds listing a guild twice", (c) => (c.clients[0].requireGuilds = [G1, G1])],
  ["requireGuilds as a string", (c) => (c.clients[0].requireGuilds = G1)],
  ["requireRoles with a bare guild id", (c) => ((c.groups = { mods: { guild: G1 } }), (c.clients[0].requireRoles = [G1]))],
  ["requireRoles with a short role id", (c) => (c.clients[0].requireRoles = [`${G1}:42`])],
  ["requireRoles listing an entry twice", (c) => ((c.groups = { mods: { guild: G1 } }), (c.clients[0].requireRoles = ["mods", "mods"]))],
  ["joinUrl over http", (c) => (c.clients[0].joinUrl = "http://discord.gg/x")],
  ["joinUrl without a scheme", (c) => (c.clients[0].joinUrl = "discord.gg/x")],
  ["empty joinUrl", (c) => (c.clients[0].joinUrl = "")],
  ["syntheticEmailDomain with an @", (c) => (c.clients[0].syntheticEmailDomain = "@example.com")],
  ["syntheticEmailDomain with a scheme", (c) => (c.clients[0].syntheticEmailDomain = "https://example.com")],
  ["syntheticEmailDomain in upper case", (c) => (c.clients[0].syntheticEmailDomain = "Example.com")],
  ["syntheticEmailDomain of one label", (c) => (c.clients[0].syntheticEmailDomain = "localhost")],
  ["syntheticEmailDomain padded", (c) => (c.clients[0].syntheticEmailDomain = "example.com ")],
  ["sessionHours 0", (c) => (c.clients[0].sessionHours = 0)],
  ["sessionHours 0.5", (c) => (c.clients[0].sessionHours = 0.5)],
  ["sessionHours 721", (c) => (c.clients[0].sessionHours = 721)],
  ["sessionHours as a string", (c) => (c.clients[0].sessionHours = "24")],
  ["sessionHours null", (c) => (c.clients[0].sessionHours = null)],
  ["name of 101 characters", (c) => (c.clients[0].name = "n".repeat(101))],
  ["name as a number", (c) => (c.clients[0].name = 7)],
  ["issuer with a path", (c) => (c.issuer = "https://auth.example.org/oidc")],
  ["issuer with a trailing slash", (c) => (c.issuer = "https://auth.example.org/")],
  ["issuer over http", (c) => (c.issuer = "http://auth.example.org")],
  ["issuer with a query", (c) => (c.issuer = "https://auth.example.org?x=1")],
  ["issuer with a fragment", (c) => (c.issuer = "https://auth.example.org#x")],
  ["issuer with credentials", (c) => (c.issuer = "https://user@auth.example.org")],
  ["issuer padded", (c) => (c.issuer = "https://auth.example.org ")],
  ["empty issuer", (c) => (c.issuer = "")],
  ["issuer null", (c) => (c.issuer = null)],
  ["keys not an object", (c) => (c.keys = 30)],
  ["a typo in keys", (c) => (c.keys = { rotationPeriod: 30 })],
  ["keys.rotationPeriodDays 0", (c) => (c.keys = { rotationPeriodDays: 0 })],
  ["keys.rotationPeriodDays 366", (c) => (c.keys = { rotationPeriodDays: 366 })],
  ["keys.rotationPeriodDays as a string", (c) => (c.keys = { rotationPeriodDays: "30" })],
  ["keys.leadTimeHours 0", (c) => (c.keys = { leadTimeHours: 0 })],
  ["keys.leadTimeHours 721", (c) => (c.keys = { rotationPeriodDays: 365, leadTimeHours: 721 })],
  ["keys.retireMarginHours 0.5", (c) => (c.keys = { retireMarginHours: 0.5 })],
  ["keys.retireMarginHours 721", (c) => (c.keys = { retireMarginHours: 721 })],
  ["guilds not an object", (c) => (c.guilds = [G1])],
  ["a typo in guilds", (c) => (c.guilds = { includes: [G1] })],
  ["guilds.include as a string", (c) => (c.guilds = { include: G1 })],
  ["guilds.include with a bad id", (c) => (c.guilds = { include: ["main"] })],
  ["guilds.names not an object", (c) => (c.guilds = { names: [G1] })],
  ["guilds.names keyed by a name", (c) => (c.guilds = { names: { main: "Main" } })],
  ["guilds.names with an empty name", (c) => (c.guilds = { names: { [G1]: "" } })],
  ["guilds.names with a name of 101 characters", (c) => (c.guilds = { names: { [G1]: "n".repeat(101) } })],
  ["guilds.names with a $comment (a map, not fields)", (c) => (c.guilds = { names: { $comment: "x" } })],
  ["roleGuilds as a string", (c) => (c.roleGuilds = G1)],
  ["roleGuilds with a bad id", (c) => (c.roleGuilds = [G1, "main"])],
  ["roleGuilds listing a guild twice", (c) => (c.roleGuilds = [G1, G1])],
  ["21 role guilds", (c) => (c.roleGuilds = ids(21))],
  ["groups not an object", (c) => (c.groups = ["mods"])],
  ["a group name of all digits", (c) => (c.groups = { 123: { guild: G1 } })],
  ["a group name with a space", (c) => (c.groups = { "mod team": { guild: G1 } })],
  ["a group name of 65 characters", (c) => (c.groups = { ["g".repeat(65)]: { guild: G1 } })],
  ["groups with a $comment (a map, not fields)", (c) => (c.groups = { $comment: "x" })],
  ["a group that is not an object", (c) => (c.groups = { mods: G1 })],
  ["a group without a guild", (c) => (c.groups = { mods: { anyRole: [R1] } })],
  ["a group with a bad guild id", (c) => (c.groups = { mods: { guild: "main" } })],
  ["a group with an empty anyRole", (c) => (c.groups = { mods: { guild: G1, anyRole: [] } })],
  ["a group with a bad role id", (c) => (c.groups = { mods: { guild: G1, anyRole: ["mod"] } })],
  ["a typo in a group", (c) => (c.groups = { mods: { guild: G1, anyRoles: [R1] } })],
];

/**
 * Known differences, 1: rules the schema cannot state (they span fields, or need a URL parser), which
 * validateConfig (and so `npm run check` and the Worker) catches. The schema accepts these.
 */
const onlyValidateConfigRefuses: [string, Change, RegExp][] = [
  ["a clientId used by two clients", (c) => c.clients.push({ ...c.clients[0] }), /^clients\[1\]\.clientId "app" is used twice$/],
  ["requireRoles naming a group that groups lacks", (c) => (c.clients[0].requireRoles = ["admins"]), /^clients\[0\]\.requireRoles\[0\] "admins" is not a group defined in groups$/],
  ["keys.leadTimeHours not shorter than the rotation period", (c) => (c.keys = { rotationPeriodDays: 2, leadTimeHours: 48 }), /^keys\.leadTimeHours must be shorter than keys\.rotationPeriodDays$/],
  ["keys.rotationPeriodDays 1 with the default lead time of 24 hours", (c) => (c.keys = { rotationPeriodDays: 1 }), /^keys\.leadTimeHours must be shorter/],
  [
    "more than 20 role guilds counting groups and requireRoles",
    (c) => {
      c.roleGuilds = ids(15);
      c.groups = Object.fromEntries(ids(5, "6000000000000000").map((g, i) => [`g${i}`, { guild: g, anyRole: [R1] }]));
      c.clients[0].requireRoles = [`${G1}:${R1}`];
    },
    /^roleGuilds, groups with anyRole and requireRoles name 21 guilds; at most 20/,
  ],
  ["a reserved redirect parameter written percent-encoded", (c) => (c.clients[0].redirectUris = ["https://app.example.com/cb?%63ode=1"]), /already has the query parameter "code"/],
  ["issuer with the default port (not its origin as written)", (c) => (c.issuer = "https://auth.example.org:443"), /^issuer must be an origin like/],
  ["a redirect URI whose port is out of range", (c) => (c.clients[0].redirectUris = ["https://app.example.com:99999/cb"]), /^clients\[0\]\.redirectUris\[0\] is not an absolute URL/],
  // JSON Schema counts a string's length in code points, validateConfig (and VS Code) in UTF-16 units.
  ["a name of 60 emoji (120 UTF-16 units)", (c) => (c.clients[0].name = "😀".repeat(60)), /^clients\[0\]\.name must be a string of at most 100 characters$/],
];

/**
 * Known differences, 2: values validateConfig lets through that the schema refuses, because they are
 * not what the field means. If src/config.ts is tightened to refuse one, move it to `bothRefuse`.
 */
const onlySchemaRefuses: [string, Change][] = [
  // `raw[name] ?? default`: null stands for the default.
  ["keys.rotationPeriodDays null", (c) => (c.keys = { rotationPeriodDays: null })],
];

function configFor(change: Change | { readonly raw: unknown }): Json {
  if (typeof change !== "function") return change.raw;
  const c = minimal();
  change(c);
  return c;
}

describe("config.schema.json", () => {
  it("is a draft-07 schema that compiles in strict mode", () => {
    expect(schema.$schema).toBe("http://json-schema.org/draft-07/schema#");
    expect(ajv.validateSchema(schema)).toBe(true);
  });

  it("is named by $schema in the example, dev and test configurations, by a path that reaches it", () => {
    expect(readJson("config.example.json").$schema).toBe("./config.schema.json");
    expect(readJson("dev/config.json").$schema).toBe("../config.schema.json");
    expect(readJson("test/fixtures/config.json").$schema).toBe("../../config.schema.json");
  });

  it("names exactly the fields validateConfig accepts, at every level", () => {
    const calls = checkKeysCalls();
    expect([...calls.keys()].sort(), "checkKeys calls in src/config.ts (a new one needs a place here and in the schema)").toEqual(Object.keys(CHECK_KEYS_SITES).sort());
    for (const [site, place] of Object.entries(CHECK_KEYS_SITES)) {
      const at = schemaAt(place);
      expect(Object.keys(at.properties).sort(), `schema fields at ${place.join(".") || "top level"}`).toEqual([...(calls.get(site) ?? [])].sort());
      // checkKeys refuses any other field except those starting with $.
      expect(at.additionalProperties, place.join(".")).toBe(false);
      expect(Object.keys(at.patternProperties ?? {}), place.join(".")).toEqual(["^\\$"]);
    }
    // ...and the schema has no object with named fields that validateConfig does not check.
    expect(objectPlaces().map((p) => p.join(".")).sort()).toEqual(Object.values(CHECK_KEYS_SITES).map((p) => p.join(".")).sort());
  });

  it("states validateConfig's patterns, ranges, enums, limits and defaults", () => {
    const client = schemaAt(["clients", "[]"]).properties;
    expect(client.clientId.pattern).toBe(regexConst("CLIENT_ID_PATTERN"));
    expect(client.clientSecretHash.pattern).toBe(SECRET_HASH_PATTERN.source);
    expect(client.syntheticEmailDomain.pattern).toBe(regexConst("DOMAIN"));
    expect(schema.definitions.discordId.pattern).toBe(regexConst("SNOWFLAKE"));
    expect(client.idTokenSigningAlg.enum).toEqual([...SIGNING_ALGS]);
    expect(client.idTokenSigningAlg.default).toBe(DEFAULT_SIGNING_ALG);
    expect(schemaAt(["roleGuilds"]).maxItems).toBe(MAX_MEMBER_CALL_GUILDS);

    // Ranges: checkKeyPolicy's `number("<field>", min, max)` calls.
    const ranges = [...source.matchAll(/\bnumber\("(\w+)", ([\d\s*]+), ([\d\s*]+)\)/g)];
    expect(ranges.map((m) => m[1])).toEqual(Object.keys(DEFAULT_KEY_POLICY));
    const product = (expr = "") => expr.split("*").reduce((n, f) => n * Number(f), 1);
    const keys = schemaAt(["keys"]).properties;
    for (const [, name = "", min, max] of ranges) {
      expect([keys[name].minimum, keys[name].maximum], `keys.${name}`).toEqual([product(min), product(max)]);
    }

    // Defaults: what validateConfig fills in when a field is left out.
    const filled = validateConfig(minimal());
    expect(Object.fromEntries(Object.entries<Schema>(keys).map(([name, s]) => [name, s.default]))).toEqual(filled.keys);
    expect(filled.keys).toEqual(DEFAULT_KEY_POLICY);
    expect(client.requirePkce.default).toBe(filled.clients[0]?.requirePkce);
    expect(client.idTokenSigningAlg.default).toBe(filled.clients[0]?.idTokenSigningAlg);
    expect(client.sessionHours.default).toBe(filled.clients[0]?.sessionHours);
    expect(client.sessionHours.default).toBe(DEFAULT_SESSION_HOURS);
    expect([client.sessionHours.minimum, client.sessionHours.maximum]).toEqual([1, MAX_SESSION_HOURS]);
  });

  it("has an every-field sample that uses every field it names, and both accept it", () => {
    const sink = kitchenSink();
    const valuesAt = (place: Place): Json[] =>
      place.reduce<Json[]>((values, step) => values.flatMap((v) => (step === "[]" ? v : step === "{}" ? Object.values(v) : [v[step]])), [sink]);
    for (const place of Object.values(CHECK_KEYS_SITES)) {
      const used = new Set(valuesAt(place).flatMap((v) => Object.keys(v)).filter((k) => !k.startsWith("$")));
      expect([...used].sort(), place.join(".") || "top level").toEqual(Object.keys(schemaAt(place).properties).sort());
    }
    expect(schemaErrors(sink)).toEqual([]);
    expect(problems(sink)).toEqual([]);
  });
});

describe("config.schema.json and validateConfig give the same verdict", () => {
  it.each([["config.example.json"], ["dev/config.json"], ["test/fixtures/config.json"]])("%s", (path) => {
    const config = readJson(path);
    if (path === "config.example.json") {
      // Its placeholder secret hash is malformed on purpose (README, `npm run check`): both name that field, and only it.
      expect(schemaErrors(config).map((e) => e.instancePath)).toEqual(["/clients/0/clientSecretHash"]);
      expect(problems(config)).toEqual([expect.stringMatching(/^clients\[0\]\.clientSecretHash must be "sha256:"/)]);
      config.clients[0].clientSecretHash = HASH;
    }
    expect(schemaErrors(config)).toEqual([]);
    expect(problems(config)).toEqual([]);
  });

  it.each(bothAccept)("both accept: %s", (_, change) => {
    const config = configFor(change);
    expect(problems(config)).toEqual([]);
    expect(schemaErrors(config)).toEqual([]);
  });

  it.each(bothRefuse)("both refuse: %s", (_, change) => {
    const config = configFor(change);
    expect(problems(config)).not.toEqual([]);
    expect(schemaErrors(config)).not.toEqual([]);
  });

  it("has a table worth the name", () => {
    expect(bothAccept.length).toBeGreaterThanOrEqual(15);
    expect(bothRefuse.length).toBeGreaterThanOrEqual(15);
  });
});

describe("known differences, asserted both ways", () => {
  it.each(onlyValidateConfigRefuses)("only validateConfig refuses: %s", (_, change, problem) => {
    const config = configFor(change);
    expect(schemaErrors(config)).toEqual([]);
    expect(problems(config)).toEqual([expect.stringMatching(problem)]);
  });

  it.each(onlySchemaRefuses)("only the schema refuses: %s", (_, change) => {
    const config = configFor(change);
    expect(problems(config)).toEqual([]);
    expect(schemaErrors(config)).not.toEqual([]);
  });
});
