// What a login costs on the free plan: no KV write, at most one KV read (none when warm), exactly three
// Durable Object requests (the state's single use and the code's put at /callback, the code's take at
// /token, which also records the login in the ledger), and two Discord calls plus the revoke
// (with guild claims: the exchange, at most 2 + role guilds the user is in, and the revoke).
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { runInDurableObject } from "cloudflare:test";
import { ledgerPage } from "../../src/codes/store";
import { recordLogin } from "../../src/ledger/ledger";
import { clearKeyCache } from "../../src/keys/store";
import { FAKE_USERS } from "../helpers/fake-discord";
import { accessParams, codeFor, discordCalls, loginToClient, redeem } from "../helpers/bridge";

afterEach(() => {
  vi.restoreAllMocks();
});

function meter() {
  return {
    kvGet: vi.spyOn(env.KV, "get"),
    kvPut: vi.spyOn(env.KV, "put"),
    kvDelete: vi.spyOn(env.KV, "delete"),
    codes: vi.spyOn(env.CODES, "getByName"),
    keys: vi.spyOn(env.KEYS, "getByName"),
  };
}

/** The ledger's entry for a Discord user at the Access client, read after the meters (an extra DO request). */
async function ledgerEntry(discordId: string) {
  return (await ledgerPage(env, null, 1000)).entries.find((e) => e.clientId === "access" && e.discordId === discordId);
}

describe("cost of one login", () => {
  it("warm: 0 KV reads, 0 KV writes, 3 DO requests (the ledger entry included), 3 Discord calls", async () => {
    await redeem(await codeFor("alice")); // warm the isolate's key cache
    const m = meter();
    const before = Date.now();
    const { location, discordCode } = await loginToClient("dave");
    const res = await redeem(location.searchParams.get("code")!);
    expect(res.status).toBe(200);
    expect(m.kvGet).toHaveBeenCalledTimes(0);
    expect(m.kvPut).toHaveBeenCalledTimes(0);
    expect(m.kvDelete).toHaveBeenCalledTimes(0);
    expect(m.codes).toHaveBeenCalledTimes(3);
    expect(m.keys).toHaveBeenCalledTimes(0);
    await expect.poll(() => discordCalls(discordCode)).toEqual(["POST /oauth2/token", "GET /users/@me", "POST /oauth2/token/revoke"]);
    // ...and within those three, the login is in the ledger.
    const entry = await ledgerEntry(FAKE_USERS.dave!.id);
    expect(entry).toMatchObject({ sub: FAKE_USERS.dave!.id, email: "dave@example.org", rule: "none" });
    expect(entry!.recordedAt).toBeGreaterThanOrEqual(before);
  });

  it("the ledger's SQLite work per login, beside 2,000 other entries: at most 8 rows read and 5 written (no scan)", async () => {
    await redeem(await codeFor("alice"));
    const meter = await runInDurableObject(env.CODES.getByName("codes"), (_, state) => {
      for (let i = 0; i < 2000; i++) {
        const id = `9${String(i).padStart(17, "0")}`;
        const now = Date.now();
        state.storage.transactionSync(() => recordLogin(state.storage.sql, { clientId: "grafana", discordId: id, sub: id, email: null, rule: "none", recordedAt: now, expiresAt: now + 3_600_000 }, now));
      }
      return { exec: vi.spyOn(state.storage.sql, "exec") };
    });
    const { location } = await loginToClient("erin");
    expect((await redeem(location.searchParams.get("code")!)).status).toBe(200);
    const ledger = meter.exec.mock.results.map((r, i) => ({ query: String(meter.exec.mock.calls[i]?.[0]), cursor: r.value as SqlStorageCursor<Record<string, SqlStorageValue>> })).filter((c) => /ledger/.test(c.query));
    meter.exec.mockRestore();
    const read = ledger.reduce((n, c) => n + c.cursor.rowsRead, 0);
    const written = ledger.reduce((n, c) => n + c.cursor.rowsWritten, 0);
    expect(ledger.length).toBeGreaterThan(0);
    // Measured for a first login: insert 1 read / 3 written (the row and its two index entries), the row
    // counter 1 read, the sweep's index probe 3 reads, the counter's update 1 read / 1 written.
    expect(read).toBeLessThanOrEqual(8);
    expect(written).toBeLessThanOrEqual(5);
  });

  it("with guild claims: still 0 KV, 3 DO requests; Discord reads are 2 + the role guilds the user is in", async () => {
    await redeem(await codeFor("alice")); // warm the isolate's key cache
    const m = meter();
    const { location, discordCode } = await loginToClient("alice", accessParams({ scope: "openid email profile guilds" }));
    const res = await redeem(location.searchParams.get("code")!);
    expect(res.status).toBe(200);
    expect(m.kvGet).toHaveBeenCalledTimes(0);
    expect(m.kvPut).toHaveBeenCalledTimes(0);
    expect(m.codes).toHaveBeenCalledTimes(3);
    expect(await ledgerEntry(FAKE_USERS.alice!.id)).toBeDefined();
    // alice is in both role guilds of the fixture: exchange, user, guild list, 2 member calls, revoke.
    const member = "GET /users/@me/guilds/{id}/member";
    await expect.poll(() => discordCalls(discordCode).then((c) => c.sort())).toEqual(
      ["POST /oauth2/token", "GET /users/@me", "GET /users/@me/guilds", member, member, "POST /oauth2/token/revoke"].sort(),
    );
  });

  it("cold isolate with keys already published: 1 KV read, 0 KV writes", async () => {
    await redeem(await codeFor("alice")); // make sure the key set exists
    clearKeyCache();
    const m = meter();
    const code = await codeFor("alice");
    expect((await redeem(code)).status).toBe(200);
    expect(m.kvGet).toHaveBeenCalledTimes(1);
    expect(m.kvPut).toHaveBeenCalledTimes(0);
    expect(m.keys).toHaveBeenCalledTimes(0);
  });
});
