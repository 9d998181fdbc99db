// /userinfo accepts only our own access token (RFC 6750 header or form body) and answers the ID token's claims.
import { afterEach, describe, expect, it, vi } from "vitest";
import { FAKE_USERS } from "../helpers/fake-discord";
import { call, codeFor, redeem } from "../helpers/bridge";

afterEach(() => {
  vi.useRealTimers();
});

async function tokens(): Promise<{ access_token: string; id_token: string }> {
  return (await redeem(await codeFor("alice"))).json();
}

function expectInvalidToken(res: Response, withErrorCode = true) {
  expect(res.status).toBe(401);
  const challenge = res.headers.get("WWW-Authenticate") ?? "";
  expect(challenge).toMatch(/^Bearer realm="discord-oidc-bridge"/);
  if (withErrorCode) expect(challenge).toContain('error="invalid_token"');
  else expect(challenge).not.toContain("error=");
}

describe("/userinfo", () => {
  it("answers GET with a Bearer token", async () => {
    const { access_token } = await tokens();
    const res = await call("/userinfo", { headers: { Authorization: `Bearer ${access_token}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    const alice = FAKE_USERS.alice!;
    expect(await res.json()).toEqual({
      sub: alice.id, id: alice.id, preferred_username: "alice", name: "Alice Liddell",
      picture: `https://cdn.discordapp.com/avatars/${alice.id}/${alice.avatar}.png`, email: "alice@example.com", email_verified: true,
    });
  });

  it("answers POST with a Bearer header or the token in the form body", async () => {
    const { access_token } = await tokens();
    expect((await call("/userinfo", { method: "POST", headers: { Authorization: `Bearer ${access_token}` } })).status).toBe(200);
    const res = await call("/userinfo", {
      method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ access_token }),
    });
    expect(res.status).toBe(200);
  });

  it("refuses a request without a token, without an error code (RFC 6750 3.1)", async () => {
    expectInvalidToken(await call("/userinfo"), false);
  });

  it("refuses garbage, a tampered token, and our ID token used as an access token", async () => {
    const { access_token, id_token } = await tokens();
    for (const bad of ["garbage", `${access_token.slice(0, -2)}AA`, id_token]) {
      expectInvalidToken(await call("/userinfo", { headers: { Authorization: `Bearer ${bad}` } }));
    }
  });

  it("refuses an expired access token", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(new Date("2031-04-01T00:00:00Z"));
    const { access_token } = await tokens();
    vi.setSystemTime(new Date("2031-04-01T01:00:01Z"));
    expectInvalidToken(await call("/userinfo", { headers: { Authorization: `Bearer ${access_token}` } }));
  });

  it("refuses a token sent in two places", async () => {
    const { access_token } = await tokens();
    const res = await call("/userinfo", {
      method: "POST",
      headers: { Authorization: `Bearer ${access_token}`, "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ access_token }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: "invalid_request" });
  });
});
