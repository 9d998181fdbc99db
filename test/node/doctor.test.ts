// `npm run doctor` against npm start's Worker (dev/config.json) bundled in Miniflare, with the fake
// Discord on a free port: a bridge set up right (exit 0), one with a wrong Discord secret, a Discord
// application without the bridge's callback and a bot outside a role guild (exit 1, each with its
// fix), an unreachable one (one clean line, exit 1), and usage errors (exit 2).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runDoctor } from "../../scripts/doctor.ts";
import { sendWebResponse, toWebRequest } from "../../scripts/lib/node-http.ts";
import { startBundledBridge, type BundledBridge } from "../helpers/bundled-bridge.ts";
import { APP_CALLS, FAKE_BOT_TOKEN, FAKE_DISCORD_CLIENT_SECRET, FakeDiscord, G } from "../helpers/fake-discord.ts";

const ROOT = resolve(".");
const work = mkdtempSync(join(tmpdir(), "bridge-doctor-"));
const discord = new FakeDiscord();
let fakeServer: Server;
let good: BundledBridge;
let bad: BundledBridge;

beforeAll(async () => {
  fakeServer = createServer((req, res) => {
    void toWebRequest(req, "http://127.0.0.1").then((request) => discord.fetch(request)).then((response) => sendWebResponse(res, response));
  });
  await new Promise<void>((ok) => fakeServer.listen(0, "127.0.0.1", ok));
  const fake = `http://127.0.0.1:${(fakeServer.address() as AddressInfo).port}`;
  [good, bad] = await Promise.all([
    startBundledBridge("dev/worker.ts", join(work, "good"), fake, { DISCORD_BOT_TOKEN: FAKE_BOT_TOKEN }),
    startBundledBridge("dev/worker.ts", join(work, "bad"), fake, { DISCORD_CLIENT_SECRET: "not-the-discord-secret", DISCORD_BOT_TOKEN: `${FAKE_BOT_TOKEN}!no-redirect!outside-${G.art}` }),
  ]);
  // The application lists the good bridge's callback (the bad one's token hides every callback).
  discord.redirectUris = [`${good.origin}/callback`];
}, 120_000);

afterAll(async () => {
  await Promise.all([good?.mf.dispose(), bad?.mf.dispose()]);
  fakeServer?.close();
  rmSync(work, { recursive: true, force: true });
});

async function doctor(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runDoctor(args, { out: (l) => out.push(l), err: (l) => err.push(l) }, ROOT);
  return { code, out: out.join("\n"), err: err.join("\n") };
}

