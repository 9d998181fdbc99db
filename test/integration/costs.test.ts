// What a login costs on the free plan: no KV write, at most one KV read (none when warm), exactly three
// Durable Object requests (the state's single use and the code's put at /callback, take at /token), and two Discord calls plus the revoke
// (with guild claims: the exchange, at most 2 + role guilds the user is in, and the revoke).
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { clearKeyCache } from "../../src/keys/store";
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

describe("cost of one login", () => {
  it("warm: 0 KV reads, 0 KV writes, 3 DO requests, 3 Discord calls", async () => {
    await redeem(await codeFor("alice")); // warm the isolate's key cache
    const m = meter();
    const { location, discordCode } = await loginToClient("alice");
    const res = await redeem(location.searchParams.get("code")!);
    expect(res.status).toBe(200);
    expect(m.kvGet).toHaveBeenCalledTimes(0);
    expect(m.kvPut).toHaveBeenCalledTimes(0);
    expect(m.kvDelete).toHaveBeenCalledTimes(0);
    expect(m.codes).toHaveBeenCalledTimes(3);
    expect(m.keys).toHaveBeenCalledTimes(0);
    await expect.poll(() => discordCalls(discordCode)).toEqual(["POST /oauth2/token", "GET /users/@me", "POST /oauth2/token/revoke"]);
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
