// The login ledger (src/ledger/ledger.ts, README "Login ledger"): one entry per completed login with the
// identity the client received, updated by a re-login, none for a login that did not complete, lapsing
// after the client's sessionHours, capped, and paged with a cursor that returns each entry once.
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ledgerPage } from "../../src/codes/store";
import { LEDGER_MAX_ROWS, LEDGER_SWEEP_ROWS, ledgerSize, recordLogin, type LedgerEntry } from "../../src/ledger/ledger";
import { FAKE_USERS, G } from "../helpers/fake-discord";
import { ACCESS, OUTLINE, VERIFIER, accessBasic, accessParams, callback, discordCode, loginToClient, redeem, startLogin, tokenRequest } from "../helpers/bridge";

const WIKI = { clientId: "wiki", secret: "wiki-secret-0123456789", redirectUri: "https://wiki.example.com/oidc/callback" };
const MODTOOLS = { clientId: "modtools", secret: "modtools-secret-0123456789", redirectUri: "https://mod.example.com/callback" };
const HOUR = 3_600_000;
/** A Discord-like id for the n-th simulated user. */
const userId = (n: number) => `1${String(n).padStart(17, "0")}`;
const t0 = Date.now();

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(t0);
});

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

const store = () => env.CODES.getByName("codes");

/** Every row, live or expired, straight from the table. */
function allRows(): Promise<{ client_id: string; discord_id: string; expires_at: number }[]> {
  return runInDurableObject(store(), (_, state) => state.storage.sql.exec<{ client_id: string; discord_id: string; expires_at: number }>("SELECT client_id, discord_id, expires_at FROM ledger ORDER BY client_id, discord_id").toArray());
}

/** Every live entry, through the RPC the de-provisioning job will use. */
async function liveEntries(limit = 1000): Promise<LedgerEntry[]> {
  const out: LedgerEntry[] = [];
  let cursor: string | null = null;
  do {
    const page = await ledgerPage(env, cursor, limit);
    out.push(...page.entries);
    cursor = page.cursor;
  } while (cursor !== null);
  return out;
}

const entryOf = async (clientId: string, discordId: string) => (await liveEntries()).find((e) => e.clientId === clientId && e.discordId === discordId);

/** A whole login through a client without PKCE (wiki, modtools, outline): the token response. */
async function loginVia(client: { clientId: string; secret: string; redirectUri: string }, scenario: string, scope = "openid email"): Promise<Response> {
  const started = await startLogin({ response_type: "code", client_id: client.clientId, redirect_uri: client.redirectUri, scope, state: "st-1" });
  const res = await callback(started, { code: discordCode(scenario) });
  if (res.status !== 302) return res;
  const code = new URL(res.headers.get("Location")!).searchParams.get("code");
  if (code === null) return res;
  return tokenRequest({ grant_type: "authorization_code", code, redirect_uri: client.redirectUri }, { Authorization: accessBasic(client.clientId, client.secret) });
}

