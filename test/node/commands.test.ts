// The operator commands: `npm run check` and `npm run client`, run as functions on temporary files.
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCheck, type Io } from "../../scripts/check.ts";
import { runClient } from "../../scripts/client.ts";

function capture(): Io & { outText(): string; errText(): string } {
  const out: string[] = [];
  const err: string[] = [];
  return { out: (l) => void out.push(l), err: (l) => void err.push(l), outText: () => out.join("\n"), errText: () => err.join("\n") };
}

const dir = () => mkdtempSync(join(tmpdir(), "bridge-cmd-"));
const fixture = readFileSync("test/fixtures/config.json", "utf8");
const fixtureIds: string[] = JSON.parse(fixture).clients.map((c: { clientId: string }) => c.clientId);

describe("npm run check", () => {
  it("accepts a valid file", () => {
    const io = capture();
    expect(runCheck(["test/fixtures/config.json"], io)).toBe(0);
    expect(io.outText()).toContain(`is valid: ${fixtureIds.length} client(s) (${fixtureIds.join(", ")})`);
  });

  it("warns when a heavy user's ID token could exceed the claim budget, and stops when guilds.include keeps it small", () => {
    const io = capture();
    expect(runCheck(["test/fixtures/config.json"], io)).toBe(0);
    expect(io.outText()).toMatch(/⚠ with the guilds scope, a user in 200 guilds .* about \d{5} bytes .* over the 3000-byte budget.*set guilds\.include/);
    const small = JSON.parse(fixture);
    small.guilds.include = ["300000000000000001"];
    small.clients = small.clients.filter((c: { idTokenSigningAlg?: string }) => c.idTokenSigningAlg !== "RS256");
    const path = join(dir(), "config.json");
    writeFileSync(path, JSON.stringify(small));
    const quiet = capture();
    expect(runCheck([path], quiet)).toBe(0);
    expect(quiet.outText()).toContain("is valid");
    expect(quiet.outText()).not.toContain("⚠");
  });

  it("no guild warnings for a configuration that does not use guilds; a warning when a login may read roles in many guilds", () => {
    const plain = JSON.parse(fixture);
    delete plain.guilds;
    delete plain.roleGuilds;
    delete plain.groups;
    plain.clients = plain.clients.filter((c: { requireGuilds?: string[] }) => !c.requireGuilds);
    const plainPath = join(dir(), "config.json");
    writeFileSync(plainPath, JSON.stringify(plain));
    const quiet = capture();
    expect(runCheck([plainPath], quiet)).toBe(0);
    expect(quiet.outText()).not.toContain("⚠");

    const many = JSON.parse(fixture);
    many.guilds.include = ["300000000000000001"];
    many.roleGuilds = Array.from({ length: 6 }, (_, i) => `30000000000000001${i}`);
    const manyPath = join(dir(), "config.json");
    writeFileSync(manyPath, JSON.stringify(many));
    const io = capture();
    expect(runCheck([manyPath], io)).toBe(0);
    expect(io.outText()).toMatch(/⚠ a login may read roles in up to 8 guilds, one Discord call each/);
  });

  it("names every bad field", () => {
    const path = join(dir(), "config.json");
    const bad = JSON.parse(fixture);
    bad.clients[1].redirectUris = ["http://grafana.example.com/cb"];
    bad.discord.clientId = "abc";
    writeFileSync(path, JSON.stringify(bad));
    const io = capture();
    expect(runCheck([path], io)).toBe(1);
    expect(io.errText()).toContain("clients[1].redirectUris[0] must use https");
    expect(io.errText()).toContain("discord.clientId must be");
  });

  it("reports the example's placeholder hash by field", () => {
    const io = capture();
    expect(runCheck(["config.example.json"], io)).toBe(1);
    expect(io.errText()).toMatch(/clients\[0\]\.clientSecretHash must be/);
    expect(io.errText().match(/^ {2}- /gm)).toHaveLength(1);
  });

  it("explains a missing file", () => {
    const io = capture();
    expect(runCheck([join(dir(), "config.json")], io)).toBe(1);
    expect(io.errText()).toMatch(/not found[\s\S]*npm run client -- add/);
  });

  it("names the line and column of a JSON syntax error", () => {
    const path = join(dir(), "config.json");
    writeFileSync(path, '{\n  "discord": {\n    "clientId": "1",\n  }\n}\n');
    const io = capture();
    expect(runCheck([path], io)).toBe(1);
    expect(io.errText()).toMatch(/not valid JSON at line 4, column 3/);
  });
});

