// Every operator command run for real (`npm run <command>`) in a copy of the project with a fake wrangler:
// a missing or invalid configuration stops dev, start and deploy before wrangler runs; a failing wrangler
// is one line plus its own words; unknown or extra arguments get usage and exit 2. Nothing here listens
// on a port or reaches the network.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEPLOY_OPTIONS } from "../../scripts/deploy.ts";
import { DEV_OPTIONS, runDev } from "../../scripts/dev.ts";
import { wranglerFailure, wranglerWords, type WranglerOptions } from "../../scripts/lib/wrangler.ts";
import { fakeProject, hasStack, LOGGED_OUT_WRANGLER, npmRun, readIn } from "./fake-project.ts";

const fixture = readFileSync("test/fixtures/config.json", "utf8");
const devConfig = readFileSync("dev/config.json", "utf8");
const wranglerToml = readFileSync("wrangler.toml", "utf8");
const deployableToml = wranglerToml.replace(/^id = "0{32}"$/m, 'id = "3f9c2b1a4d5e6f708192a3b4c5d6e7f8"');
const pkg = JSON.parse(readFileSync("package.json", "utf8")) as { scripts: Record<string, string> };

const LOGIN_HINT = "  hint: log in with `npx wrangler login` (or set CLOUDFLARE_API_TOKEN for a run without a browser), then try again";
const TOKEN_WORDS =
  "In a non-interactive environment, it's necessary to set a CLOUDFLARE_API_TOKEN environment variable for wrangler to work. Please go to https://developers.cloudflare.com/fundamentals/api/get-started/create-token/ for instructions on how to create an api token, and assign its value to CLOUDFLARE_API_TOKEN.";

/** The lines starting with ✘. */
const crosses = (text: string) => text.split("\n").filter((l) => l.startsWith("✘"));

