// The operator commands: `npm run check`, `npm run deploy`'s refusal and `npm run client`, run on temporary files.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync, existsSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { runCheck, type Io } from "../../scripts/check.ts";
import { runClient } from "../../scripts/client.ts";
import { EXAMPLE_DISCORD_CLIENT_ID, EXAMPLE_ISSUER, EXAMPLE_REDIRECT_URI, EXAMPLE_SECRET_HASH } from "../../scripts/lib/deploy.ts";
import { parseKeySet } from "../../src/keys/keyset.ts";

delete process.env.BRIDGE_CONFIG; // the commands' default file must be the one these tests write

function capture(): Io & { outText(): string; errText(): string } {
  const out: string[] = [];
  const err: string[] = [];
  return { out: (l) => void out.push(l), err: (l) => void err.push(l), outText: () => out.join("\n"), errText: () => err.join("\n") };
}

const dir = () => mkdtempSync(join(tmpdir(), "bridge-cmd-"));
const fixture = readFileSync("test/fixtures/config.json", "utf8");
const fixtureIds: string[] = JSON.parse(fixture).clients.map((c: { clientId: string }) => c.clientId);
const wranglerToml = readFileSync("wrangler.toml", "utf8");
const REAL_KV_ID = "3f9c2b1a4d5e6f708192a3b4c5d6e7f8";

/** A directory ready to deploy: the fixture as config.json, wrangler.toml with a real KV id; `change` spoils one thing. */
function project(change: { config?: (c: any) => void; toml?: (t: string) => string } = {}): string {
  const d = dir();
  const config = JSON.parse(fixture);
  change.config?.(config);
  writeFileSync(join(d, "config.json"), JSON.stringify(config, null, 2));
  const toml = wranglerToml.replace(/^id = "0{32}"$/m, `id = "${REAL_KV_ID}"`);
  writeFileSync(join(d, "wrangler.toml"), change.toml ? change.toml(toml) : toml);
  return d;
}

/** runCheck in `cwd`: exit code and both streams. */
function check(cwd: string, ...args: string[]): { code: number; out: string; err: string } {
  const io = capture();
  const code = runCheck(args, io, cwd);
  return { code, out: io.outText(), err: io.errText() };
}

