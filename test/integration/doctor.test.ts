// GET /doctor, the self-check, against the fake Discord: all well; a wrong client secret, the bridge's
// callback missing from the application's redirect URIs, the bot outside a role guild, a refused bot
// token, no bot token, no RS256 key; clients' redirect URIs; an invalid configuration. Each problem
// comes with its fix; a second call within 5 minutes costs no Discord call; no secret in any answer.
import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { clearDoctorMemo } from "../../src/doctor/cache";
import { createWorker } from "../../src/worker";
import fixture from "../fixtures/config.json";
import { APP_CALLS, FAKE_BOT_TOKEN, FAKE_DISCORD_CLIENT_SECRET, G } from "../helpers/fake-discord";
import { ISSUER, discordCalls } from "../helpers/bridge";
import { stockKeys } from "../helpers/keys";

interface Check {
  id: string;
  status: "ok" | "warn" | "fail" | "skipped";
  message: string;
  fix?: string;
}
interface Answer {
  ok: boolean;
  issuer: string;
  checkedAt: string;
  cached: boolean;
  checks: Check[];
  keys: { kid: string; alg: string; status: string }[];
  discordCalls: number;
}

const WRONG_SECRET = "wrong-discord-secret-0123";
/** Every answer and log line of this file, searched for secrets at the end. */
const seen: string[] = [];
let logged: string[] = [];

beforeEach(() => {
  logged = [];
  for (const method of ["log", "warn", "error"] as const) {
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      logged.push(args.map(String).join(" "));
    });
  }
});

afterEach(() => {
  seen.push(...logged);
  vi.restoreAllMocks();
});

/** GET /doctor from a Worker with the test configuration (or `config`) and these env overrides. */
async function doctor(extraEnv: Record<string, string> = {}, config: unknown = fixture, init: RequestInit = {}, origin = ISSUER): Promise<{ res: Response; body: Answer; text: string }> {
  const worker = createWorker(config);
  const ctx = createExecutionContext();
  const res = await worker.fetch!(new Request(`${origin}/doctor`, init) as Request<unknown, IncomingRequestCfProperties>, { ...env, ...extraEnv } as Env, ctx);
  await waitOnExecutionContext(ctx);
  const text = await res.text();
  seen.push(text);
  return { res, body: (text.startsWith("{") ? JSON.parse(text) : {}) as Answer, text };
}

const check = (body: Answer, id: string): Check => {
  const found = body.checks.find((c) => c.id === id);
  expect(found, `${id} in ${JSON.stringify(body.checks.map((c) => c.id))}`).toBeDefined();
  return found!;
};

/** Discord calls the self-check made so far (the fake logs them under APP_CALLS). */
const appCalls = () => discordCalls(APP_CALLS);