describe("npm run dev", { timeout: 180_000 }, () => {
  it("is scripts/dev.ts: the check first, then wrangler dev", () => {
    expect(pkg.scripts.dev).toBe("tsx scripts/dev.ts");
  });

  it("stops at once without config.json, naming the file and how to make it; wrangler never runs", () => {
    const cwd = fakeProject({ "wrangler.toml": wranglerToml });
    const run = npmRun(cwd, "dev");
    expect(run.status, run.output).toBe(1);
    expect(run.stderr).toBe(
      [
        "✘ config.json not found",
        "  Create it with `npm run client -- add <client-id> --redirect-uri <url>` (it starts from config.example.json),",
        "  or copy config.example.json to config.json and edit it.",
        "  (wrangler dev was not started)",
        "",
      ].join("\n"),
    );
    expect(run.wranglerCalls).toEqual([]);
  });

  it("stops at once on invalid JSON and on an invalid field, naming the line or the field", () => {
    const json = fakeProject({ "wrangler.toml": wranglerToml, "config.json": '{\n  "discord": {\n    "clientId": "1",\n  }\n}\n' });
    const bad = npmRun(json, "dev");
    expect(bad.status).toBe(1);
    expect(crosses(bad.stderr)).toEqual([expect.stringMatching(/^✘ config\.json is not valid JSON at line 4, column 3: /)]);
    expect(bad.output).not.toContain("Cannot find module");
    expect(hasStack(bad.output)).toBe(false);
    expect(bad.wranglerCalls).toEqual([]);

    const config = JSON.parse(fixture);
    config.clients[0].redirectUris = ["http://wiki.example.org/cb"];
    const field = npmRun(fakeProject({ "wrangler.toml": wranglerToml, "config.json": JSON.stringify(config) }), "dev");
    expect(field.status).toBe(1);
    expect(field.stderr).toContain("  - clients[0].redirectUris[0] must use https");
    expect(field.wranglerCalls).toEqual([]);
  });

  it("checks the file wrangler.toml bundles, as a local run: no issuer needed", async () => {
    const config = JSON.parse(fixture);
    delete config.issuer;
    const cwd = fakeProject({ "wrangler.toml": wranglerToml.replace('"bridge-config" = "./config.json"', '"bridge-config" = "./conf/bridge.json"'), "conf/bridge.json": JSON.stringify(config) });
    const checked: string[][] = [];
    const lines: string[] = [];
    const io = { out: (l: string) => void lines.push(l), err: (l: string) => void lines.push(l) };
    const code = await runDev(["--port", "0"], { check: (args, _io, dir) => (checked.push([...args, dir]), 0), wrangler: async (args) => (lines.push(args.join(" ")), 0) }, io, cwd);
    expect(code).toBe(0);
    expect(checked).toEqual([["--local", "conf/bridge.json", cwd]]);
    expect(lines).toEqual(["dev --port 0"]);
    const run = npmRun(cwd, "dev", ["--port", "0"]);
    expect(run.status, run.output).toBe(0);
    expect(run.stdout).toContain("✔ conf/bridge.json is valid");
  });

  it("runs wrangler dev with the options given, anything after a second -- unchecked, and passes on its exit code", () => {
    const cwd = fakeProject({ "wrangler.toml": wranglerToml, "config.json": fixture });
    const run = npmRun(cwd, "dev", ["--port", "0", "--var", "DISCORD_TIMEOUT_MS:10000", "-e", "staging", "--", "--remote", "x"]);
    expect(run.status, run.output).toBe(0);
    expect(run.stdout).toContain("✔ config.json is valid");
    expect(run.wranglerCalls).toEqual(["dev --port 0 --var DISCORD_TIMEOUT_MS:10000 -e staging --remote x"]);
    const failed = npmRun(cwd, "dev", [], { FAKE_WRANGLER_EXIT: "3" });
    expect(failed.status).toBe(3);
  });

  it("refuses unknown options and stray words with usage and exit 2, before anything else", () => {
    const cwd = fakeProject({ "wrangler.toml": wranglerToml }); // no config.json: the arguments come first
    for (const args of [["--bogus"], ["src/index.ts"], ["--port"], ["--remote"]]) {
      const run = npmRun(cwd, "dev", args);
      expect(run.status, args.join(" ")).toBe(2);
      expect(crosses(run.stderr)).toHaveLength(1);
      expect(run.stderr).toContain("usage: npm run dev [-- [options] [-- <other wrangler dev options>]]");
      expect(run.stderr).not.toContain("not found");
    }
    expect(npmRun(cwd, "dev", ["--bogus"]).stderr).toMatch(/^✘ Unknown option '--bogus'\n/);
    expect(npmRun(cwd, "dev", ["src/index.ts"]).stderr).toMatch(/^✘ unexpected argument "src\/index\.ts"\n/);
    const help = npmRun(cwd, "dev", ["--help"]);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain("--persist-to <dir>");
    expect(readIn(cwd, "wrangler-calls")).toBeUndefined();
  });

  it("hands a SIGTERM on to wrangler dev and ends with it", async () => {
    const waiting = [
      "#!/bin/sh",
      "sleep 300 & pid=$!",
      "trap 'echo TERM > wrangler-signal; kill $pid; exit 0' TERM",
      "echo up > wrangler-up",
      "wait $pid",
      "",
    ].join("\n");
    const cwd = fakeProject({ "wrangler.toml": wranglerToml, "config.json": fixture }, waiting);
    const child = spawn(join("node_modules", ".bin", "tsx"), ["scripts/dev.ts"], { cwd, stdio: "ignore" });
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    for (let i = 0; !existsSync(join(cwd, "wrangler-up")); i++) {
      if (i > 600 || child.exitCode !== null) throw new Error("the fake wrangler dev never started");
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(readIn(cwd, "wrangler-signal")).toBe("TERM\n");
  });
});

describe("npm start", { timeout: 180_000 }, () => {
  it("refuses arguments with usage and exit 2", () => {
    const cwd = fakeProject({ "wrangler.toml": wranglerToml, "dev/config.json": devConfig });
    for (const args of [["--bogus"], ["now"], ["--port", "9000"]]) {
      const run = npmRun(cwd, "start", args);
      expect(run.status, args.join(" ")).toBe(2);
      expect(crosses(run.stderr)).toHaveLength(1);
      expect(run.stderr).toContain("usage: npm start");
    }
    expect(npmRun(cwd, "start", ["--help"]).stdout).toContain("usage: npm start");
    expect(readIn(cwd, "wrangler-calls")).toBeUndefined();
  });

  it("checks dev/config.json before anything listens or runs, and says what is wrong with it", () => {
    const missing = npmRun(fakeProject({ "wrangler.toml": wranglerToml }), "start");
    expect(missing.status).toBe(1);
    expect(missing.stderr).toBe("✘ dev/config.json not found: it is npm start's demo configuration and comes with the repository (`git checkout -- dev/config.json` restores it)\n");

    const json = fakeProject({ "wrangler.toml": wranglerToml, "dev/config.json": devConfig.replace(/}\s*$/, "},") });
    const bad = npmRun(json, "start");
    expect(bad.status).toBe(1);
    expect(crosses(bad.stderr)).toEqual([expect.stringMatching(/^✘ dev\/config\.json is not valid JSON/)]);
    expect(bad.stderr).toContain("(npm start started nothing: fix dev/config.json, or `git checkout -- dev/config.json` to start again from the repository's)");
    expect(bad.wranglerCalls).toEqual([]);

    const config = JSON.parse(devConfig);
    config.clients[0].redirectUris = ["http://example.org/cb"];
    const field = npmRun(fakeProject({ "wrangler.toml": wranglerToml, "dev/config.json": JSON.stringify(config) }), "start");
    expect(field.status).toBe(1);
    expect(field.stderr).toContain("✘ dev/config.json has 1 problem(s):\n  - clients[0].redirectUris[0] must use https");
    expect(field.output).not.toContain("is running");
    expect(hasStack(field.output)).toBe(false);
    expect(field.wranglerCalls).toEqual([]);
  });
});

