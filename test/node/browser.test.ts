// The local stack in a real browser (Debian's Chromium through playwright-core): npm start's Worker and
// configuration (dev/config.json, its demo client registered on this run's port), its fake Discord and
// its demo relying party. A member signs in and sees her claims; a non-member sees the refusal page
// naming his Discord account; a cancel at Discord is called a cancel; a misconfigured bridge shows the
// public 503 page with a reference and no configuration detail; the landing page renders. Screenshots
// go to test-output/browser/ (gitignored), for a person to look at.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type RequestListener, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Miniflare } from "miniflare";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DemoRelyingParty } from "../../scripts/lib/demo-rp.ts";
import { sendWebResponse, toWebRequest } from "../../scripts/lib/node-http.ts";
import { startBundledBridge, writeEntry } from "../helpers/bundled-bridge.ts";
import { FAKE_USERS, FakeDiscord } from "../helpers/fake-discord.ts";

const CHROMIUM = "/usr/bin/chromium";
const SCREENS = join("test-output", "browser");
const work = mkdtempSync(join(tmpdir(), "bridge-browser-stack-"));
const discord = new FakeDiscord();
const servers: Server[] = [];
const bridges: Miniflare[] = [];
let bridge = "";
let broken = "";
let rpOrigin = "";
let rp: DemoRelyingParty | undefined;
let context: BrowserContext;

async function listen(handler: RequestListener): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function serve(origin: () => string, fetch: (request: Request) => Promise<Response> | Response): RequestListener {
  return (req, res) => {
    void toWebRequest(req, origin())
      .then(fetch)
      .catch((err: unknown) => new Response(`test server failed: ${String(err)}`, { status: 500 }))
      .then((response) => sendWebResponse(res, response));
  };
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's Chromium (apt-get install chromium), as .ci/run does`);
  mkdirSync(SCREENS, { recursive: true });
  const fake = await listen(serve(() => "http://127.0.0.1", (request) => discord.fetch(request)));
  rpOrigin = await listen(
    serve(
      () => rpOrigin,
      async (request) => {
        const url = new URL(request.url);
        if (!rp) return new Response("not ready", { status: 503 });
        if (url.pathname === "/rp/start") return rp.start();
        if (url.pathname === "/rp/callback") return rp.callback(url);
        return new Response("not found", { status: 404 });
      },
    ),
  );
  // npm start's configuration, its demo client's redirect URI on this run's port.
  const config = JSON.parse(readFileSync("dev/config.json", "utf8")) as { clients: { redirectUris: string[] }[] };
  config.clients[0]!.redirectUris = [`${rpOrigin}/rp/callback`];
  const entry = writeEntry(work, config);
  const good = await startBundledBridge(entry, join(work, "good"), fake, { DEMO_URL: `${rpOrigin}/rp/start` });
  // The same Worker without its Discord secret: misconfigured.
  const bad = await startBundledBridge(entry, join(work, "bad"), fake, { DISCORD_CLIENT_SECRET: "" });
  bridges.push(good.mf, bad.mf);
  bridge = good.origin;
  broken = bad.origin;
  rp = new DemoRelyingParty(bridge, `${rpOrigin}/rp/callback`);
  const profile = mkdtempSync(join(work, "profile-"));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    env: { ...process.env, HOME: profile, XDG_CONFIG_HOME: profile, XDG_CACHE_HOME: profile },
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}, 120_000);

afterAll(async () => {
  await context?.close();
  for (const mf of bridges) await mf.dispose();
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  rmSync(work, { recursive: true, force: true });
});

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SCREENS, `${name}.png`), fullPage: true });
  expect(existsSync(join(SCREENS, `${name}.png`))).toBe(true);
}

/** From the demo application through the bridge to the fake Discord's screen, logging in as `user`. */
async function loginAs(page: Page, user: string): Promise<void> {
  await page.goto(`${rpOrigin}/rp/start`);
  await page.getByText(`Log in as ${user} (`).click();
  await page.waitForLoadState("load");
}

