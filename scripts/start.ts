// `npm start`: the bridge under `wrangler dev` on 127.0.0.1:8787 with dev/config.json, plus a fake
// Discord and a demo relying party on 127.0.0.1:8788. No Discord account, no network needed.
// It checks its arguments and dev/config.json before anything listens, and stops with one line when a
// port is taken, the key stock fails, or wrangler cannot build the Worker: it never waits on a dead end.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { FAKE_DISCORD_CLIENT_SECRET, FakeDiscord } from "../test/helpers/fake-discord.ts";
import { consoleIo, runCheck, type Io } from "./check.ts";
import { runKeys } from "./keys.ts";
import { DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DemoRelyingParty } from "./lib/demo-rp.ts";
import { isMain, runMain } from "./lib/main.ts";
import { sendWebResponse, toWebRequest } from "./lib/node-http.ts";
import { isParseArgsError, usageMessage, UsageError, WRANGLER } from "./lib/wrangler.ts";

const HOST = "127.0.0.1";
/** A port from the environment (BRIDGE_PORT, DEMO_PORT), or the default; undefined when it is not one. */
function envPort(name: string, fallback: number): number | undefined {
  const value = process.env[name];
  if (value === undefined || value === "") return fallback;
  return /^\d{1,5}$/.test(value) && Number(value) >= 1 && Number(value) <= 65535 ? Number(value) : undefined;
}
const BRIDGE_PORT = envPort("BRIDGE_PORT", 8787) ?? 8787;
// dev/config.json registers http://127.0.0.1:8788/rp/callback; another port matches it too, as any port
// of an http loopback IP redirect does (RFC 8252 7.3).
const FAKE_PORT = envPort("DEMO_PORT", 8788) ?? 8788;
const bridge = `http://${HOST}:${BRIDGE_PORT}`;
const fakeOrigin = `http://${HOST}:${FAKE_PORT}`;
export const DEV_CONFIG = join("dev", "config.json");
const STATE = ".wrangler/state-local";

export const START_USAGE = `usage: npm start
  the bridge under wrangler dev on ${bridge} with ${DEV_CONFIG}, a fake Discord and a demo
  relying party on ${fakeOrigin}: no Discord application, no network. Ctrl-C stops everything.
  It takes no arguments (-h, --help: this text); BRIDGE_PORT and DEMO_PORT in the environment choose
  other ports. npm run dev runs your config.json against the real Discord.`;

/**
 * What `npm start` checks before anything listens: its arguments (none) and dev/config.json, as
 * `npm run check -- --local` checks a configuration. An exit code to stop with, or undefined to go on.
 */
export function preflight(argv: readonly string[], io: Io = consoleIo, cwd = "."): number | undefined {
  try {
    const { values, positionals } = parseArgs({ args: [...argv], allowPositionals: true, options: { help: { type: "boolean", short: "h" } } });
    if (values.help) {
      io.out(START_USAGE);
      return 0;
    }
    if (positionals.length > 0) throw new UsageError(`npm start takes no arguments, got "${positionals.join(" ")}"`);
  } catch (err) {
    if (!(isParseArgsError(err) || err instanceof UsageError)) throw err;
    io.err(`✘ ${usageMessage(err)}`);
    io.err(START_USAGE);
    return 2;
  }
  for (const name of ["BRIDGE_PORT", "DEMO_PORT"]) {
    if (envPort(name, 0) === undefined) {
      io.err(`✘ ${name} must be a port number from 1 to 65535, got "${process.env[name]}"`);
      return 2;
    }
  }
  if (!existsSync(join(cwd, DEV_CONFIG))) {
    io.err(`✘ ${DEV_CONFIG} not found: it is npm start's demo configuration and comes with the repository (\`git checkout -- ${DEV_CONFIG}\` restores it)`);
    return 1;
  }
  // Quiet when all is well (its notes are about your own config.json); everything when not.
  const lines: string[] = [];
  const checked = runCheck(["--local", DEV_CONFIG], { out: (l) => void lines.push(l), err: (l) => void lines.push(l) }, cwd);
  if (checked !== 0) {
    for (const line of lines) io.err(line);
    io.err(`  (npm start started nothing: fix ${DEV_CONFIG}, or \`git checkout -- ${DEV_CONFIG}\` to start again from the repository's)`);
    return checked;
  }
  return undefined;
}

/** Listen, or say in one line why not (a port taken by another npm start, most likely). */
function listen(server: Server, port: number, what: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    server.once("error", (err: NodeJS.ErrnoException) => {
      resolve(
        err.code === "EADDRINUSE"
          ? `${HOST}:${port} (${what}) is already in use, by another npm start or npm run dev perhaps: stop it, then try again`
          : `${HOST}:${port} (${what}) cannot be listened on: ${err.message}`,
      );
    });
    server.listen(port, HOST, () => resolve(undefined));
  });
}