describe("npm run doctor", () => {
  it("a bridge set up right: every check passes, exit 0", async () => {
    const before = discord.calls(APP_CALLS).length;
    const { code, out, err } = await doctor("--config", "dev/config.json", "--url", good.origin);
    expect(err).toBe("");
    expect(code).toBe(0);
    expect(out).toMatch(/^✔ .*dev\/config\.json is valid/);
    expect(out).toContain(`✔ discovery at ${good.origin} names the issuer ${good.origin}`);
    expect(out).toContain("✔ Discord accepts the client secret of application 111111111111111111");
    expect(out).toContain(`✔ ${good.origin}/callback is a registered redirect of application 111111111111111111`);
    expect(out).toContain("✔ the bot reads members in all 2 role guild(s)");
    expect(out).toContain("✔ Workers KV and the CodeStore and KeyKeeper Durable Objects answer");
    expect(out).toMatch(/✔ .*\/jwks\.json carries the 2 key\(s\) in use or next/);
    expect(out).toMatch(/✔ no problem found$/);
    expect(out).not.toContain("✘");
    // Grant, revoke, the application, the bot in each of the 2 role guilds.
    expect(discord.calls(APP_CALLS).length - before).toBe(5);
    // Again at once: the bridge answers from its cache, no Discord call.
    const again = await doctor("--config", "dev/config.json", "--url", good.origin);
    expect(again.code).toBe(0);
    expect(again.out).toContain("(the bridge's own checks ran at");
    expect(discord.calls(APP_CALLS).length - before).toBe(5);
  });

  it("a wrong secret, a missing Discord redirect and a bot outside a role guild: each with its fix, exit 1", async () => {
    const { code, out, err } = await doctor("--config", "dev/config.json", "--url", bad.origin);
    expect(code).toBe(1);
    expect(err).toContain("✘ Discord refuses the client id 111111111111111111 with this DISCORD_CLIENT_SECRET (HTTP 401)");
    expect(err).toContain("→ copy the Client Secret of application 111111111111111111");
    expect(err).toContain("`npx wrangler secret put DISCORD_CLIENT_SECRET`");
    expect(err).toContain(`✘ ${bad.origin}/callback is not among the 1 redirect URI(s) registered for application 111111111111111111`);
    expect(err).toContain(`→ add ${bad.origin}/callback under OAuth2, Redirects, of application 111111111111111111 in the Discord developer portal`);
    expect(err).toContain(`✘ the bot is not in role guild The Art Club (${G.art})`);
    expect(err).toContain("→ invite the bot to it with https://discord.com/oauth2/authorize?client_id=111111111111111111&scope=bot&permissions=0");
    expect(err).toMatch(/✘ 3 problem\(s\)/);
    expect(out).toContain("✔ Workers KV and the CodeStore and KeyKeeper Durable Objects answer");
    for (const secret of ["not-the-discord-secret", FAKE_DISCORD_CLIENT_SECRET, FAKE_BOT_TOKEN]) expect(out + err).not.toContain(secret);
  });

  it("an unreachable bridge: one clean line, exit 1", async () => {
    // A port nothing listens on: a server's, just closed.
    const server = createServer();
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await new Promise((ok) => server.close(ok));
    const run = spawnSync(join(ROOT, "node_modules/.bin/tsx"), ["scripts/doctor.ts", "--config", "dev/config.json", "--url", url], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
    expect(run.status).toBe(1);
    expect(run.stderr.trim().split("\n")).toEqual([`✘ cannot reach the bridge at ${url}: connection refused; start it with \`npm start\` or \`npm run dev\`, or pass --url <origin>`]);
    expect(run.stdout).toMatch(/^✔ dev\/config\.json is valid/);
    expect(run.stdout + run.stderr).not.toMatch(/\n\s+at /);
  });

  it("--remote: discovery at the bridge must name the configured issuer, else the fix says where", async () => {
    const config = join(work, "config-with-issuer.json");
    writeFileSync(config, JSON.stringify({ ...JSON.parse(readFileSync(join(ROOT, "dev/config.json"), "utf8")), issuer: "https://auth.example.org" }));
    const { code, err } = await doctor("--remote", "--config", config, "--url", good.origin);
    expect(code).toBe(1);
    expect(err).toContain(`✘ discovery at ${good.origin} names the issuer ${good.origin}, not https://auth.example.org: clients reject every token (iss mismatch)`);
    expect(err).toContain(`→ deploy the configuration you checked (\`npm run deploy\`), or set issuer in ${config} to ${good.origin}`);
  });

  it("--remote without an issuer says what to set, exit 1", async () => {
    const { code, err } = await doctor("--remote", "--config", "dev/config.json");
    expect(code).toBe(1);
    expect(err).toContain("✘ --remote checks the bridge at its issuer, and dev/config.json names none: set issuer in dev/config.json, or pass --url <origin>");
  });

  it("unknown arguments and a bad --url: usage, exit 2", async () => {
    for (const args of [["--frobnicate"], ["extra"], ["--url", "https://auth.example.org/path"]]) {
      const { code, err } = await doctor(...args);
      expect(code, args.join(" ")).toBe(2);
      expect(err).toContain("usage: npm run doctor");
    }
  });
});
