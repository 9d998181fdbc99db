// Every login outcome is one JSON line with client, Discord user id, result and reason; never a secret.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { FAKE_DISCORD_CLIENT_SECRET, FAKE_USERS } from "../helpers/fake-discord";
import { ACCESS, accessBasic, accessParams, authorizeUrl, call, callback, codeFor, discordCode, redeem, startLogin } from "../helpers/bridge";

let lines: string[] = [];
beforeEach(() => {
  lines = [];
  const capture = (...args: unknown[]) => void lines.push(args.map(String).join(" "));
  vi.spyOn(console, "log").mockImplementation(capture);
  vi.spyOn(console, "error").mockImplementation(capture);
});
afterEach(() => {
  vi.restoreAllMocks();
});

function events(): Record<string, unknown>[] {
  return lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((e) => e.event === "login");
}

describe("login logs", () => {
  it("logs the code and the token as JSON lines and never a token, code or secret", async () => {
    const code = await codeFor("alice");
    const res = await redeem(code);
    const body = await res.json<{ access_token: string; id_token: string }>();
    const alice = FAKE_USERS.alice!.id;
    expect(events()).toEqual([
      expect.objectContaining({ step: "callback", result: "code_issued", client: "access", discord_user_id: alice, reason: null }),
      expect.objectContaining({ step: "token", result: "token_issued", client: "access", discord_user_id: alice, reason: null }),
    ]);
    const all = lines.join("\n");
    for (const secret of [code, body.access_token, body.id_token, ACCESS.secret, FAKE_DISCORD_CLIENT_SECRET, "fake-access-"]) {
      expect(all).not.toContain(secret);
    }
  });

  it("logs refusals with a reason", async () => {
    const started = await startLogin();
    await callback(started, { code: discordCode("alice") }, null);
    await callback(started, { error: "access_denied" });
    await callback(started, { code: discordCode("alice") });
    await callback(await startLogin(), { code: discordCode("fault:token-429") });
    await redeem("unknown-code");
    await redeem(await codeFor("bob"), {}, { Authorization: accessBasic(ACCESS.clientId, "wrong") });
    expect(events().map((e) => [e.step, e.result, e.reason])).toEqual([
      ["callback", "denied", "cookie_missing"],
      ["callback", "denied", "discord:access_denied"],
      ["callback", "denied", "state_used"],
      ["callback", "error", "discord:rate_limited"],
      ["token", "denied", "code_unknown"],
      ["callback", "code_issued", null],
      ["token", "denied", "client_auth_failed"],
    ]);
    // The OAuth error the client was told, beside the reason; every line names its request.
    expect(events().filter((e) => e.step === "token" && e.result === "denied").map((e) => e.error)).toEqual(["invalid_grant", "invalid_client"]);
    for (const e of events()) expect(e.request_id).toMatch(/^[\w-]{8}$/);
    expect(new Set(events().map((e) => e.request_id)).size).toBe(events().length);
    expect(events()[0]).toMatchObject({ client: "access", discord_user_id: null });
    expect(lines.join("\n")).not.toContain("wrong");
  });

  it("an unregistered redirect URI names its (registered) client, so the operator can find the mistake; an unknown client id is not echoed", async () => {
    const res = await call(authorizeUrl(accessParams({ redirect_uri: `${ACCESS.redirectUri} ` })));
    expect(res.status).toBe(400);
    const ref = /Reference: <code>([\w-]{8})<\/code>/.exec(await res.text())?.[1];
    await call(authorizeUrl(accessParams({ client_id: "made-up-client", redirect_uri: "https://evil.example/cb" })));
    expect(events().map((e) => [e.step, e.result, e.client, e.reason, e.error])).toEqual([
      ["authorize", "denied", "access", "unregistered_redirect_uri", "invalid_request"],
      ["authorize", "denied", null, "unknown_client", "invalid_client"],
    ]);
    expect(events()[0]!.request_id).toBe(ref);
    expect(lines.join("\n")).not.toContain("made-up-client");
  });
});