describe("a completed login", () => {
  it("is one entry with the client, the Discord id, the identity sent, when, and the rule passed", async () => {
    const { location } = await loginToClient("alice");
    expect((await redeem(location.searchParams.get("code")!)).status).toBe(200);
    expect(await entryOf(ACCESS.clientId, FAKE_USERS.alice!.id)).toEqual({
      clientId: "access",
      discordId: FAKE_USERS.alice!.id,
      sub: FAKE_USERS.alice!.id,
      email: "alice@example.com",
      rule: "none",
      recordedAt: t0,
      expiresAt: t0 + 24 * HOUR,
    });
  });

  it("records which entries of a guild or role rule the user met", async () => {
    expect((await loginVia(WIKI, "alice")).status).toBe(200);
    expect((await loginVia(MODTOOLS, "alice")).status).toBe(200);
    expect((await entryOf("wiki", FAKE_USERS.alice!.id))?.rule).toEqual({ requireGuilds: [G.main], requireRoles: [] });
    expect((await entryOf("modtools", FAKE_USERS.alice!.id))?.rule).toEqual({ requireGuilds: [G.main], requireRoles: ["moderators"] });
  });

  it("records the synthetic email a client received, or none, and never a token or code", async () => {
    const res = await loginVia(OUTLINE, "carol");
    expect(res.status).toBe(200);
    const body = await res.json<Record<string, string>>();
    expect(await entryOf("outline", FAKE_USERS.carol!.id)).toMatchObject({ email: `${FAKE_USERS.carol!.id}@discord.bridge.test`, expiresAt: t0 + 2 * HOUR });
    expect((await loginVia(WIKI, "erin", "openid")).status).toBe(200);
    expect(await entryOf("wiki", FAKE_USERS.erin!.id)).toMatchObject({ email: null, sub: FAKE_USERS.erin!.id });
    const dump = JSON.stringify(await runInDurableObject(store(), (_, state) => state.storage.sql.exec("SELECT * FROM ledger").toArray()));
    for (const secret of [body.access_token, body.id_token, OUTLINE.secret, ACCESS.secret]) expect(dump).not.toContain(secret);
  });

  it("again (a re-login) updates its entry instead of adding one", async () => {
    await redeem((await loginToClient("dave")).location.searchParams.get("code")!);
    vi.setSystemTime(t0 + 5 * HOUR);
    await redeem((await loginToClient("dave")).location.searchParams.get("code")!);
    const rows = (await allRows()).filter((r) => r.discord_id === FAKE_USERS.dave!.id);
    expect(rows).toEqual([{ client_id: "access", discord_id: FAKE_USERS.dave!.id, expires_at: t0 + 29 * HOUR }]);
    expect((await entryOf("access", FAKE_USERS.dave!.id))?.recordedAt).toBe(t0 + 5 * HOUR);
  });
});

describe("a login that did not complete leaves no entry", () => {
  const tess = FAKE_USERS.tess!.id;
  const bob = FAKE_USERS.bob!.id;

  it("a code never redeemed", async () => {
    await loginToClient("tess");
    expect((await allRows()).filter((r) => r.discord_id === tess)).toEqual([]);
  });

  it("a code redeemed with a wrong PKCE verifier, a wrong redirect_uri, or by another client", async () => {
    const wrongVerifier = await redeem((await loginToClient("tess")).location.searchParams.get("code")!, { code_verifier: VERIFIER.replace("d", "e") });
    expect(wrongVerifier.status).toBe(400);
    const noVerifier = await redeem((await loginToClient("tess")).location.searchParams.get("code")!, { code_verifier: undefined });
    expect(noVerifier.status).toBe(400);
    const wrongRedirect = await redeem((await loginToClient("tess")).location.searchParams.get("code")!, { redirect_uri: "https://team.cloudflareaccess.com/other" });
    expect(wrongRedirect.status).toBe(400);
    const code = (await loginToClient("tess")).location.searchParams.get("code")!;
    const otherClient = await tokenRequest(
      { grant_type: "authorization_code", code, redirect_uri: ACCESS.redirectUri, code_verifier: VERIFIER },
      { Authorization: accessBasic(OUTLINE.clientId, OUTLINE.secret) },
    );
    expect(otherClient.status).toBe(400);
    expect((await allRows()).filter((r) => r.discord_id === tess)).toEqual([]);
    // ...while the same login, completed, is recorded.
    expect((await redeem((await loginToClient("tess")).location.searchParams.get("code")!)).status).toBe(200);
    expect((await allRows()).filter((r) => r.discord_id === tess)).toHaveLength(1);
  });

  it("a user a guild rule refuses", async () => {
    const res = await loginVia(WIKI, "bob");
    expect(res.status).toBe(403);
    expect((await allRows()).filter((r) => r.discord_id === bob)).toEqual([]);
  });

  it("a replayed code", async () => {
    const code = (await loginToClient("bob", accessParams())).location.searchParams.get("code")!;
    expect((await redeem(code)).status).toBe(200);
    vi.setSystemTime(t0 + HOUR);
    expect((await redeem(code)).status).toBe(400);
    expect((await entryOf("access", bob))?.recordedAt).toBe(t0);
  });
});

