// Configuration validation names the bad field; the Worker answers a clear 503 when misconfigured.
import { env } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
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
    expect(config.issuer).toBeUndefined();
    expect(config.clients[0]).toMatchObject({ clientId: "access", requirePkce: false });
    expect(config.clients[1]).toMatchObject({ clientId: "grafana", requirePkce: true });
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
  ];
  for (const [name, mutate, message] of cases) {
    it(`names the field: ${name}`, () => {
      const raw = good();
      mutate(raw);
      const found = problems(raw);
      expect(found.some((p) => message.test(p)), found.join("\n")).toBe(true);
    });
  }

  it("allows http redirect URIs on loopback and $-prefixed comment fields", () => {
    const raw = good();
    raw.clients[0].redirectUris = ["http://127.0.0.1:8788/cb", "http://localhost/cb"];
    raw.$comment = "notes";
    expect(problems(raw)).toEqual([]);
  });

  it("refuses a non-object", () => {
    expect(problems([])).toEqual(["the configuration must be a JSON object"]);
  });
});

describe("loadSettings", () => {
  it("requires the Discord client secret and valid Discord URLs", () => {
    expect(() => loadSettings(good(), {})).toThrow(/DISCORD_CLIENT_SECRET/);
    expect(() => loadSettings(good(), { DISCORD_CLIENT_SECRET: "s3cretvalue", DISCORD_API_BASE: "ftp://x" })).toThrow(/DISCORD_API_BASE/);
    const settings = loadSettings(good(), { DISCORD_CLIENT_SECRET: "s3cretvalue" });
    expect(settings.discordApiBase).toBe("https://discord.com/api/v10");
    expect(settings.discordAuthorizeUrl).toBe("https://discord.com/oauth2/authorize");
  });
});

describe("a misconfigured Worker", () => {
  it("answers every endpoint with a clear 503 naming the problem, never a crash", async () => {
    const broken = { ...env, DISCORD_CLIENT_SECRET: undefined } as unknown as Env;
    for (const [path, type] of [["/token", /json/], ["/.well-known/openid-configuration", /json/], ["/authorize", /html/], ["/", /html/]] as const) {
      const res = await createWorker(fixture).fetch!(new Request(`https://bridge.test${path}`), broken, createExecutionContext());
      expect(res.status).toBe(503);
      expect(res.headers.get("Content-Type")).toMatch(type);
      expect(await res.text()).toContain("DISCORD_CLIENT_SECRET");
    }
  });
});