async function start(argv: readonly string[]): Promise<number> {
  const early = preflight(argv);
  if (early !== undefined) return early;

  const discord = new FakeDiscord();
  const rp = new DemoRelyingParty(bridge, `${fakeOrigin}/rp/callback`);
  const server = createServer((req, res) => {
    void (async () => {
      try {
        const request = await toWebRequest(req, fakeOrigin);
        const url = new URL(request.url);
        let response: Response;
        if (url.pathname === "/") response = Response.redirect(`${fakeOrigin}/rp/start`, 302);
        else if (url.pathname === "/rp/start") response = rp.start();
        else if (url.pathname === "/rp/callback") response = await rp.callback(url);
        else response = await discord.fetch(request);
        await sendWebResponse(res, response);
      } catch (err) {
        res.writeHead(500, { "Content-Type": "text/plain" }).end(`fake server error: ${err instanceof Error ? err.message : String(err)}`);
      }
    })();
  });

  // The bridge's port is wrangler's to take; taken already, wrangler would pick another and the
  // demo, whose redirect URI names 8787's bridge, would talk to whatever holds it.
  const probe = createServer();
  const bridgeBusy = await listen(probe, BRIDGE_PORT, "the bridge");
  await new Promise<void>((resolve) => (bridgeBusy ? resolve() : probe.close(() => resolve())));
  const fakeBusy = bridgeBusy ?? (await listen(server, FAKE_PORT, "the fake Discord and demo relying party"));
  if (fakeBusy) {
    console.error(`✘ ${fakeBusy}`);
    return 1;
  }

  // RSA keys are made ahead of time, as `npm run deploy` does for the deployed bridge (one in use, one
  // in reserve is plenty locally). Quiet unless something is wrong.
  const stockLines: string[] = [];
  const stocked = await runKeys(["stock", "--count", "1", "--persist-to", STATE], undefined, { out: (l) => void stockLines.push(l), err: (l) => void stockLines.push(l) });
  if (stocked !== 0) {
    console.error(stockLines.join("\n"));
    console.error("  (npm start stopped: the local signing keys could not be made)");
    server.close();
    return 1;
  }

  // wrangler's output is shown as it comes, and read for a build failure, after which wrangler dev
  // would wait for a file change with nothing served.
  const wrangler = spawn(
    WRANGLER,
    [
      "dev", "dev/worker.ts",
      "--ip", HOST, "--port", String(BRIDGE_PORT),
      "--persist-to", STATE,
      "--var", `DISCORD_API_BASE:${fakeOrigin}/api/v10`,
      "--var", `DISCORD_AUTHORIZE_URL:${fakeOrigin}/oauth2/authorize`,
      "--var", `DISCORD_CLIENT_SECRET:${FAKE_DISCORD_CLIENT_SECRET}`,
      "--var", `DEMO_URL:${fakeOrigin}/rp/start`,
    ],
    {
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", ...(process.stdout.isTTY ? { FORCE_COLOR: "1" } : {}) },
    },
  );

  let ready = false;
  let stopping = false;
  let finish: (code: number) => void = () => {};
  const finished = new Promise<number>((resolve) => (finish = resolve));
  function stop(code: number): void {
    if (stopping) return;
    stopping = true;
    try {
      if (wrangler.pid) process.kill(-wrangler.pid, "SIGTERM");
    } catch {
      // already gone
    }
    server.close();
    finish(code);
    setTimeout(() => process.exit(code), 300).unref();
  }
  const watch = (into: NodeJS.WriteStream) => (chunk: Buffer) => {
    into.write(chunk);
    if (!ready && !stopping && /Build failed/.test(chunk.toString())) {
      console.error("✘ wrangler could not build the Worker (its message is above): npm start stopped");
      stop(1);
    }
  };
  wrangler.stdout.on("data", watch(process.stdout));
  wrangler.stderr.on("data", watch(process.stderr));
  wrangler.on("error", (err) => {
    console.error(`✘ wrangler dev could not be started: ${err.message}${(err as NodeJS.ErrnoException).code === "ENOENT" ? " (run `npm ci` first)" : ""}`);
    stop(1);
  });
  process.on("SIGINT", () => stop(0));
  process.on("SIGTERM", () => stop(0));
  wrangler.on("exit", (code) => {
    if (!stopping) {
      console.error(`✘ wrangler dev exited (${code ?? "signal"}): npm start stopped`);
      stop(code || 1);
    }
  });

  // Wait for the bridge, then tell the person what to open.
  const deadline = Date.now() + 60_000;
  while (!stopping) {
    try {
      const res = await fetch(`${bridge}/.well-known/openid-configuration`);
      if (res.ok) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) {
      console.error("✘ the bridge did not answer within 60 s (wrangler's output is above): npm start stopped");
      stop(1);
      break;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  if (!stopping) {
    ready = true;
    console.log(`
  discord-oidc-bridge is running (local, fake Discord)

    bridge (issuer):   ${bridge}            landing page with the values for Access
    discovery:         ${bridge}/.well-known/openid-configuration
    try a login:       ${fakeOrigin}/rp/start   (demo relying party -> bridge -> fake Discord)
    demo client:       id ${DEMO_CLIENT_ID}, secret ${DEMO_CLIENT_SECRET} (public, ${DEV_CONFIG} only)

  Ctrl-C stops everything.
`);
  }
  return finished;
}

if (isMain(import.meta.url)) runMain("npm start", () => start(process.argv.slice(2)));
