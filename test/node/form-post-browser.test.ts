// response_mode=form_post in a real browser (Debian's Chromium through playwright-core): the page's one
// script runs under its strict CSP and posts code, state and iss to the client; with scripts off, the
// Continue button does it. The bridge is npm start's Worker (dev/worker.ts: no issuer, so it answers as
// its loopback origin) bundled in Miniflare on a free port; the fake Discord's consent page is served on
// another free port; the demo client's callback is answered by request routing, so no fixed port is used.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Miniflare } from "miniflare";
import { chromium, type BrowserContext } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sendWebResponse, toWebRequest } from "../../scripts/lib/node-http.ts";
import { startBundledBridge } from "../helpers/bundled-bridge.ts";
import { FakeDiscord } from "../helpers/fake-discord.ts";

const CHROMIUM = "/usr/bin/chromium";
/** dev/config.json's demo client. */
const CLIENT_ID = "local-demo";
const REDIRECT = "http://127.0.0.1:8788/rp/callback";
const CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

const work = mkdtempSync(join(tmpdir(), "bridge-browser-"));
const discord = new FakeDiscord();
let mf: Miniflare;
let fakeServer: Server;
let bridge = "";

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's Chromium (apt-get install chromium), as .ci/run does`);
  fakeServer = createServer((req, res) => {
    void toWebRequest(req, "http://127.0.0.1").then((request) => discord.fetch(request)).then((response) => sendWebResponse(res, response));
  });
  await new Promise<void>((resolve) => fakeServer.listen(0, "127.0.0.1", resolve));
  const fake = `http://127.0.0.1:${(fakeServer.address() as AddressInfo).port}`;
  ({ mf, origin: bridge } = await startBundledBridge("dev/worker.ts", work, fake));
}, 60_000);

afterAll(async () => {
  await mf?.dispose();
  fakeServer?.close();
  rmSync(work, { recursive: true, force: true });
});

interface Browser {
  readonly context: BrowserContext;
  /** What the client's callback received. */
  readonly received: { method: string; body: string; contentType: string }[];
  readonly consoleErrors: string[];
}

async function browser(javaScriptEnabled: boolean): Promise<Browser> {
  const profile = mkdtempSync(join(work, "profile-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    javaScriptEnabled,
    env: { ...process.env, HOME: profile, XDG_CONFIG_HOME: profile, XDG_CACHE_HOME: profile },
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const received: Browser["received"] = [];
  const consoleErrors: string[] = [];
  // The client: nothing listens on its port; the browser's request is answered here.
  await context.route(`${REDIRECT}**`, async (route) => {
    const request = route.request();
    received.push({ method: request.method(), body: request.postData() ?? new URL(request.url()).search, contentType: (await request.allHeaders())["content-type"] ?? "" });
    await route.fulfill({ status: 200, contentType: "text/html", body: "<!doctype html><title>client</title><p>signed in</p>" });
  });
  context.on("console", (m) => {
    if (m.type() === "error") consoleErrors.push(m.text());
  });
  return { context, received, consoleErrors };
}

function authorizeUrl(): string {
  const url = new URL("/authorize", bridge);
  const params = { response_type: "code", client_id: CLIENT_ID, redirect_uri: REDIRECT, scope: "openid profile", state: "st-123", nonce: "n-1", code_challenge: CHALLENGE, code_challenge_method: "S256", response_mode: "form_post" };
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return url.toString();
}

describe("form_post in Chromium", () => {
  it("the page posts code, state and iss to the client by itself, its script allowed by the CSP", async () => {
    const { context, received, consoleErrors } = await browser(true);
    try {
      const page = await context.newPage();
      await page.goto(authorizeUrl());
      await page.getByText("Log in as alice").click();
      await page.waitForURL(`${REDIRECT}**`);
      expect(received).toHaveLength(1);
      expect(received[0]).toMatchObject({ method: "POST", contentType: "application/x-www-form-urlencoded" });
      const form = new URLSearchParams(received[0]!.body);
      expect([...form.keys()].sort()).toEqual(["code", "iss", "state"]);
      expect(form.get("code")).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(form.get("state")).toBe("st-123");
      expect(form.get("iss")).toBe(bridge);
      expect(consoleErrors.filter((e) => /Content Security Policy/i.test(e))).toEqual([]);
    } finally {
      await context.close();
    }
  }, 60_000);

  it("with scripts off the page waits, and its Continue button posts the same", async () => {
    const { context, received } = await browser(false);
    try {
      const page = await context.newPage();
      await page.goto(authorizeUrl());
      await page.getByText("Log in as alice").click();
      const button = page.getByRole("button", { name: "Continue" });
      await button.waitFor();
      expect(page.url()).toMatch(new RegExp(`^${bridge}/callback\\?`));
      expect(received).toHaveLength(0);
      await button.click();
      await page.waitForURL(`${REDIRECT}**`);
      expect(received).toHaveLength(1);
      expect(new URLSearchParams(received[0]!.body).get("state")).toBe("st-123");
    } finally {
      await context.close();
    }
  }, 60_000);
});