describe("the local stack in Chromium", () => {
  it("the landing page renders what to paste into Discord and Access, and links the demo", async () => {
    const page = await context.newPage();
    const res = await page.goto(`${bridge}/`);
    expect(res?.status()).toBe(200);
    await expect(page.title()).resolves.toBe("Discord OpenID Connect bridge");
    await expect(page.locator("pre").first().textContent()).resolves.toBe(`${bridge}/callback`);
    await page.getByText("try a login with the demo application").click();
    await page.waitForURL(/\/oauth2\/authorize\?/);
    expect(await page.getByText("Log in as alice (").count()).toBe(1);
    await page.goto(`${bridge}/`);
    await shot(page, "landing");
    await page.close();
  }, 60_000);

  it("a member signs in and the demo shows her claims", async () => {
    const page = await context.newPage();
    await loginAs(page, "alice");
    await expect(page.locator("h1").textContent()).resolves.toBe("Logged in through the bridge");
    const claims = JSON.parse((await page.locator("pre").textContent()) ?? "{}") as Record<string, unknown>;
    expect(claims).toMatchObject({ iss: bridge, sub: FAKE_USERS.alice!.id, email: FAKE_USERS.alice!.email, preferred_username: "alice" });
    expect(claims.groups).toEqual(expect.arrayContaining(["moderators", "artists", "members"]));
    await shot(page, "member-signed-in");
    await page.close();
  }, 60_000);

  it("a non-member sees the refusal page: the community, his Discord account, a join link, another account, a reference", async () => {
    const page = await context.newPage();
    await loginAs(page, "bob");
    expect(new URL(page.url()).origin).toBe(bridge);
    await expect(page.locator("h1").textContent()).resolves.toBe("You can't use this application yet");
    const text = (await page.locator("body").textContent()) ?? "";
    expect(text).toContain("The Main Community");
    expect(text).toContain("You signed in to Discord as @bob.");
    expect(text).toMatch(/Reference: [\w-]{8}/);
    expect(await page.getByRole("link", { name: "Join the server" }).getAttribute("href")).toBe("https://discord.gg/example");
    await shot(page, "non-member-refused");
    // "Use another Discord account" goes back to Discord's screen, where another account can be chosen.
    await page.getByRole("link", { name: "Use another Discord account" }).click();
    await page.waitForURL(/\/oauth2\/authorize\?.*prompt=consent/);
    await page.close();
  }, 60_000);

  it("a cancel at Discord is shown as a cancel by the demo, with a way to start again", async () => {
    const page = await context.newPage();
    await page.goto(`${rpOrigin}/rp/start`);
    await page.getByText("Cancel").click();
    await page.waitForURL(`${rpOrigin}/rp/callback**`);
    await expect(page.locator("h1").textContent()).resolves.toBe("Demo: you cancelled the login at Discord");
    expect(await page.getByRole("link", { name: "Start a login" }).count()).toBe(1);
    await shot(page, "cancelled-at-discord");
    await page.close();
  }, 60_000);

  it("a misconfigured bridge shows members the public 503 page: the operator has been told, a reference, no detail", async () => {
    const page = await context.newPage();
    const res = await page.goto(`${broken}/authorize?response_type=code&client_id=local-demo&redirect_uri=${encodeURIComponent(`${rpOrigin}/rp/callback`)}&scope=openid`);
    expect(res?.status()).toBe(503);
    await expect(page.locator("h1").textContent()).resolves.toBe("This login service is not available");
    const text = (await page.locator("body").textContent()) ?? "";
    expect(text).toContain("Its operator has been told");
    expect(text).toMatch(/Reference: [\w-]{8}/);
    expect(text).not.toMatch(/DISCORD_CLIENT_SECRET|config\.json|npm run|wrangler/);
    await shot(page, "misconfigured-503");
    await page.close();
  }, 60_000);
});