describe("bounds", () => {
  it("an entry lapses after its client's sessionHours, and a later write sweeps it", async () => {
    const carol = FAKE_USERS.carol!.id;
    expect((await loginVia(OUTLINE, "carol")).status).toBe(200);
    vi.setSystemTime(t0 + 2 * HOUR);
    expect(await entryOf("outline", carol)).toBeDefined();
    vi.setSystemTime(t0 + 2 * HOUR + 1);
    expect(await entryOf("outline", carol)).toBeUndefined();
    expect((await allRows()).some((r) => r.client_id === "outline" && r.discord_id === carol)).toBe(true);
    await redeem((await loginToClient("alice")).location.searchParams.get("code")!);
    expect((await allRows()).some((r) => r.client_id === "outline" && r.discord_id === carol)).toBe(false);
  });

  it("days of logins keep the rows within the cap, the sweep keeps up, and the counter stays exact", async () => {
    const cap = 300;
    const result = await runInDurableObject(store(), (_, state) => {
      const sql = state.storage.sql;
      sql.exec("DELETE FROM ledger");
      sql.exec("DELETE FROM ledger_size");
      const perDay: { rows: number; expired: number; counted: number }[] = [];
      let n = 0;
      for (let day = 0; day < 30; day++) {
        // 400 logins a day, spread over the day, from 2,000 users on two clients of 24 and 72 hours.
        for (let i = 0; i < 400; i++) {
          const now = t0 + day * 24 * HOUR + i * 216_000;
          const user = userId((n++ * 7919) % 2000);
          const clientId = n % 3 === 0 ? "long" : "short";
          const hours = clientId === "long" ? 72 : 24;
          state.storage.transactionSync(() =>
            recordLogin(sql, { clientId, discordId: user, sub: user, email: null, rule: "none", recordedAt: now, expiresAt: now + hours * HOUR }, now, cap),
          );
        }
        const last = t0 + day * 24 * HOUR + 399 * 216_000;
        perDay.push({
          rows: sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM ledger").one().n,
          expired: sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM ledger WHERE expires_at < ?", last).one().n,
          counted: ledgerSize(sql),
        });
      }
      return perDay;
    });
    for (const day of result) {
      expect(day.rows).toBeLessThanOrEqual(cap);
      expect(day.counted).toBe(day.rows);
      expect(day.expired).toBe(0);
    }
    // The cap was what bound it (400 logins a day, kept up to 3 days, would be more).
    expect(result.at(-1)!.rows).toBe(cap);
  }, 30_000);

  it(`holds at most LEDGER_MAX_ROWS (${LEDGER_MAX_ROWS}) rows, evicting those closest to expiry, never the newest`, async () => {
    const result = await runInDurableObject(store(), (_, state) => {
      const sql = state.storage.sql;
      sql.exec("DELETE FROM ledger");
      sql.exec("DELETE FROM ledger_size");
      const extra = 50;
      for (let i = 0; i < LEDGER_MAX_ROWS + extra; i++) {
        const user = userId(i);
        // Entries made in order, so the first ones are closest to expiry: they go.
        state.storage.transactionSync(() =>
          recordLogin(sql, { clientId: "access", discordId: user, sub: user, email: null, rule: "none", recordedAt: t0 + i, expiresAt: t0 + i + 720 * HOUR }, t0 + i),
        );
      }
      // A login to a client with a short session is the newest, though closest to expiry: kept.
      state.storage.transactionSync(() =>
        recordLogin(sql, { clientId: "outline", discordId: "1", sub: "1", email: null, rule: "none", recordedAt: t0 + 1e6, expiresAt: t0 + 1e6 + HOUR }, t0 + 1e6),
      );
      // Ids of one length: their text order is their number order.
      const first = sql.exec<{ d: string }>("SELECT discord_id AS d FROM ledger WHERE client_id = 'access' ORDER BY discord_id LIMIT 1").one().d;
      return {
        rows: sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM ledger").one().n,
        counted: ledgerSize(sql),
        first,
        newest: sql.exec("SELECT 1 FROM ledger WHERE client_id = 'outline' AND discord_id = '1'").toArray().length,
        extra,
      };
    });
    expect(result.rows).toBe(LEDGER_MAX_ROWS);
    expect(result.counted).toBe(LEDGER_MAX_ROWS);
    expect(result.first).toBe(userId(result.extra + 1));
    expect(result.newest).toBe(1);
  }, 30_000);

  it("sweeps at most LEDGER_SWEEP_ROWS expired rows a write", async () => {
    const left = await runInDurableObject(store(), (_, state) => {
      const sql = state.storage.sql;
      sql.exec("DELETE FROM ledger");
      sql.exec("DELETE FROM ledger_size");
      const record = (user: string, at: number, hours: number) =>
        state.storage.transactionSync(() => recordLogin(sql, { clientId: "access", discordId: user, sub: user, email: null, rule: "none", recordedAt: at, expiresAt: at + hours * HOUR }, at));
      for (let i = 0; i < 120; i++) record(`old${i}`, t0, 1);
      record("new", t0 + 2 * HOUR, 24);
      return { rows: sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM ledger").one().n, counted: ledgerSize(sql) };
    });
    expect(left).toEqual({ rows: 121 - LEDGER_SWEEP_ROWS, counted: 121 - LEDGER_SWEEP_ROWS });
  });
});

describe("listLedger", () => {
  it("pages through every live entry exactly once, even while logins update entries between pages", async () => {
    const seeded = await runInDurableObject(store(), (_, state) => {
      const sql = state.storage.sql;
      sql.exec("DELETE FROM ledger");
      sql.exec("DELETE FROM ledger_size");
      const live: string[] = [];
      for (let i = 0; i < 53; i++) {
        const clientId = ["access", "wiki", "outline"][i % 3]!;
        const user = userId(i);
        const hours = i % 10 === 0 ? -1 : 24; // every tenth already expired
        state.storage.transactionSync(() =>
          recordLogin(sql, { clientId, discordId: user, sub: user, email: null, rule: "none", recordedAt: t0, expiresAt: t0 + hours * HOUR }, t0 - 2 * HOUR),
        );
        if (hours > 0) live.push(`${clientId}/${user}`);
      }
      return live;
    });
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await ledgerPage(env, cursor, 7);
      expect(page.entries.length).toBeLessThanOrEqual(7);
      seen.push(...page.entries.map((e) => `${e.clientId}/${e.discordId}`));
      cursor = page.cursor;
      pages++;
      // A re-login of an entry already listed and of one not yet listed: neither moves in the order.
      await runInDurableObject(store(), (_, state) => {
        for (const key of [seeded[0]!, seeded.at(-1)!]) {
          const [clientId = "", user = ""] = key.split("/");
          const now = t0 + pages;
          state.storage.transactionSync(() => recordLogin(state.storage.sql, { clientId, discordId: user, sub: user, email: null, rule: "none", recordedAt: now, expiresAt: now + 24 * HOUR }, now));
        }
      });
    } while (cursor !== null);
    expect(seen.sort()).toEqual([...seeded].sort());
    expect(new Set(seen).size).toBe(seen.length);
    expect(pages).toBe(Math.ceil(seeded.length / 7) + (seeded.length % 7 === 0 ? 1 : 0));
  });

  it("refuses a cursor it did not make and a limit out of range", async () => {
    await expect(ledgerPage(env, "not-a-cursor", 10)).rejects.toThrow(/cursor/);
    await expect(ledgerPage(env, null, 0)).rejects.toThrow(/limit/);
    await expect(ledgerPage(env, null, 1001)).rejects.toThrow(/limit/);
  });
});