describe("GET /doctor", () => {
  it("all well with a bot token: every check ok, 5 Discord calls, one log line", async () => {
    const before = (await appCalls()).length;
    const { res, body } = await doctor({ DISCORD_BOT_TOKEN: FAKE_BOT_TOKEN });
    expect(res.status).toBe(200);
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    expect(body.ok).toBe(true);
    expect(body.cached).toBe(false);
    expect(body.issuer).toBe(ISSUER);
    expect(body.checks.map((c) => `${c.id}:${c.status}`)).toEqual([
      "config:ok", "issuer:ok", "discord_secret:ok", "discord_redirect:ok", "bot_in_role_guilds:ok", "storage:ok",
      "keys_rs256:ok", "keys_reserve:ok", "keys_es256:ok", "clients:ok",
    ]);
    expect(body.checks.every((c) => c.fix === undefined)).toBe(true);
    expect(check(body, "bot_in_role_guilds").message).toContain("2 role guild(s)");
    expect(body.keys.map((k) => `${k.alg}:${k.status}`).sort()).toEqual(["ES256:current", "RS256:current"]);
    // The grant and its revoke, the application, the bot's membership in each of the 2 role guilds.
    expect(body.discordCalls).toBe(5);
    expect((await appCalls()).slice(before).sort()).toEqual(["GET /applications/@me", "GET /guilds/{id}/members/{bot}", "GET /guilds/{id}/members/{bot}", "POST /oauth2/token", "POST /oauth2/token/revoke"]);
    const lines = logged.filter((l) => l.includes('"event":"doctor"')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ event: "doctor", ok: 10, warn: 0, fail: 0, skipped: 0, failed: [], discord_calls: 5 });
  });

  it("a second call within 5 minutes makes no Discord call, from this isolate or another", async () => {
    const first = await doctor({ DISCORD_BOT_TOKEN: FAKE_BOT_TOKEN });
    const before = (await appCalls()).length;
    const again = await doctor({ DISCORD_BOT_TOKEN: FAKE_BOT_TOKEN });
    expect(again.body.cached).toBe(true);
    expect(again.body.checkedAt).toBe(first.body.checkedAt);
    // Another isolate: the Cache API or the CodeStore's gate answers.
    clearDoctorMemo();
    const elsewhere = await doctor({ DISCORD_BOT_TOKEN: FAKE_BOT_TOKEN });
    expect(elsewhere.body.cached).toBe(true);
    expect(elsewhere.body.checks).toEqual(first.body.checks);
    expect(await appCalls()).toHaveLength(before);
    expect(logged.filter((l) => l.includes('"event":"doctor"'))).toEqual([]);
  });

  it("the CodeStore's gate lets one run through per configuration and 5 minutes, then shares its result", async () => {
    const store = env.CODES.getByName("codes");
    const fingerprint = `test-${crypto.randomUUID()}`;
    expect(await store.doctorGate(fingerprint, 300_000)).toEqual({ run: true });
    expect(await store.doctorGate(fingerprint, 300_000)).toEqual({ run: false, result: null });
    await store.doctorSave(fingerprint, '{"checks":[]}');
    expect(await store.doctorGate(fingerprint, 300_000)).toEqual({ run: false, result: '{"checks":[]}' });
    // Once the time is up, the next asker runs again.
    expect(await store.doctorGate(fingerprint, 0)).toEqual({ run: true });
    expect(await store.doctorGate(`${fingerprint}-other`, 300_000)).toEqual({ run: true });
  });

  it("a wrong client secret fails discord_secret, with where to put the right one", async () => {
    const { body } = await doctor({ DISCORD_CLIENT_SECRET: WRONG_SECRET });
    expect(body.ok).toBe(false);
    const c = check(body, "discord_secret");
    expect(c.status).toBe("fail");
    expect(c.message).toContain("111111111111111111");
    expect(c.fix).toContain("npx wrangler secret put DISCORD_CLIENT_SECRET");
    expect(body.discordCalls).toBe(1); // no token, nothing to revoke
    expect(logged.find((l) => l.includes('"event":"doctor"'))).toContain('"failed":["discord_secret"]');
  });

  it("the bridge's callback missing from the application's redirect URIs fails discord_redirect, naming the URL to add", async () => {
    const { body } = await doctor({ DISCORD_BOT_TOKEN: `${FAKE_BOT_TOKEN}!no-redirect` });
    expect(body.ok).toBe(false);
    const c = check(body, "discord_redirect");
    expect(c.status).toBe("fail");
    expect(c.message).toContain(`${ISSUER}/callback is not among`);
    expect(c.fix).toBe(`add ${ISSUER}/callback under OAuth2, Redirects, of application 111111111111111111 in the Discord developer portal (https://discord.com/developers/applications/111111111111111111/oauth2), exactly, then Save`);
    expect(check(body, "discord_secret").status).toBe("ok");
    expect(check(body, "bot_in_role_guilds").status).toBe("ok");
  });

  it("a bot outside a role guild fails bot_in_role_guilds, naming the guild and how to invite it", async () => {
    const { body } = await doctor({ DISCORD_BOT_TOKEN: `${FAKE_BOT_TOKEN}!outside-${G.art}` });
    expect(body.ok).toBe(false);
    const c = check(body, "bot_in_role_guilds");
    expect(c.status).toBe("fail");
    expect(c.message).toContain(`the bot is not in role guild ${G.art}`);
    expect(c.message).not.toContain(G.main);
    expect(c.fix).toContain("https://discord.com/oauth2/authorize?client_id=111111111111111111&scope=bot&permissions=0");
    expect(c.fix).toContain("roleGuilds");
    expect(check(body, "discord_redirect").status).toBe("ok");
  });

  it("the three faults at once are each reported with their fix", async () => {
    const { body } = await doctor({ DISCORD_CLIENT_SECRET: WRONG_SECRET, DISCORD_BOT_TOKEN: `${FAKE_BOT_TOKEN}!no-redirect!outside-${G.main}` });
    expect(body.checks.filter((c) => c.status === "fail").map((c) => c.id)).toEqual(["discord_secret", "discord_redirect", "bot_in_role_guilds"]);
    for (const c of body.checks.filter((c) => c.status === "fail")) expect(c.fix?.length).toBeGreaterThan(20);
    expect(check(body, "bot_in_role_guilds").message).toContain(`The Main Community (${G.main})`);
  });

  it("a bot token Discord refuses fails both bot checks", async () => {
    const { body } = await doctor({ DISCORD_BOT_TOKEN: "not-the-bot-token" });
    for (const id of ["discord_redirect", "bot_in_role_guilds"]) {
      const c = check(body, id);
      expect(c.status).toBe("fail");
      expect(c.message).toContain("Discord refuses DISCORD_BOT_TOKEN (HTTP 401)");
      expect(c.fix).toContain("npx wrangler secret put DISCORD_BOT_TOKEN");
    }
  });

  it("Discord rate-limiting the check is a warning to try again, not a failure", async () => {
    const before = (await appCalls()).length;
    const { body } = await doctor({ DISCORD_BOT_TOKEN: `${FAKE_BOT_TOKEN}!app-429` });
    expect(body.ok).toBe(true);
    const c = check(body, "discord_redirect");
    expect(c.status).toBe("warn");
    expect(c.message).toBe("the application's redirect URIs could not be checked: Discord rate-limited the check");
    expect(c.fix).toBe("run the self-check again in a few minutes");
    // Without the application, the bot's id comes from GET /users/@me.
    expect(check(body, "bot_in_role_guilds").status).toBe("ok");
    expect((await appCalls()).slice(before)).toContain("GET /users/@me");
  });

  it("reached at another origin than the issuer: a warning naming the issuer", async () => {
    const { body } = await doctor({}, fixture, {}, "https://bridge.other-host.test");
    const c = check(body, "issuer");
    expect(c.status).toBe("warn");
    expect(c.message).toContain(`this bridge was reached at https://bridge.other-host.test, but its issuer is ${ISSUER}`);
    expect(c.fix).toContain("Custom Domain");
    expect(body.ok).toBe(true);
  });

  it("without a bot token the bot checks are skipped, saying how to enable them; 2 Discord calls", async () => {
    const { body } = await doctor({ DISCORD_TIMEOUT_MS: "999" });
    expect(body.ok).toBe(true);
    for (const id of ["discord_redirect", "bot_in_role_guilds"]) {
      const c = check(body, id);
      expect(c.status).toBe("skipped");
      expect(c.fix).toContain("npx wrangler secret put DISCORD_BOT_TOKEN");
    }
    expect(check(body, "discord_redirect").message).toContain(`${ISSUER}/callback`);
    expect(body.discordCalls).toBe(2);
  });

  it("no RS256 key in use fails keys_rs256, and an empty reserve warns, both with the stock command", async () => {
    await stockKeys(Date.now(), []);
    try {
      const { body } = await doctor({ DISCORD_TIMEOUT_MS: "998" });
      const rs = check(body, "keys_rs256");
      expect(rs.status).toBe("fail");
      expect(rs.message).toContain("grafana");
      expect(rs.fix).toBe("run `npm run keys -- stock --remote`");
      expect(check(body, "keys_es256").status).toBe("ok");
    } finally {
      await stockKeys();
    }
  });

  it("clients' redirect URIs: an Access host with the wrong path, and the bridge's own callback, fail", async () => {
    const clients = fixture.clients.map((c) =>
      c.clientId === "access" ? { ...c, redirectUris: ["https://team.cloudflareaccess.com/callback"] } : c.clientId === "outline" ? { ...c, redirectUris: [`${ISSUER}/callback`] } : c,
    );
    const { body } = await doctor({}, { ...fixture, clients });
    const access = check(body, "client:access");
    expect(access.status).toBe("fail");
    expect(access.fix).toContain("https://<team>.cloudflareaccess.com/cdn-cgi/access/callback");
    expect(check(body, "client:outline").status).toBe("fail");
    expect(body.checks.some((c) => c.id === "clients")).toBe(false);
    // An operator who keeps client settings private (landingPage not "full"): counted, not named.
    const { body: quiet } = await doctor({}, { ...fixture, clients, landingPage: "minimal" });
    expect(quiet.checks.filter((c) => c.id.startsWith("client"))).toEqual([
      expect.objectContaining({ id: "clients", status: "fail", message: expect.stringContaining("2 problem(s) with clients' redirect URIs, not named here"), fix: expect.stringContaining("npm run doctor") }),
    ]);
    expect(JSON.stringify(quiet)).not.toMatch(/team\.cloudflareaccess\.com\/callback|"access"|outline/);
  });

  it("an invalid configuration answers 503 with the config check, naming no field", async () => {
    const { res, body, text } = await doctor({}, { ...fixture, clients: [] });
    expect(res.status).toBe(503);
    expect(body.checks).toHaveLength(1);
    expect(check(body, "config").status).toBe("fail");
    expect(check(body, "config").fix).toContain("npm run check");
    expect(text).not.toContain("clients");
    // Traceable like every error: its request id is in the request's log line.
    const id = (body as unknown as { request_id?: string }).request_id;
    expect(id).toMatch(/^[\w-]{8}$/);
    expect(logged.join("\n")).toContain(`"request_id":"${id}"`);
  });

  it("a deployed bridge without an issuer answers 503 with the issuer check", async () => {
    const { issuer: _, ...withoutIssuer } = fixture;
    const { res, body } = await doctor({}, withoutIssuer);
    expect(res.status).toBe(503);
    expect(body.checks.map((c) => `${c.id}:${c.status}`)).toEqual(["issuer:fail"]);
    expect(check(body, "issuer").fix).toContain("set issuer in config.json");
  });

  it("a browser gets the same checks as a page, every message escaped", async () => {
    const { res, text } = await doctor({ DISCORD_CLIENT_SECRET: WRONG_SECRET }, fixture, { headers: { Accept: "text/html,application/xhtml+xml,*/*;q=0.8" } });
    expect(res.headers.get("Content-Type")).toBe("text/html; charset=utf-8");
    expect(res.headers.get("Content-Security-Policy")).toContain("default-src 'none'");
    expect(text).toContain("1 problem(s)");
    expect(text).toContain("<td>✘</td><td><code>discord_secret</code></td>");
    expect(text).toContain("<strong>Fix:</strong> copy the Client Secret of application 111111111111111111 (Discord developer portal, OAuth2; &#34;Reset Secret&#34;");
    expect(text).not.toContain(WRONG_SECRET);
  });

  it("only GET", async () => {
    const { res } = await doctor({}, fixture, { method: "POST" });
    expect(res.status).toBe(405);
    expect(res.headers.get("Allow")).toBe("GET");
  });

  it("the landing page links the self-check", async () => {
    const worker = createWorker(fixture);
    const res = await worker.fetch!(new Request(`${ISSUER}/`) as Request<unknown, IncomingRequestCfProperties>, env, createExecutionContext());
    expect(await res.text()).toContain('<a href="/doctor">Self-check</a>');
  });
});

afterAll(() => {
  // No secret, token or Discord error body in any answer or log line of this file.
  const all = seen.join("\n");
  expect(all.length).toBeGreaterThan(1000);
  for (const secret of [FAKE_DISCORD_CLIENT_SECRET, WRONG_SECRET, FAKE_BOT_TOKEN, "not-the-bot-token", "fake-app-", "Missing Access", "invalid_client", "Unauthorized"]) {
    expect(all, secret).not.toContain(secret);
  }
});
