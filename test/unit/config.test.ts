// Configuration validation names the bad field; the Worker answers a clear 503 when misconfigured.
import { env } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { createWorker } from "../../src/worker";
import { loadSettings, validateConfig } from "../../src/config";
import { ConfigError } from "../../src/errors";
import fixture from "../fixtures/config.json";

function problems(raw: unknown): readonly string[] {
  try {
    validateConfig(raw);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

const good = () => JSON.parse(JSON.stringify(fixture));

describe("validateConfig", () => {
  it("accepts the test fixture and fills defaults", () => {
    const config = validateConfig(good());
    expect(config.issuer).toBe("https://bridge.test");
    expect(config.clients[0]).toMatchObject({ clientId: "access", requirePkce: false });
    expect(config.clients[1]).toMatchObject({ clientId: "grafana", requirePkce: true });
    expect(config.clients.map((c) => c.sessionHours)).toEqual([24, 24, 24, 24, 24, 2]);
  });

  it("takes clients[].sessionHours from 1 to 720", () => {
    const raw = good();
    raw.clients[0].sessionHours = 720;
    raw.clients[1].sessionHours = 1;
    raw.clients[2].sessionHours = 7.5;
    expect(validateConfig(raw).clients.slice(0, 3).map((c) => c.sessionHours)).toEqual([720, 1, 7.5]);
  });

  const cases: [string, (c: any) => void, RegExp][] = [
    ["http issuer", (c) => (c.issuer = "http://auth.example.com"), /^issuer must use https/],
    ["issuer with a path", (c) => (c.issuer = "https://auth.example.com/oidc"), /^issuer must be an origin/],
    ["issuer with a trailing slash", (c) => (c.issuer = "https://auth.example.com/"), /^issuer must be an origin/],
    ["missing discord", (c) => delete c.discord, /^discord must be an object/],
    ["bad discord.clientId", (c) => (c.discord.clientId = 123), /^discord\.clientId must be/],
    ["no clients", (c) => (c.clients = []), /^clients must be a non-empty array/],
    ["bad clientId", (c) => (c.clients[1].clientId = "has space"), /^clients\[1\]\.clientId must be/],
    ["duplicate clientId", (c) => (c.clients[1].clientId = "access"), /^clients\[1\]\.clientId "access" is used twice/],
    ["relative redirect", (c) => (c.clients[0].redirectUris = ["/cb"]), /^clients\[0\]\.redirectUris\[0\] is not an absolute URL/],
    ["http redirect", (c) => c.clients[1].redirectUris.push("http://grafana.example.com/cb"), /^clients\[1\]\.redirectUris\[2\] must use https/],
    ["redirect with fragment", (c) => (c.clients[0].redirectUris = ["https://a.example/cb#x"]), /^clients\[0\]\.redirectUris\[0\] must not contain a fragment/],
    ["empty redirects", (c) => (c.clients[0].redirectUris = []), /^clients\[0\]\.redirectUris must be a non-empty array/],
    ["placeholder hash", (c) => (c.clients[0].clientSecretHash = "sha256:REPLACE_ME"), /^clients\[0\]\.clientSecretHash must be "sha256:"/],
    ["plain secret", (c) => (c.clients[0].clientSecretHash = "hunter2"), /^clients\[0\]\.clientSecretHash/],
    ["requirePkce not boolean", (c) => (c.clients[0].requirePkce = "yes"), /^clients\[0\]\.requirePkce must be true or false/],
    ["a typo", (c) => (c.clients[0].redirectUri = "x"), /^clients\[0\]\.redirectUri is not a known field/],
    ["unknown top-level field", (c) => (c.issuers = "x"), /^issuers is not a known field/],
    ["roleGuilds entry not an id", (c) => (c.roleGuilds = ["300000000000000001", "main"]), /^roleGuilds\[1\] must be a Discord id/],
    ["roleGuilds listed twice", (c) => c.roleGuilds.push("300000000000000001"), /^roleGuilds\[2\] "300000000000000001" is listed twice/],
    ["guilds.include not an array", (c) => (c.guilds.include = "300000000000000001"), /^guilds\.include must be an array/],
    ["guilds typo", (c) => (c.guilds.includes = []), /^guilds\.includes is not a known field/],
    ["guilds.names with a bad id", (c) => (c.guilds.names = { main: "Main" }), /^guilds\.names\["main"\] must map a Discord id/],
    ["group name all digits", (c) => (c.groups["123"] = { guild: "300000000000000001" }), /^groups\.123: a group name/],
    ["group without a guild", (c) => (c.groups.mods = { anyRole: ["400000000000000001"] }), /^groups\.mods\.guild must be a Discord guild id/],
    ["group with an empty anyRole", (c) => (c.groups.mods = { guild: "300000000000000001", anyRole: [] }), /^groups\.mods\.anyRole must not be empty/],
    ["group typo", (c) => (c.groups.mods = { guild: "300000000000000001", anyRoles: ["400000000000000001"] }), /^groups\.mods\.anyRoles is not a known field/],
    ["requireRoles names no group", (c) => (c.clients[4].requireRoles = ["admins"]), /^clients\[4\]\.requireRoles\[0\] "admins" is not a group defined in groups/],
    ["requireRoles names an Object member, not a group", (c) => (c.clients[4].requireRoles = ["constructor"]), /^clients\[4\]\.requireRoles\[0\] "constructor" is not a group defined in groups/],
    ["issuer that is not exactly its origin", (c) => (c.issuer = "https://bridge.test?"), /^issuer must be an origin like/],
    ["requireGuilds entry not an id", (c) => (c.clients[3].requireGuilds = ["main"]), /^clients\[3\]\.requireGuilds\[0\] must be a Discord id/],
    ["joinUrl over http", (c) => (c.clients[3].joinUrl = "http://discord.gg/x"), /^clients\[3\]\.joinUrl must use https/],
    ["sessionHours 0", (c) => (c.clients[2].sessionHours = 0), /^clients\[2\]\.sessionHours must be a number of hours from 1 to 720 \(default 24\)$/],
    ["sessionHours over 30 days", (c) => (c.clients[2].sessionHours = 721), /^clients\[2\]\.sessionHours must be a number of hours from 1 to 720/],
    ["sessionHours as a string", (c) => (c.clients[5].sessionHours = "24"), /^clients\[5\]\.sessionHours must be a number of hours/],
    ["sessionHours null", (c) => (c.clients[0].sessionHours = null), /^clients\[0\]\.sessionHours must be a number of hours/],
    [
      "too many guilds to read roles in",
      (c) => (c.roleGuilds = Array.from({ length: 21 }, (_, i) => `3000000000000001${String(i).padStart(2, "0")}`)),
      /^roleGuilds, groups with anyRole and requireRoles name 23 guilds; at most 20/,
    ],
    // Leading or trailing whitespace: `new URL` would trim it, exact matching would not, so every login would fail.
    ["issuer with a trailing space", (c) => (c.issuer = "https://bridge.test "), /^issuer has leading or trailing whitespace: "https:\/\/bridge\.test "$/],
    ["redirect URI with a trailing space", (c) => (c.clients[1].redirectUris[1] = "https://grafana.example.com/cb "), /^clients\[1\]\.redirectUris\[1\] has leading or trailing whitespace: "https:\/\/grafana\.example\.com\/cb "$/],
    ["redirect URI with a leading tab", (c) => (c.clients[0].redirectUris[0] = "\thttps://a.example/cb"), /^clients\[0\]\.redirectUris\[0\] has leading or trailing whitespace: "\\thttps/],
    ["redirect URI with a trailing no-break space", (c) => (c.clients[0].redirectUris[0] = "https://a.example/cb\u00a0"), /^clients\[0\]\.redirectUris\[0\] has leading or trailing whitespace: "https:\/\/a\.example\/cb\\u00a0"$/],
    ["joinUrl with a trailing newline", (c) => (c.clients[3].joinUrl = "https://discord.gg/x\n"), /^clients\[3\]\.joinUrl has leading or trailing whitespace/],
    ["discord.clientId with a trailing space", (c) => (c.discord.clientId = "111111111111111111 "), /^discord\.clientId has leading or trailing whitespace: "111111111111111111 "$/],
    ["clientId with a leading space", (c) => (c.clients[2].clientId = " legacy-rs"), /^clients\[2\]\.clientId has leading or trailing whitespace: " legacy-rs"$/],
    ["clientSecretHash with a trailing space (not shown)", (c) => (c.clients[0].clientSecretHash += " "), /^clients\[0\]\.clientSecretHash has leading or trailing whitespace$/],
    ["requireGuilds entry with a space", (c) => (c.clients[3].requireGuilds = [" 300000000000000001"]), /^clients\[3\]\.requireGuilds\[0\] has leading or trailing whitespace/],
    ["requireRoles entry with a space", (c) => (c.clients[4].requireRoles = ["moderators "]), /^clients\[4\]\.requireRoles\[0\] has leading or trailing whitespace/],
    ["roleGuilds entry with a space", (c) => (c.roleGuilds[1] += " "), /^roleGuilds\[1\] has leading or trailing whitespace/],
    ["guilds.include entry with a space", (c) => (c.guilds.include = ["300000000000000001 "]), /^guilds\.include\[0\] has leading or trailing whitespace/],
    ["guilds.names id with a space", (c) => (c.guilds.names = { "300000000000000001 ": "Main" }), /^guilds\.names\["300000000000000001 "\] has leading or trailing whitespace$/],
    ["group guild with a space", (c) => (c.groups.mods = { guild: "300000000000000001 " }), /^groups\.mods\.guild has leading or trailing whitespace/],
    ["group anyRole entry with a space", (c) => (c.groups.mods = { guild: "300000000000000001", anyRole: ["400000000000000001 "] }), /^groups\.mods\.anyRole\[0\] has leading or trailing whitespace/],
    ["syntheticEmailDomain with a space", (c) => (c.clients[0].syntheticEmailDomain = "discord.example.com "), /^clients\[0\]\.syntheticEmailDomain has leading or trailing whitespace/],
    // Parameters the bridge adds to its redirects must not already be in a registered redirect URI.
    ...(["code", "state", "iss", "error", "error_description"] as const).map(
      (name): [string, (c: any) => void, RegExp] => [
        `redirect URI carrying ${name}`,
        (c) => c.clients[1].redirectUris.push(`https://grafana.example.com/cb?x=1&${name}=y`),
        new RegExp(`^clients\\[1\\]\\.redirectUris\\[2\\] already has the query parameter "${name}"`),
      ],
    ),
    ["redirect URI carrying an encoded state", (c) => (c.clients[0].redirectUris = ["https://a.example/cb?%73tate=1"]), /^clients\[0\]\.redirectUris\[0\] already has the query parameter "state"/],
  ];
  for (const [name, mutate, message] of cases) {
    it(`names the field: ${name}`, () => {
      const raw = good();
      mutate(raw);
      const found = problems(raw);
      expect(found.some((p) => message.test(p)), found.join("\n")).toBe(true);
    });
  }

  it("allows http redirect URIs on loopback, inner spaces, other query parameters and $-prefixed comment fields", () => {
    const raw = good();
    raw.clients[0].redirectUris = ["http://127.0.0.1:8788/cb", "http://localhost/cb", "http://[::1]:8080/cb", "https://a.example/cb?codes=1&my_state=2&issuer=3"];
    raw.clients[0].name = " Spaced name ";
    raw.guilds.names["300000000000000001"] = "The Main Community ";
    raw.$comment = "notes";
    expect(problems(raw)).toEqual([]);
  });

  it("refuses a non-object", () => {
    expect(problems([])).toEqual(["the configuration must be a JSON object"]);
  });
});

describe("loadSettings", () => {
  const secret = { DISCORD_CLIENT_SECRET: "s3cretvalue" };
  const settingsProblems = (env: Parameters<typeof loadSettings>[1]): readonly string[] => {
    try {
      loadSettings(good(), env);
    } catch (err) {
      if (err instanceof ConfigError) return err.problems;
      throw err;
    }
    return [];
  };

  it("requires the Discord client secret and valid Discord URLs", () => {
    expect(() => loadSettings(good(), {})).toThrow(/DISCORD_CLIENT_SECRET/);
    expect(() => loadSettings(good(), { ...secret, DISCORD_API_BASE: "ftp://x" })).toThrow(/DISCORD_API_BASE/);
    const settings = loadSettings(good(), secret);
    expect(settings.discordApiBase).toBe("https://discord.com/api/v10");
    expect(settings.discordAuthorizeUrl).toBe("https://discord.com/oauth2/authorize");
  });

  it("refuses http Discord URLs except on loopback hosts", () => {
    expect(settingsProblems({ ...secret, DISCORD_API_BASE: "http://discord.com/api/v10" })).toEqual([
      'DISCORD_API_BASE (Worker var) must use https (http is allowed only for localhost, 127.0.0.1 and [::1]): "http://discord.com/api/v10"',
    ]);
    expect(settingsProblems({ ...secret, DISCORD_AUTHORIZE_URL: "http://discord.test/oauth2/authorize" })).toEqual([
      'DISCORD_AUTHORIZE_URL (Worker var) must use https (http is allowed only for localhost, 127.0.0.1 and [::1]): "http://discord.test/oauth2/authorize"',
    ]);
    for (const host of ["127.0.0.1:8788", "localhost:8788", "[::1]:8788"]) {
      const local = loadSettings(good(), { ...secret, DISCORD_API_BASE: `http://${host}/api/v10/`, DISCORD_AUTHORIZE_URL: `http://${host}/oauth2/authorize` });
      expect(local.discordApiBase).toBe(`http://${host}/api/v10`);
    }
    expect(loadSettings(good(), { ...secret, DISCORD_API_BASE: "https://discord.test/api/v10" }).discordApiBase).toBe("https://discord.test/api/v10");
  });

  it("refuses Discord URLs with leading or trailing whitespace", () => {
    expect(settingsProblems({ ...secret, DISCORD_API_BASE: "https://discord.com/api/v10 " })).toEqual([
      'DISCORD_API_BASE (Worker var) has leading or trailing whitespace: "https://discord.com/api/v10 "',
    ]);
    expect(settingsProblems({ ...secret, DISCORD_AUTHORIZE_URL: "\nhttps://discord.com/oauth2/authorize" })).toEqual([
      'DISCORD_AUTHORIZE_URL (Worker var) has leading or trailing whitespace: "\\nhttps://discord.com/oauth2/authorize"',
    ]);
  });
});

describe("a misconfigured Worker", () => {
  it("answers every endpoint with a clear 503, never a crash: members are told the operator knows, the log names the problem and the request", async () => {
    const broken = { ...env, DISCORD_CLIENT_SECRET: undefined } as unknown as Env;
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const worker = createWorker(fixture);
    for (const [path, type] of [["/token", /json/], ["/.well-known/openid-configuration", /json/], ["/authorize", /html/], ["/", /html/]] as const) {
      const res = await worker.fetch!(new Request(`https://bridge.test${path}`), broken, createExecutionContext());
      expect(res.status).toBe(503);
      expect(res.headers.get("Content-Type")).toMatch(type);
      const text = await res.text();
      // No field names, no commands: that is for the operator, in the log.
      expect(text).toContain("This login service is not set up correctly. Its operator has been told");
      expect(text).not.toMatch(/DISCORD_CLIENT_SECRET|npm run|config\.json/);
      const id = type.source === "json" ? (JSON.parse(text) as { request_id: string }).request_id : /Reference: <code>([\w-]{8})<\/code>/.exec(text)?.[1];
      const lines = errors.mock.calls.map((c) => JSON.parse(String(c[0])) as Record<string, unknown>);
      expect(lines).toContainEqual(expect.objectContaining({ event: "request_refused", path, status: 503, reason: "config_invalid", request_id: id }));
    }
    // Once per isolate: what is wrong, naming the field.
    const invalid = errors.mock.calls.map((c) => JSON.parse(String(c[0])) as { event: string; problems?: string[] }).filter((l) => l.event === "config_invalid");
    expect(invalid).toHaveLength(1);
    expect(invalid[0]!.problems!.join(" ")).toContain("DISCORD_CLIENT_SECRET");
    errors.mockRestore();
  });
});
