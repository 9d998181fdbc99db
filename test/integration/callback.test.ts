// /callback: our sealed state and the browser cookie are checked first (a page when they fail), then
// Discord's answer; Discord faults become clean OAuth errors at the client, with the calls counted.
import { afterEach, describe, expect, it, vi } from "vitest";
import { decodeJwt } from "jose";
import { ACCESS, ISSUER, accessParams, callback, discordCalls, discordCode, redeem, startLogin } from "../helpers/bridge";

afterEach(() => {
  vi.useRealTimers();
});

async function expectPage(res: Response, text: RegExp): Promise<void> {
  expect(res.status).toBe(400);
  expect(res.headers.get("Location")).toBeNull();
  expect(res.headers.get("Content-Type")).toMatch(/^text\/html/);
  expect(await res.text()).toMatch(text);
}

function clientError(res: Response): URLSearchParams {
  expect(res.status).toBe(302);
  const location = new URL(res.headers.get("Location") ?? "");
  expect(location.origin + location.pathname).toBe(ACCESS.redirectUri);
  expect(location.searchParams.get("state")).toBe("client-state-123");
  expect(location.searchParams.get("iss")).toBe(ISSUER);
  expect(location.searchParams.get("code")).toBeNull();
  return location.searchParams;
}

describe("/callback success", () => {
  it("redirects to the client with a fresh opaque code, the client's state and iss", async () => {
    const started = await startLogin();
    const res = await callback(started, { code: discordCode("alice") });
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get("Location") ?? "");
    expect(location.origin + location.pathname).toBe(ACCESS.redirectUri);
    expect(location.searchParams.get("code")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(location.searchParams.get("state")).toBe("client-state-123");
    expect(location.searchParams.get("iss")).toBe(ISSUER);
    expect(res.headers.get("Cache-Control")).toBe("no-store");
  });

  it("keeps the redirect_uri's own query parameters", async () => {
    const started = await startLogin({
      response_type: "code", client_id: "grafana", redirect_uri: "https://grafana.example.com/other?x=1", scope: "openid",
      code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", code_challenge_method: "S256",
    });
    const res = await callback(started, { code: discordCode("alice") });
    const location = new URL(res.headers.get("Location") ?? "");
    expect(location.searchParams.get("x")).toBe("1");
    expect(location.searchParams.get("code")).toBeTruthy();
    expect(location.searchParams.has("state")).toBe(false);
  });

  it("calls Discord exactly for the exchange and the identity, then revokes Discord's token", async () => {
    const started = await startLogin();
    const code = discordCode("alice");
    await callback(started, { code });
    await expect.poll(() => discordCalls(code)).toEqual(["POST /oauth2/token", "GET /users/@me", "POST /oauth2/token/revoke"]);
  });
});

describe("/callback: whatever /authorize accepts completes", () => {
  it("the largest state and nonce (escaped many times over in the sealed state) still complete the login", async () => {
    const state = '"'.repeat(1024);
    const nonce = "\u0001".repeat(512);
    const started = await startLogin(accessParams({ state, nonce }));
    expect(started.state.length).toBeGreaterThan(4096);
    const res = await callback(started, { code: discordCode("alice") });
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get("Location") ?? "");
    expect(location.searchParams.get("state")).toBe(state);
    const token = await redeem(location.searchParams.get("code")!);
    expect(decodeJwt((await token.json<{ id_token: string }>()).id_token).nonce).toBe(nonce);
  });
});

describe("/callback refuses what it cannot trust, with a page", () => {
  it("a missing state", async () => {
    const started = await startLogin();
    const res = await callback({ ...started, state: "" }, { code: discordCode("alice") });
    await expectPage(res, /no state/);
  });

  it("a tampered state", async () => {
    const started = await startLogin();
    const parts = started.state.split(".");
    const ciphertext = parts[3]!;
    parts[3] = (ciphertext[0] === "A" ? "B" : "A") + ciphertext.slice(1);
    await expectPage(await callback({ ...started, state: parts.join(".") }, { code: discordCode("alice") }), /not valid/);
    await expectPage(await callback({ ...started, state: "garbage" }, { code: discordCode("alice") }), /not valid/);
  });

  it("an expired state (over 10 minutes at Discord)", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(new Date("2031-01-01T00:00:00Z"));
    const started = await startLogin();
    vi.setSystemTime(new Date("2031-01-01T00:10:01Z"));
    const code = discordCode("alice");
    await expectPage(await callback(started, { code }), /took too long/);
    expect(await discordCalls(code)).toEqual([]);
  });

  it("a missing cookie", async () => {
    const started = await startLogin();
    const code = discordCode("alice");
    await expectPage(await callback(started, { code }, null), /cookie/);
    expect(await discordCalls(code)).toEqual([]);
  });

  it("another browser's cookie", async () => {
    const started = await startLogin();
    await expectPage(await callback(started, { code: discordCode("alice") }, "__Host-dob_bind=AAAAAAAAAAAAAAAAAAAAAA"), /another browser/);
  });

  it("the insecure cookie name on an https issuer", async () => {
    const started = await startLogin();
    const insecure = started.cookie.replace("__Host-dob_bind", "dob_bind");
    await expectPage(await callback(started, { code: discordCode("alice") }, insecure), /cookie/);
  });
});

