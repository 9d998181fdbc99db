// `npm start`: the bridge under `wrangler dev` on 127.0.0.1:8787 with dev/config.json, plus a fake
// Discord and a demo relying party on 127.0.0.1:8788. No Discord account, no network needed.
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import { FAKE_DISCORD_CLIENT_SECRET, FakeDiscord } from "../test/helpers/fake-discord.ts";
import { runKeys } from "./keys.ts";
import { DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DemoRelyingParty } from "./lib/demo-rp.ts";
import { sendWebResponse, toWebRequest } from "./lib/node-http.ts";

const HOST = "127.0.0.1";
const BRIDGE_PORT = 8787;
const FAKE_PORT = 8788; // dev/config.json registers http://127.0.0.1:8788/rp/callback
const bridge = `http://${HOST}:${BRIDGE_PORT}`;
const fakeOrigin = `http://${HOST}:${FAKE_PORT}`;

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

await new Promise<void>((resolve, reject) => {
  server.once("error", reject);
  server.listen(FAKE_PORT, HOST, resolve);
});

// RSA keys are made ahead of time, as \`npm run deploy\` does for the deployed bridge (one in use, one
// in reserve is plenty locally). Quiet unless something is wrong.
const STATE = ".wrangler/state-local";
const stockLines: string[] = [];
const stocked = await runKeys(["stock", "--count", "1", "--persist-to", STATE], undefined, { out: (l) => void stockLines.push(l), err: (l) => void stockLines.push(l) });
if (stocked !== 0) {
  console.error(stockLines.join("\n"));
  server.close();
  process.exit(1);
}

const wrangler = spawn(
  "npx",
  [
    "wrangler", "dev", "dev/worker.ts",
    "--ip", HOST, "--port", String(BRIDGE_PORT),
    "--persist-to", STATE,
    "--var", `DISCORD_API_BASE:${fakeOrigin}/api/v10`,
    "--var", `DISCORD_AUTHORIZE_URL:${fakeOrigin}/oauth2/authorize`,
    "--var", `DISCORD_CLIENT_SECRET:${FAKE_DISCORD_CLIENT_SECRET}`,
    "--var", `DEMO_URL:${fakeOrigin}/rp/start`,
  ],
  {
    stdio: ["ignore", "inherit", "inherit"],
    detached: true,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
  },
);

let stopping = false;
function stop(code: number): void {
  if (stopping) return;
  stopping = true;
  try {
    if (wrangler.pid) process.kill(-wrangler.pid, "SIGTERM");
  } catch {
    // already gone
  }
  server.close();
  setTimeout(() => process.exit(code), 300).unref();
}
process.on("SIGINT", () => stop(0));
process.on("SIGTERM", () => stop(0));
wrangler.on("exit", (code) => {
  if (!stopping) {
    console.error(`wrangler dev exited (${code ?? "signal"})`);
    stop(code ?? 1);
  }
});

// Wait for the bridge, then tell the person what to open.
const deadline = Date.now() + 60_000;
for (;;) {
  try {
    const res = await fetch(`${bridge}/.well-known/openid-configuration`);
    if (res.ok) break;
  } catch {
    // not up yet
  }
  if (Date.now() > deadline || stopping) {
    console.error("the bridge did not start within 60 s");
    stop(1);
    break;
  }
  await new Promise((r) => setTimeout(r, 250));
}
if (!stopping) {
  console.log(`
  discord-oidc-bridge is running (local, fake Discord)

    bridge (issuer):   ${bridge}            landing page with the values for Access
    discovery:         ${bridge}/.well-known/openid-configuration
    try a login:       ${fakeOrigin}/rp/start   (demo relying party -> bridge -> fake Discord)
    demo client:       id ${DEMO_CLIENT_ID}, secret ${DEMO_CLIENT_SECRET} (public, dev/config.json only)

  Ctrl-C stops everything.
`);
}