describe("npm run check", () => {
  it("accepts a valid file", () => {
    const io = capture();
    expect(runCheck(["--local", "test/fixtures/config.json"], io)).toBe(0);
    expect(io.outText()).toContain(`is valid: ${fixtureIds.length} client(s) (${fixtureIds.join(", ")})`);
  });

  it("warns when a heavy user's ID token could exceed the claim budget, and stops when guilds.include keeps it small", () => {
    const io = capture();
    expect(runCheck(["--local", "test/fixtures/config.json"], io)).toBe(0);
    expect(io.outText()).toMatch(/⚠ with the guilds scope, a user in 200 guilds .* about \d{5} bytes .* over the 3000-byte budget.*set guilds\.include/);
    const small = JSON.parse(fixture);
    small.guilds.include = ["300000000000000001"];
    small.clients = small.clients.filter((c: { idTokenSigningAlg?: string }) => c.idTokenSigningAlg !== "RS256");
    const path = join(dir(), "config.json");
    writeFileSync(path, JSON.stringify(small));
    const quiet = capture();
    expect(runCheck(["--local", path], quiet)).toBe(0);
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
    expect(runCheck(["--local", plainPath], quiet)).toBe(0);
    expect(quiet.outText()).not.toContain("⚠");

    const many = JSON.parse(fixture);
    many.guilds.include = ["300000000000000001"];
    many.roleGuilds = Array.from({ length: 6 }, (_, i) => `30000000000000001${i}`);
    const manyPath = join(dir(), "config.json");
    writeFileSync(manyPath, JSON.stringify(many));
    const io = capture();
    expect(runCheck(["--local", manyPath], io)).toBe(0);
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

  it("reports the example's placeholder hash by field; for deploying, every other placeholder too, each field once", () => {
    const local = capture();
    expect(runCheck(["--local", "config.example.json"], local)).toBe(1);
    expect(local.errText()).toMatch(/clients\[0\]\.clientSecretHash must be/);
    expect(local.errText().match(/^ {2}- /gm)).toHaveLength(1);

    const io = capture();
    expect(runCheck(["config.example.json"], io)).toBe(1);
    expect(io.errText().split("\n").filter((l) => l.startsWith("  - "))).toEqual([
      expect.stringMatching(/^ {2}- clients\[0\]\.clientSecretHash must be "sha256:"/),
      '  - wrangler.toml [alias] "bridge-config" bundles ./config.json, not the checked config.example.json: check the file that will be deployed',
      '  - issuer is still the example\'s placeholder "https://auth.example.com": set it to the origin your Worker is served at',
      expect.stringMatching(/^ {2}- discord\.clientId is still the example's placeholder "123456789012345678": set it to your Discord application id/),
      expect.stringMatching(/^ {2}- clients\[0\]\.redirectUris\[0\] is still the example's placeholder "https:\/\/your-team\.cloudflareaccess\.com/),
      expect.stringMatching(/^ {2}- wrangler\.toml kv_namespaces\[0\]\.id \(binding "KV"\) is the example's all-zero placeholder: create the namespace with `npx wrangler kv namespace create KV`/),
    ]);
    expect(io.errText()).toContain("✘ not ready to deploy");
  });

  it("knows the example's placeholders as config.example.json has them", () => {
    const example = JSON.parse(readFileSync("config.example.json", "utf8"));
    expect([example.issuer, example.discord.clientId, example.clients[0].redirectUris[0], example.clients[0].clientSecretHash]).toEqual([
      EXAMPLE_ISSUER,
      EXAMPLE_DISCORD_CLIENT_ID,
      EXAMPLE_REDIRECT_URI,
      EXAMPLE_SECRET_HASH,
    ]);
    expect(wranglerToml).toMatch(/^\[\[kv_namespaces\]\]\nbinding = "KV"\nid = "0{32}"$/m);
  });

  it("is ready to deploy with an issuer, no placeholders and a real KV namespace", () => {
    const { code, out, err } = check(project());
    expect(err).toBe("");
    expect(code).toBe(0);
    expect(out).toContain("✔ ready to deploy: issuer https://bridge.test");
  });

  it("refuses to deploy without an issuer, and --local accepts it", () => {
    const cwd = project({ config: (c) => delete c.issuer });
    const { code, out, err } = check(cwd);
    expect(code).toBe(1);
    expect(out).toContain("is valid");
    expect(err).toBe(
      [
        "✘ not ready to deploy (`npm run check -- --local` skips these checks for local runs):",
        "  - issuer is required to deploy: set it to the origin your Worker is served at, e.g. https://auth.<your-domain> or " +
          "https://discord-oidc-bridge.<you>.workers.dev; local runs default to the request's origin",
      ].join("\n"),
    );
    expect(check(cwd, "--local").code).toBe(0);
  });

  it("refuses the example's placeholders and a loopback issuer at deploy time only", () => {
    const cases: [(c: any) => void, RegExp][] = [
      [(c) => (c.issuer = EXAMPLE_ISSUER), /^ {2}- issuer is still the example's placeholder "https:\/\/auth\.example\.com"/m],
      [(c) => (c.issuer = "http://127.0.0.1:8787"), /^ {2}- issuer "http:\/\/127\.0\.0\.1:8787" is a loopback origin, fine for local runs only/m],
      [(c) => (c.discord.clientId = EXAMPLE_DISCORD_CLIENT_ID), /^ {2}- discord\.clientId is still the example's placeholder "123456789012345678"/m],
      [(c) => c.clients[1].redirectUris.push(EXAMPLE_REDIRECT_URI), /^ {2}- clients\[1\]\.redirectUris\[2\] is still the example's placeholder/m],
    ];
    for (const [spoil, message] of cases) {
      const cwd = project({ config: spoil });
      const { code, err } = check(cwd);
      expect(code, err).toBe(1);
      expect(err).toMatch(message);
      expect(err.match(/^ {2}- /gm)).toHaveLength(1);
      expect(check(cwd, "--local").code).toBe(0);
    }
  });

  it("refuses the example's placeholder client secret hash when it is the only thing wrong with it", () => {
    // The example's placeholder is also malformed, so the validator names it; a well-formed copy is named by the deploy check.
    const cwd = project({ config: (c) => (c.clients[2].clientSecretHash = EXAMPLE_SECRET_HASH) });
    expect(check(cwd).err.match(/clients\[2\]\.clientSecretHash/g)).toHaveLength(1);
  });

  it("refuses the all-zero KV namespace id, in [[kv_namespaces]] and in an environment", () => {
    const zero = project({ toml: () => wranglerToml });
    expect(check(zero).err).toMatch(/^ {2}- wrangler\.toml kv_namespaces\[0\]\.id \(binding "KV"\) is the example's all-zero placeholder/m);
    expect(check(zero, "--local").code).toBe(0);
    const env = project({ toml: (t) => `${t}\n[[env.staging.kv_namespaces]]\nbinding = "KV"\nid = "00000000000000000000000000000000" # paste\n` });
    expect(check(env).err).toMatch(/^ {2}- wrangler\.toml env\.staging\.kv_namespaces\[0\]\.id \(binding "KV"\) is the example's all-zero placeholder/m);
    const inline = project({ toml: (t) => `kv_namespaces = [ { binding = "KV", id = "0000" } ]\n${t.replace(/\[\[kv_namespaces\]\][^[]*/, "")}` });
    expect(check(inline).err).toMatch(/^ {2}- wrangler\.toml kv_namespaces\[0\]\.id/m);
  });

  it("refuses to deploy without wrangler.toml, or with one it cannot read, naming the line", () => {
    const empty = project();
    writeFileSync(join(empty, "wrangler.toml"), "");
    expect(check(empty).code).toBe(0); // nothing to refuse (wrangler itself wants more)
    const gone = dir();
    writeFileSync(join(gone, "config.json"), fixture);
    expect(check(gone).err).toContain(`  - ${join(gone, "wrangler.toml")} not found: deploying needs it`);
    expect(check(gone, "--local").code).toBe(0);
    const broken = project({ toml: (t) => `${t}\n[vars\nX = 1\n` });
    const result = check(broken);
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/wrangler\.toml could not be read at line \d+: Invalid TOML document/);
  });

  it("refuses a checked file that is not the one wrangler bundles", () => {
    const cwd = project();
    writeFileSync(join(cwd, "other.json"), fixture);
    const { code, err } = check(cwd, "other.json");
    expect(code).toBe(1);
    expect(err).toContain(`wrangler.toml [alias] "bridge-config" bundles ./config.json, not the checked ${join(cwd, "other.json")}`);
    expect(check(cwd, "--local", "other.json").code).toBe(0);
    expect(check(cwd, resolve(cwd, "config.json")).code).toBe(0);
  });

  it("refuses http Discord URLs in wrangler.toml vars unless on loopback, also for local runs", () => {
    const http = project({ toml: (t) => t.replace('DISCORD_API_BASE = "https://discord.com/api/v10"', 'DISCORD_API_BASE = "http://discord.com/api/v10"') });
    const { code, err } = check(http, "--local");
    expect(code).toBe(1);
    expect(err).toContain('✘ ' + join(http, "wrangler.toml") + " has 1 problem(s):\n" + '  - DISCORD_API_BASE (wrangler.toml [vars]) must use https (http is allowed only for localhost, 127.0.0.1 and [::1]): "http://discord.com/api/v10"');
    const staging = project({ toml: (t) => `${t}\n[env.staging.vars]\nDISCORD_AUTHORIZE_URL = "http://discord.test/oauth2/authorize"\n` });
    expect(check(staging).err).toContain('  - DISCORD_AUTHORIZE_URL (wrangler.toml [env.staging.vars]) must use https');
    const spaced = project({ toml: (t) => t.replace('"https://discord.com/oauth2/authorize"', '"https://discord.com/oauth2/authorize "') });
    expect(check(spaced).err).toContain('  - DISCORD_AUTHORIZE_URL (wrangler.toml [vars]) has leading or trailing whitespace: "https://discord.com/oauth2/authorize "');
    const loopback = project({ toml: (t) => t.replace('"https://discord.com/api/v10"', '"http://127.0.0.1:8788/api/v10"') });
    expect(check(loopback).code).toBe(0);
  });

  it("refuses a redirect URI with a trailing space, and one that carries a response parameter", () => {
    const spaced = project({ config: (c) => (c.clients[0].redirectUris[0] += " ") });
    const { code, err } = check(spaced, "--local");
    expect(code).toBe(1);
    expect(err).toContain('  - clients[0].redirectUris[0] has leading or trailing whitespace: "https://team.cloudflareaccess.com/cdn-cgi/access/callback "');
    const state = project({ config: (c) => (c.clients[0].redirectUris[0] += "?state=1") });
    expect(check(state).err).toContain('  - clients[0].redirectUris[0] already has the query parameter "state"');
  });

  it("answers unknown options and extra arguments with usage and exit 2", () => {
    for (const args of [["--dry-run"], ["a.json", "b.json"], ["--env", "production"]]) {
      const { code, err } = check(project(), ...args);
      expect(code, args.join(" ")).toBe(2);
      expect(err).toContain("usage: npm run check");
    }
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

describe("npm run deploy", () => {
  const pkg = JSON.parse(readFileSync("package.json", "utf8")) as { scripts: Record<string, string> };

  it("is scripts/deploy.ts: the check, the RSA key stock, then wrangler deploy", () => {
    expect(pkg.scripts.deploy).toBe("tsx scripts/deploy.ts");
  });

  /**
   * The real `npm run deploy -- <args>` in a copy of the project: scripts/ and src/ linked, tsx from
   * node_modules, and a fake `wrangler` that records its arguments, keeps one KV value in a file
   * (`kv key get` / `kv key put --path`), and deploys nothing.
   */
  function deploy(cwd: string, ...args: string[]): { status: number | null; wranglerCalls: string[]; kv: string | undefined; output: string } {
    if (!existsSync(join(cwd, "package.json"))) {
      writeFileSync(join(cwd, "package.json"), JSON.stringify(pkg));
      for (const linked of ["scripts", "src"]) symlinkSync(resolve(linked), join(cwd, linked));
      mkdirSync(join(cwd, "node_modules", ".bin"), { recursive: true });
      symlinkSync(resolve("node_modules/.bin/tsx"), join(cwd, "node_modules", ".bin", "tsx"));
    }
    const fake = [
      "#!/bin/sh",
      'echo "$@" >> wrangler-calls',
      'if [ "$1 $2 $3" = "kv key get" ]; then if [ -f kv-value ]; then cat kv-value; else echo "Value not found"; fi; fi',
      'if [ "$1 $2 $3" = "kv key put" ]; then while [ "$1" != "--path" ]; do shift; done; cp "$2" kv-value; fi',
      "",
    ].join("\n");
    writeFileSync(join(cwd, "node_modules", ".bin", "wrangler"), fake, { mode: 0o755 });
    const env: NodeJS.ProcessEnv = { ...process.env, npm_config_update_notifier: "false", npm_config_fund: "false" };
    delete env.BRIDGE_CONFIG;
    const run = spawnSync("npm", ["run", "deploy", "--", ...args], { cwd, env, encoding: "utf8", timeout: 30_000 });
    const file = (name: string) => (existsSync(join(cwd, name)) ? readFileSync(join(cwd, name), "utf8") : undefined);
    return { status: run.status, wranglerCalls: (file("wrangler-calls") ?? "").split("\n").filter(Boolean), kv: file("kv-value"), output: `${run.stdout}${run.stderr}` };
  }

  it("refuses before wrangler runs when the configuration has a mistake; --dry-run reaches wrangler deploy only", () => {
    const bad = deploy(project({ config: (c) => delete c.issuer }), "--dry-run");
    expect(bad.status, bad.output).toBe(1);
    expect(bad.output).toContain("issuer is required to deploy");
    expect(bad.wranglerCalls).toEqual([]);

    const good = deploy(project(), "--dry-run");
    expect(good.status, good.output).toBe(0);
    expect(good.output).toContain("✔ ready to deploy");
    expect(good.output).toContain("dry run: no RSA keys are made");
    expect(good.wranglerCalls).toEqual(["deploy --dry-run"]);
  });

  it("stocks RSA keys in the deployed namespace before wrangler deploys, and only tops them up on the next deploy", () => {
    const cwd = project();
    const first = deploy(cwd, "--env", "staging");
    expect(first.status, first.output).toBe(0);
    expect(first.wranglerCalls).toEqual([
      "kv key get signing-keys --text --binding KV --remote --env staging",
      expect.stringMatching(/^kv key put signing-keys --path \S+keyset\.json --binding KV --remote --env staging$/),
      "deploy --env staging",
    ]);
    const set = parseKeySet(first.kv ?? null);
    expect(set?.keys.map((k) => [k.alg, k.status])).toEqual([["RS256", "current"], ["ES256", "current"]]);
    expect(set?.reserve).toHaveLength(13); // a year of 30-day rotations
    expect(first.output).toMatch(/made 14 RS256 keys ahead of time/);
    expect(first.output).not.toContain('"d"'); // never private key material on screen

    const again = deploy(cwd);
    expect(again.status, again.output).toBe(0);
    expect(again.wranglerCalls.slice(3)).toEqual(["kv key get signing-keys --text --binding KV --remote", "deploy"]);
    expect(again.output).toContain("nothing to do: 13 RS256 keys in reserve");
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
    expect(config.issuer).toBe(EXAMPLE_ISSUER);
    expect(config.clients).toEqual([
      {
        clientId: "cloudflare-access",
        redirectUris: ["https://team.cloudflareaccess.com/cdn-cgi/access/callback"],
        clientSecretHash: `sha256:${createHash("sha256").update(secret).digest("base64url")}`,
        name: "Access",
        requirePkce: true,
        idTokenSigningAlg: "ES256",
      },
    ]);
    expect(io.outText()).toContain("ID tokens:     ES256 (a Cloudflare Access callback: Access accepts ES256, and its tokens are 256 bytes smaller than RS256's; --alg RS256 to change)");
    expect(io.outText()).toContain(`Before deploying, ${path} still needs`);
    expect(io.outText()).toContain(`  - issuer is still the example's placeholder "${EXAMPLE_ISSUER}"`);
    expect(io.outText()).toContain(`  - discord.clientId is still the example's placeholder "${EXAMPLE_DISCORD_CLIENT_ID}"`);
    expect(io.outText()).toContain("Set the issuer with `--issuer <origin>` on this command");
    expect(runCheck(["--local", path], capture())).toBe(0);
    const deployCheck = capture();
    expect(runCheck([path], deployCheck)).toBe(1);
    expect(deployCheck.errText()).toMatch(/issuer is still the example's placeholder[\s\S]*discord\.clientId is still the example's placeholder/);
  });

  it("signs RS256 for any other client (the default, left out of the file); --alg chooses; a bad --alg is a usage error", () => {
    const path = join(dir(), "config.json");
    const grafana = capture();
    expect(runClient(["add", "grafana", "--redirect-uri", "https://grafana.example.org/login/generic_oauth", "--config", path], grafana)).toBe(0);
    expect(grafana.outText()).toContain("ID tokens:     RS256 (what OpenID Connect clients expect by default; --alg ES256 for 256-byte smaller tokens if the client accepts ES256)");
    // An Access callback next to another client's is not an Access-only client.
    expect(runClient(["add", "mixed", "--redirect-uri", "https://team.cloudflareaccess.com/cdn-cgi/access/callback", "--redirect-uri", "https://app.example.org/cb", "--config", path], capture())).toBe(0);
    const asked = capture();
    expect(runClient(["add", "access-rs", "--redirect-uri", "https://team.cloudflareaccess.com/cdn-cgi/access/callback", "--alg", "RS256", "--config", path], asked)).toBe(0);
    expect(asked.outText()).toContain("ID tokens:     RS256 (as asked)");
    expect(runClient(["add", "small", "--redirect-uri", "https://app.example.org/cb2", "--alg", "ES256", "--config", path], capture())).toBe(0);
    const clients = JSON.parse(readFileSync(path, "utf8")).clients as { clientId: string; idTokenSigningAlg?: string }[];
    expect(clients.map((c) => [c.clientId, c.idTokenSigningAlg])).toEqual([["grafana", undefined], ["mixed", undefined], ["access-rs", undefined], ["small", "ES256"]]);
    const bad = capture();
    expect(runClient(["add", "x", "--redirect-uri", "https://app.example.org/x", "--alg", "HS256", "--config", path], bad)).toBe(2);
    expect(bad.errText()).toContain('✘ --alg is RS256 or ES256, got "HS256"');
    const rotate = capture();
    expect(runClient(["add", "grafana", "--rotate-secret", "--alg", "ES256", "--config", path], rotate)).toBe(2);
    expect(rotate.errText()).toContain("--alg goes with a new client");
  });

  it("sets the issuer with --issuer, validated as the Worker validates it, and never drops a configured one", () => {
    const path = join(dir(), "config.json");
    const refused = capture();
    expect(runClient(["add", "wiki", "--redirect-uri", "https://wiki.example.org/cb", "--issuer", "https://auth.example.org/", "--config", path], refused)).toBe(1);
    expect(refused.errText()).toContain('✘ not written:\n  - issuer must be an origin like "https://auth.example.com" (no path, no trailing slash): "https://auth.example.org/"');
    expect(existsSync(path)).toBe(false);
    const spaced = capture();
    expect(runClient(["add", "wiki", "--redirect-uri", "https://wiki.example.org/cb", "--issuer", "https://auth.example.org ", "--config", path], spaced)).toBe(1);
    expect(spaced.errText()).toContain('  - issuer has leading or trailing whitespace: "https://auth.example.org "');

    const io = capture();
    expect(runClient(["add", "wiki", "--redirect-uri", "https://wiki.example.org/cb", "--issuer", "https://auth.example.org", "--config", path], io)).toBe(0);
    expect(JSON.parse(readFileSync(path, "utf8")).issuer).toBe("https://auth.example.org");
    expect(io.outText()).not.toContain("issuer");

    // Another client, a rotated secret: the issuer stays; --issuer changes it.
    expect(runClient(["add", "blog", "--redirect-uri", "https://blog.example.org/cb", "--config", path], capture())).toBe(0);
    expect(runClient(["add", "blog", "--rotate-secret", "--config", path], capture())).toBe(0);
    expect(JSON.parse(readFileSync(path, "utf8")).issuer).toBe("https://auth.example.org");
    expect(runClient(["add", "blog", "--rotate-secret", "--issuer", "https://login.example.org", "--config", path], capture())).toBe(0);
    expect(JSON.parse(readFileSync(path, "utf8")).issuer).toBe("https://login.example.org");
  });

  it("leaves a file without an issuer without one, and says deploying needs it", () => {
    const path = join(dir(), "config.json");
    const config = JSON.parse(fixture);
    delete config.issuer;
    writeFileSync(path, JSON.stringify(config));
    const io = capture();
    expect(runClient(["add", "blog", "--redirect-uri", "https://blog.example.org/cb", "--config", path], io)).toBe(0);
    expect(JSON.parse(readFileSync(path, "utf8")).issuer).toBeUndefined();
    expect(io.outText()).toContain("  - issuer is required to deploy");
  });

  it("refuses extra words instead of taking the first as the client id", () => {
    const path = join(dir(), "config.json");
    writeFileSync(path, fixture);
    const io = capture();
    expect(runClient(["add", "My", "Wiki", "--redirect-uri", "https://wiki.example.org/cb", "--config", path], io)).toBe(2);
    expect(io.errText()).toContain('✘ add takes one client id, got 2 words: "My" "Wiki". A client id has no spaces; for a display name with spaces, quote it and pass it with --name, e.g. add my-wiki --name "My Wiki"');
    expect(io.errText()).toContain("usage:");
    expect(readFileSync(path, "utf8")).toBe(fixture);
    const remove = capture();
    expect(runClient(["remove", "grafana", "wiki", "--config", path], remove)).toBe(2);
    expect(remove.errText()).toContain('✘ remove takes one client id, got 2 words: "grafana" "wiki". A client id has no spaces\n');
    expect(runClient(["list", "grafana", "--config", path], capture())).toBe(2);
    const misplaced = capture();
    expect(runClient(["remove", "grafana", "--issuer", "https://auth.example.org", "--config", path], misplaced)).toBe(2);
    expect(misplaced.errText()).toContain("✘ --issuer is an option of add, not of remove");
    expect(readFileSync(path, "utf8")).toBe(fixture);
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
