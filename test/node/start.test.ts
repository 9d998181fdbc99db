// `npm start` on a fresh checkout: wrangler dev (real workerd) with the fake Discord and the demo
// relying party; a login goes all the way through and the stack stops cleanly.
// It runs on free ports (BRIDGE_PORT, DEMO_PORT), so a second test run beside it does not collide; the
// demo's redirect URI, registered on 8788, matches on any port (RFC 8252 7.3, http loopback IP).
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/** A port nothing listens on right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const [BRIDGE_PORT, DEMO_PORT] = [await freePort(), await freePort()];
const BRIDGE = `http://127.0.0.1:${BRIDGE_PORT}`;
const FAKE = `http://127.0.0.1:${DEMO_PORT}`;
let child: ChildProcess;
let output = "";
let startedInMs = 0;

async function up(url: string): Promise<boolean> {
  try {
    await fetch(url);
    return true;
  } catch {
    return false;
  }
}

beforeAll(async () => {
  const t0 = Date.now();
  child = spawn("npx", ["tsx", "scripts/start.ts"], { detached: true, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, CI: "true", BRIDGE_PORT: String(BRIDGE_PORT), DEMO_PORT: String(DEMO_PORT) } });
  child.stdout?.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (output += d.toString()));
  while (!output.includes("is running")) {
    if (Date.now() - t0 > 60_000 || child.exitCode !== null) throw new Error(`npm start did not come up:\n${output}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  startedInMs = Date.now() - t0;
}, 70_000);

afterAll(async () => {
  if (child?.pid && child.exitCode === null) process.kill(-child.pid, "SIGTERM");
});

/** Follow redirects by hand, keeping cookies per host, the way a browser would. */
async function browse(start: string, as = "alice"): Promise<{ url: string; body: string; status: number }> {
  const jar = new Map<string, string>();
  let url = start;
  for (let hops = 0; hops < 10; hops++) {
    const host = new URL(url).host;
    const res = await fetch(url, { redirect: "manual", headers: jar.has(host) ? { Cookie: jar.get(host)! } : {} });
    const cookies = res.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
    if (cookies) jar.set(host, cookies);
    const location = res.headers.get("Location");
    if (res.status >= 300 && res.status < 400 && location) {
      url = new URL(location, url).toString();
      continue;
    }
    const body = await res.text();
    const link = new RegExp(`href="([^"]*code=${as}[^"]*)"`).exec(body)?.[1];
    if (!link) return { url, body, status: res.status };
    url = link.replace(/&amp;/g, "&"); // "Log in as <user>" on the fake Discord consent page
  }
  throw new Error("too many redirects");
}

describe("npm start", () => {
  it("prints what to open and serves the landing page", async () => {
    expect(output).toContain(`${FAKE}/rp/start`);
    expect(output).toContain("local-demo-secret");
    const landing = await (await fetch(`${BRIDGE}/`)).text();
    expect(landing).toContain(`${BRIDGE}/callback`);
    expect(landing).toContain("local-demo");
    console.log(`npm start ready in ${startedInMs} ms`);
  });

  it("logs in end to end: demo relying party -> bridge -> fake Discord -> verified ID token", async () => {
    const { url, body, status } = await browse(`${FAKE}/rp/start`);
    expect(status, body).toBe(200);
    expect(url.startsWith(`${FAKE}/rp/callback?code=`)).toBe(true);
    expect(body).toContain("Logged in through the bridge");
    expect(body).toContain("80351110224678912");
    expect(body).toContain("alice@example.com");
    // The demo configuration's guild claims: alice is a moderator in the main community.
    expect(body).toMatch(/&#34;groups&#34;: \[[^\]]*&#34;moderators&#34;/);
    expect(body).toContain("&#34;roles:300000000000000001&#34;");
  });

  it("shows the refusal page to a user outside the required community", async () => {
    const { url, body, status } = await browse(`${FAKE}/rp/start`, "carol");
    expect(status).toBe(403);
    expect(url.startsWith(`${BRIDGE}/callback?`)).toBe(true);
    expect(body).toContain("The Main Community");
    expect(body).toContain("Local demo relying party");
  });

  it("stops everything on SIGTERM and frees the ports", async () => {
    process.kill(-child.pid!, "SIGTERM");
    const deadline = Date.now() + 15_000;
    while ((await up(`${BRIDGE}/`)) || (await up(`${FAKE}/`))) {
      if (Date.now() > deadline) throw new Error("ports still open after SIGTERM");
      await new Promise((r) => setTimeout(r, 200));
    }
  });
});