describe("npm run deploy", { timeout: 180_000 }, () => {
  it("without config.json: one message, exit 1, nothing written, wrangler never runs", () => {
    const run = npmRun(fakeProject({ "wrangler.toml": deployableToml }), "deploy");
    expect(run.status).toBe(1);
    expect(crosses(run.stderr)).toEqual(["✘ config.json not found"]);
    expect(run.stderr).toContain("npm run client -- add");
    expect(run.stderr).toContain("(not deployed: nothing was written and wrangler did not run)");
    expect(run.wranglerCalls).toEqual([]);
  });

  it("refuses unknown options and stray words with usage and exit 2, before the check", () => {
    const cwd = fakeProject({ "wrangler.toml": deployableToml, "config.json": fixture });
    for (const args of [["--bogus"], ["--dry-run", "src/index.ts"], ["--outdir"], ["--remote"]]) {
      const run = npmRun(cwd, "deploy", args);
      expect(run.status, args.join(" ")).toBe(2);
      expect(crosses(run.stderr)).toHaveLength(1);
      expect(run.stderr).toContain("usage: npm run deploy [-- [options] [-- <other wrangler deploy options>]]");
      expect(run.stdout).not.toContain("✔");
    }
    expect(readIn(cwd, "wrangler-calls")).toBeUndefined();
  });

  it("passes the listed options on, and anything after a second -- unchecked", () => {
    const cwd = fakeProject({ "wrangler.toml": deployableToml, "config.json": fixture });
    const run = npmRun(cwd, "deploy", ["--dry-run", "--outdir", "dist", "--", "--name", "other"]);
    expect(run.status, run.output).toBe(0);
    expect(run.wranglerCalls).toEqual(["deploy --dry-run --outdir dist --name other"]);
  });

  it("stops when wrangler cannot reach the KV namespace: wrangler's words, a hint, no stack, no deploy", () => {
    const run = npmRun(fakeProject({ "wrangler.toml": deployableToml, "config.json": fixture }, LOGGED_OUT_WRANGLER), "deploy");
    expect(run.status).toBe(1);
    expect(run.stderr).toBe([`✘ wrangler kv key get failed: ${TOKEN_WORDS}`, LOGIN_HINT, "✘ not deployed: the signing keys could not be stocked (see above)", ""].join("\n"));
    expect(run.wranglerCalls).toEqual(["kv key get signing-keys --text --binding KV --remote"]);
  });

  it("says so when wrangler deploy fails", () => {
    const run = npmRun(fakeProject({ "wrangler.toml": deployableToml, "config.json": fixture }), "deploy", ["--dry-run"], { FAKE_WRANGLER_EXIT: "1" });
    expect(run.status).toBe(1);
    expect(run.stderr).toBe("✘ not deployed: wrangler deploy failed (exit code 1); its message is above\n");
  });
});