describe("/callback passes Discord's answers and faults to the client", () => {
  it("Discord access_denied -> access_denied, no Discord API call", async () => {
    const started = await startLogin();
    const res = await callback(started, { error: "access_denied", error_description: "The resource owner denied the request" });
    expect(clientError(res).get("error")).toBe("access_denied");
  });

  it("another Discord error -> server_error", async () => {
    const started = await startLogin();
    expect(clientError(await callback(started, { error: "invalid_scope" })).get("error")).toBe("server_error");
  });

  it("prompt=none and Discord errors -> login_required", async () => {
    const started = await startLogin(accessParams({ prompt: "none" }));
    expect(clientError(await callback(started, { error: "access_denied" })).get("error")).toBe("login_required");
  });

  it("no code from Discord -> server_error", async () => {
    const started = await startLogin();
    expect(clientError(await callback(started, {})).get("error")).toBe("server_error");
  });

  const faults: [string, string, string[]][] = [
    ["token-500", "temporarily_unavailable", ["POST /oauth2/token"]],
    ["token-429", "temporarily_unavailable", ["POST /oauth2/token"]],
    ["token-400", "server_error", ["POST /oauth2/token"]],
    ["token-garbage", "server_error", ["POST /oauth2/token"]],
    ["token-no-access-token", "server_error", ["POST /oauth2/token"]],
    ["user-500", "temporarily_unavailable", ["POST /oauth2/token", "GET /users/@me", "POST /oauth2/token/revoke"]],
    ["user-429", "temporarily_unavailable", ["POST /oauth2/token", "GET /users/@me", "POST /oauth2/token/revoke"]],
    ["user-garbage", "server_error", ["POST /oauth2/token", "GET /users/@me", "POST /oauth2/token/revoke"]],
    ["user-no-id", "server_error", ["POST /oauth2/token", "GET /users/@me", "POST /oauth2/token/revoke"]],
  ];
  for (const [fault, error, calls] of faults) {
    it(`Discord ${fault} -> ${error}, ${calls.length} Discord call(s)`, async () => {
      const started = await startLogin();
      const code = discordCode(`fault:${fault}`);
      const params = clientError(await callback(started, { code }));
      expect(params.get("error")).toBe(error);
      expect(params.get("error_description")).not.toMatch(/fake|Bearer|stack/i);
      await expect.poll(() => discordCalls(code)).toEqual(calls);
    });
  }

  it("a reload of the callback (same state, same Discord code) is refused before any Discord call, never a second code", async () => {
    const started = await startLogin();
    const code = discordCode("alice");
    expect((await callback(started, { code })).status).toBe(302);
    const calls = await discordCalls(code);
    await expectPage(await callback(started, { code }), /already been completed/);
    expect(await discordCalls(code)).toEqual(calls);
  });
});

describe("/callback: one callback per state", () => {
  it("one state and cookie drive one login: six more callbacks, as the same or another user, are refused before any Discord call", async () => {
    const started = await startLogin();
    const first = await callback(started, { code: discordCode("alice") });
    expect(new URL(first.headers.get("Location") ?? "").searchParams.get("code")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    for (const user of ["alice", "bob", "alice", "dave", "bob", "erin"]) {
      const code = discordCode(user);
      await expectPage(await callback(started, { code }), /already been completed/);
      expect(await discordCalls(code)).toEqual([]);
    }
  });

  it("concurrent callbacks with one state: exactly one gets a code", async () => {
    const started = await startLogin();
    const codes = Array.from({ length: 8 }, (_, i) => discordCode(i % 2 ? "alice" : "bob"));
    const results = await Promise.all(codes.map((code) => callback(started, { code })));
    expect(results.filter((r) => r.status === 302 && new URL(r.headers.get("Location") ?? "").searchParams.has("code"))).toHaveLength(1);
    expect(results.filter((r) => r.status === 400)).toHaveLength(7);
  });

  it("a state refused for its cookie is not used up: the right browser can still finish", async () => {
    const started = await startLogin();
    await expectPage(await callback(started, { code: discordCode("alice") }, "__Host-dob_bind=AAAAAAAAAAAAAAAAAAAAAA"), /another browser/);
    expect((await callback(started, { code: discordCode("alice") })).status).toBe(302);
  });

  it("a Discord error uses the state up as well", async () => {
    const started = await startLogin();
    expect(clientError(await callback(started, { error: "access_denied" })).get("error")).toBe("access_denied");
    await expectPage(await callback(started, { code: discordCode("alice") }), /already been completed/);
  });
});