describe("npm run client", () => {
  it("adds a client, prints the secret once, stores only a hash that matches it", () => {
    const path = join(dir(), "config.json");
    const io = capture();
    expect(runClient(["add", "cloudflare-access", "--redirect-uri", "https://team.cloudflareaccess.com/cdn-cgi/access/callback", "--require-pkce", "--name", "Access", "--config", path], io)).toBe(0);
    const secret = /client secret: (\S+)/.exec(io.outText())?.[1] ?? "";
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const written = readFileSync(path, "utf8");
    expect(written).not.toContain(secret);
    const config = JSON.parse(written);
    expect(config.issuer).toBeUndefined();
    expect(config.clients).toEqual([
      {
        clientId: "cloudflare-access",
        redirectUris: ["https://team.cloudflareaccess.com/cdn-cgi/access/callback"],
        clientSecretHash: `sha256:${createHash("sha256").update(secret).digest("base64url")}`,
        name: "Access",
        requirePkce: true,
      },
    ]);
    expect(io.outText()).toMatch(/set "discord.clientId"/);
    const check = capture();
    expect(runCheck([path], check)).toBe(0);
  });

  it("refuses a duplicate, and --rotate-secret replaces only the hash", () => {
    const path = join(dir(), "config.json");
    writeFileSync(path, fixture);
    const io = capture();
    expect(runClient(["add", "access", "--redirect-uri", "https://x.example/cb", "--config", path], io)).toBe(1);
    expect(io.errText()).toMatch(/already exists/);
    expect(readFileSync(path, "utf8")).toBe(fixture);
    const rotate = capture();
    expect(runClient(["add", "access", "--rotate-secret", "--config", path], rotate)).toBe(0);
    const secret = /client secret: (\S+)/.exec(rotate.outText())?.[1] ?? "";
    const after = JSON.parse(readFileSync(path, "utf8"));
    const before = JSON.parse(fixture);
    expect(after.clients[0].clientSecretHash).toBe(`sha256:${createHash("sha256").update(secret).digest("base64url")}`);
    expect({ ...after.clients[0], clientSecretHash: "" }).toEqual({ ...before.clients[0], clientSecretHash: "" });
    expect(after.clients[1]).toEqual(before.clients[1]);
  });

  it("refuses a bad redirect URI, naming the field, and writes nothing", () => {
    const path = join(dir(), "config.json");
    writeFileSync(path, fixture);
    const io = capture();
    expect(runClient(["add", "blog", "--redirect-uri", "http://blog.example.com/cb", "--config", path], io)).toBe(1);
    expect(io.errText()).toContain(`clients[${fixtureIds.length}].redirectUris[0] must use https`);
    expect(readFileSync(path, "utf8")).toBe(fixture);
  });

  it("lists and removes clients", () => {
    const path = join(dir(), "config.json");
    writeFileSync(path, fixture);
    const io = capture();
    expect(runClient(["list", "--config", path], io)).toBe(0);
    expect(io.outText()).toContain("grafana (Grafana) [PKCE required]: https://grafana.example.com/login/generic_oauth");
    expect(io.outText()).not.toContain("sha256:");
    expect(runClient(["remove", "grafana", "--config", path], capture())).toBe(0);
    expect(JSON.parse(readFileSync(path, "utf8")).clients.map((c: { clientId: string }) => c.clientId)).toEqual(fixtureIds.filter((id) => id !== "grafana"));
    const missing = capture();
    expect(runClient(["remove", "grafana", "--config", path], missing)).toBe(1);
  });

  it("answers bad arguments with usage and exit 2", () => {
    for (const args of [[], ["frobnicate"], ["add"], ["add", "x"], ["add", "x", "--bogus"]]) {
      const io = capture();
      expect(runClient([...args, "--config", join(dir(), "c.json")], io), args.join(" ")).toBe(2);
      expect(io.errText()).toContain("usage:");
    }
    expect(existsSync("config.json.tmp")).toBe(false);
  });
});