describe("npm run keys", { timeout: 180_000 }, () => {
  it("without Cloudflare credentials: one line with wrangler's words and what to do, exit 1", () => {
    const run = npmRun(fakeProject({}, LOGGED_OUT_WRANGLER), "keys", ["status", "--remote"]);
    expect(run.status).toBe(1);
    expect(run.stderr).toBe(`✘ wrangler kv key get failed: ${TOKEN_WORDS}\n${LOGIN_HINT}\n`);
    expect(run.stdout).toBe("");
  });

  it("without wrangler installed: says to run npm ci", () => {
    const cwd = fakeProject();
    rmSync(join(cwd, "node_modules", ".bin", "wrangler"));
    const run = npmRun(cwd, "keys", ["status"]);
    expect(run.status).toBe(1);
    expect(run.stderr).toBe("✘ wrangler kv key get failed: wrangler is not installed (no node_modules/.bin/wrangler)\n  hint: run `npm ci` first\n");
  });

  it("names a configuration it cannot use instead of throwing", () => {
    const run = npmRun(fakeProject({ "config.json": "{" }), "keys", ["status", "--config", "config.json"]);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^✘ config\.json is not valid JSON/);
    expect(hasStack(run.output)).toBe(false);
    const invalid = npmRun(fakeProject({ "config.json": '{"discord":{}}' }), "keys", ["status"]);
    expect(invalid.status).toBe(1);
    expect(invalid.stderr).toMatch(/^✘ the rotation policy could not be read: the configuration has \d problem\(s\) \(`npm run check` lists them\):\n {2}- discord\.clientId/);
  });
});

describe("npm run check and npm run client", { timeout: 180_000 }, () => {
  it("name a file they cannot read, and an unexpected failure in one line, without a stack", () => {
    const cwd = fakeProject({ "wrangler.toml": wranglerToml, "config.example.json": readFileSync("config.example.json", "utf8") });
    const dir = npmRun(cwd, "check", ["--local", "scripts"]);
    expect(dir.status).toBe(1);
    expect(dir.stderr).toBe("✘ scripts could not be read (EISDIR): illegal operation on a directory, read\n");
    const nowhere = npmRun(cwd, "client", ["add", "wiki", "--redirect-uri", "https://wiki.example.org/cb", "--config", "no/such/dir/config.json"]);
    expect(nowhere.status).toBe(1);
    expect(nowhere.stderr).toMatch(/^✘ npm run client failed: ENOENT: no such file or directory, open 'no\/such\/dir\/config\.json\.\d+\.tmp'\n {2}\(BRIDGE_DEBUG=1 prints the stack\)\n$/);
    expect(npmRun(cwd, "check", ["--local", "a.json", "b.json"]).status).toBe(2);
  });
});

describe("wrangler's messages", { timeout: 180_000 }, () => {
  it("keep its words without colours, badges, banners, blank lines or the log line; the log is the last resort hint", () => {
    const stderr = "\u001b[31m✘ \u001b[41;31m[\u001b[41;97mERROR\u001b[41;31m]\u001b[0m \u001b[1mA request to the Cloudflare API failed.\u001b[0m\n\n  something odd [code: 12345]\n\n⛅️ wrangler 4.86.0\n───────────\n🪵  Logs were written to \"/tmp/w.log\"\n";
    expect(wranglerWords(stderr)).toEqual({ lines: ["A request to the Cloudflare API failed.", "something odd [code: 12345]"], log: "/tmp/w.log" });
    const failed = wranglerFailure("kv key put", { status: 1, stderr });
    expect(failed.report()).toEqual(["✘ wrangler kv key put failed: A request to the Cloudflare API failed.", "  something odd [code: 12345]", "  hint: wrangler's log has the details: /tmp/w.log"]);
    expect(wranglerFailure("kv key get", { status: 1, stderr: "✘ [ERROR] KV namespace '0000' not found [code: 10041]\n" }).hint).toMatch(/^check the KV namespace id in wrangler\.toml/);
    expect(wranglerFailure("kv key get", { status: 2, stderr: "" }).report()).toEqual(["✘ wrangler kv key get failed: exit code 2, and it printed nothing"]);
  });

  it("npm run dev and npm run deploy pass on only options this wrangler has", () => {
    const names = (options: WranglerOptions) => Object.entries(options).map(([name, o]) => (o.short ? `-${o.short}, --${name}` : `--${name}`));
    for (const [command, options] of [["dev", DEV_OPTIONS], ["deploy", DEPLOY_OPTIONS]] as const) {
      const help = spawnSync(join("node_modules", ".bin", "wrangler"), [command, "--help"], { encoding: "utf8", env: { ...process.env, WRANGLER_SEND_METRICS: "false" }, timeout: 60_000 }).stdout;
      for (const option of names(options)) expect(help, `wrangler ${command} ${option}`).toMatch(new RegExp(`^\\s+${option}\\b`, "m"));
    }
  });
});
