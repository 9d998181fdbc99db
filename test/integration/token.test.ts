// /token: client authentication (Access-style Basic, RFC Basic, post), single-use codes (also under a
// race), binding to client and redirect_uri, PKCE, and the shape of what we answer.
import { decodeJwt, decodeProtectedHeader } from "jose";
import { afterEach, describe, expect, it, vi } from "vitest";
import { FAKE_USERS } from "../helpers/fake-discord";
import {
  ACCESS, GRAFANA, OUTLINE, CHALLENGE, ISSUER, VERIFIER, accessBasic, accessParams, call, codeFor, oauthError, redeem, rfcBasic, tokenRequest,
} from "../helpers/bridge";

afterEach(() => {
  vi.useRealTimers();
});

async function expectGrantError(res: Response, error: string, status = 400) {
  expect(res.status).toBe(status);
  const body = await oauthError(res);
  expect(body.error).toBe(error);
  return body;
}

describe("/token issues tokens", () => {
  it("answers an Access-style Basic request (not URL-encoded) with our tokens only", async () => {
    const res = await redeem(await codeFor("alice"));
    expect(res.status).toBe(200);
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    expect(res.headers.get("Pragma")).toBe("no-cache");
    const body = await res.json<Record<string, unknown>>();
    expect(Object.keys(body).sort()).toEqual(["access_token", "expires_in", "id_token", "scope", "token_type"]);
    expect(body).toMatchObject({ token_type: "Bearer", expires_in: 3600, scope: "openid profile email" });
    const text = JSON.stringify(body);
    expect(text).not.toMatch(/fake-access-|fake-refresh-|refresh_token/);

    const header = decodeProtectedHeader(body.id_token as string);
    expect(header).toMatchObject({ alg: "ES256", typ: "JWT" });
    expect(header.kid).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const claims = decodeJwt(body.id_token as string);
    const alice = FAKE_USERS.alice!;
    expect(claims).toMatchObject({ iss: ISSUER, sub: alice.id, aud: ACCESS.clientId, nonce: "nonce-abc", id: alice.id, email_verified: true });
    expect(claims.exp! - claims.iat!).toBe(3600);
    expect(Math.abs(claims.auth_time as number - claims.iat!)).toBeLessThan(5);
  });

  it("accepts RFC 6749 form-encoded Basic credentials too", async () => {
    const res = await redeem(await codeFor("alice"), {}, { Authorization: rfcBasic(ACCESS.clientId, ACCESS.secret) });
    expect(res.status).toBe(200);
  });

  it("accepts client_secret_post", async () => {
    const code = await codeFor("alice");
    const res = await redeem(code, { client_id: ACCESS.clientId, client_secret: ACCESS.secret }, {});
    expect(res.status).toBe(200);
  });

  it("accepts Basic plus a matching client_id in the body", async () => {
    expect((await redeem(await codeFor("alice"), { client_id: ACCESS.clientId })).status).toBe(200);
  });

  it("sends an email only when Discord verified it: an unverified address is never an identity", async () => {
    const bob = decodeJwt((await (await redeem(await codeFor("bob"))).json<{ id_token: string }>()).id_token);
    expect(FAKE_USERS.bob).toMatchObject({ email: "bob@example.net", verified: false });
    expect(bob).toMatchObject({ sub: FAKE_USERS.bob!.id, name: "bob", preferred_username: "bob" });
    expect(bob.email).toBeUndefined();
    expect(bob.email_verified).toBeUndefined();
    expect(JSON.stringify(bob)).not.toContain("bob@example.net");
    expect(bob.picture).toMatch(/^https:\/\/cdn\.discordapp\.com\/embed\/avatars\/[0-5]\.png$/);
    const carol = decodeJwt((await (await redeem(await codeFor("carol"))).json<{ id_token: string }>()).id_token);
    expect(carol.email).toBeUndefined();
    expect(carol.email_verified).toBeUndefined();
  });

  it("a client with syntheticEmailDomain gets <id>@<domain>, never verified, for users without a verified email", async () => {
    const outline = { client_id: OUTLINE.clientId, redirect_uri: OUTLINE.redirectUri };
    const tokens = async (user: string) => {
      const code = await codeFor(user, accessParams(outline));
      const res = await redeem(code, { redirect_uri: OUTLINE.redirectUri }, { Authorization: accessBasic(OUTLINE.clientId, OUTLINE.secret) });
      expect(res.status).toBe(200);
      const body = await res.json<{ id_token: string; access_token: string }>();
      const info = await (await call("/userinfo", { headers: { Authorization: `Bearer ${body.access_token}` } })).json<Record<string, unknown>>();
      return { id: decodeJwt(body.id_token), info };
    };
    for (const user of ["bob", "carol"]) {
      const { id, info } = await tokens(user);
      const synthetic = { email: `${FAKE_USERS[user]!.id}@discord.bridge.test`, email_verified: false };
      expect(id).toMatchObject(synthetic);
      expect(info).toMatchObject(synthetic);
    }
    // A verified address is sent as it is.
    expect((await tokens("alice")).id).toMatchObject({ email: "alice@example.com", email_verified: true });
    // Without the email scope, no email of either kind.
    const code = await codeFor("bob", accessParams({ ...outline, scope: "openid profile" }));
    const res = await redeem(code, { redirect_uri: OUTLINE.redirectUri }, { Authorization: accessBasic(OUTLINE.clientId, OUTLINE.secret) });
    expect(decodeJwt((await res.json<{ id_token: string }>()).id_token).email).toBeUndefined();
  });

  it("puts only what the scopes allow into the ID token, and no nonce when none was sent", async () => {
    const code = await codeFor("alice", accessParams({ scope: "openid", nonce: undefined }));
    const body = await (await redeem(code)).json<{ id_token: string; scope: string }>();
    expect(body.scope).toBe("openid");
    const claims = decodeJwt(body.id_token);
    expect(Object.keys(claims).sort()).toEqual(["aud", "auth_time", "exp", "iat", "id", "iss", "sub"]);
  });
});

describe("/token authenticates the client", () => {
  const bad: [string, Record<string, string>][] = [
    ["a wrong secret", { Authorization: accessBasic(ACCESS.clientId, "wrong") }],
    ["another client's secret", { Authorization: accessBasic(ACCESS.clientId, GRAFANA.secret) }],
    ["an unknown client", { Authorization: accessBasic("nobody", ACCESS.secret) }],
    ["no credentials", {}],
    ["a malformed Basic header", { Authorization: "Basic !!!" }],
    ["Basic without a colon", { Authorization: `Basic ${btoa("access")}` }],
    ["a Bearer header instead", { Authorization: "Bearer abc" }],
  ];
  for (const [name, headers] of bad) {
    it(`refuses ${name} with 401 invalid_client and a Basic challenge, and leaves the code usable`, async () => {
      const code = await codeFor("alice");
      const res = await redeem(code, {}, headers);
      await expectGrantError(res, "invalid_client", 401);
      expect(res.headers.get("WWW-Authenticate")).toMatch(/^Basic realm=/);
      expect((await redeem(code)).status).toBe(200);
    });
  }

  it("refuses a wrong client_secret_post", async () => {
    const res = await redeem(await codeFor("alice"), { client_id: ACCESS.clientId, client_secret: "nope" }, {});
    await expectGrantError(res, "invalid_client", 401);
  });

  it("refuses two authentication methods at once", async () => {
    const res = await redeem(await codeFor("alice"), { client_secret: ACCESS.secret });
    await expectGrantError(res, "invalid_request");
  });

  it("refuses Basic with a different client_id in the body", async () => {
    await expectGrantError(await redeem(await codeFor("alice"), { client_id: GRAFANA.clientId }), "invalid_client", 401);
  });
});

describe("/token checks the grant", () => {
  it("rejects a replayed code", async () => {
    const code = await codeFor("alice");
    expect((await redeem(code)).status).toBe(200);
    await expectGrantError(await redeem(code), "invalid_grant");
  });

  it("lets exactly one of ten racing redemptions win", async () => {
    const code = await codeFor("alice");
    const results = await Promise.all(Array.from({ length: 10 }, () => redeem(code)));
    expect(results.map((r) => r.status).sort()).toEqual([200, 400, 400, 400, 400, 400, 400, 400, 400, 400]);
  });

  it("rejects a code after 60 seconds", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(new Date("2031-02-01T00:00:00Z"));
    const code = await codeFor("alice");
    vi.setSystemTime(new Date("2031-02-01T00:01:01Z"));
    await expectGrantError(await redeem(code), "invalid_grant");
  });

  it("accepts a code within 60 seconds", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(new Date("2031-03-01T00:00:00Z"));
    const code = await codeFor("alice");
    vi.setSystemTime(new Date("2031-03-01T00:00:59Z"));
    expect((await redeem(code)).status).toBe(200);
  });

  it("rejects unknown and tampered codes", async () => {
    const code = await codeFor("alice");
    await expectGrantError(await redeem(`${code.slice(0, -1)}${code.endsWith("A") ? "B" : "A"}`), "invalid_grant");
    await expectGrantError(await redeem("x".repeat(43)), "invalid_grant");
    await expectGrantError(await redeem("x".repeat(300)), "invalid_request");
  });

  it("rejects a code issued to another client (and burns it)", async () => {
    const code = await codeFor("alice", {
      response_type: "code", client_id: GRAFANA.clientId, redirect_uri: GRAFANA.redirectUri, scope: "openid", code_challenge: CHALLENGE, code_challenge_method: "S256",
    });
    await expectGrantError(await redeem(code), "invalid_grant");
    const grafana = { Authorization: accessBasic(GRAFANA.clientId, GRAFANA.secret) };
    await expectGrantError(await redeem(code, { redirect_uri: GRAFANA.redirectUri }, grafana), "invalid_grant");
  });

  it("rejects a different or missing redirect_uri", async () => {
    await expectGrantError(await redeem(await codeFor("alice"), { redirect_uri: `${ACCESS.redirectUri}/` }), "invalid_grant");
    await expectGrantError(await redeem(await codeFor("alice"), { redirect_uri: undefined }), "invalid_request");
  });

  it("rejects a wrong, missing, short or long verifier for a code with a challenge", async () => {
    await expectGrantError(await redeem(await codeFor("alice"), { code_verifier: "A".repeat(43) }), "invalid_grant");
    await expectGrantError(await redeem(await codeFor("alice"), { code_verifier: undefined }), "invalid_grant");
    await expectGrantError(await redeem(await codeFor("alice"), { code_verifier: VERIFIER.slice(0, 42) }), "invalid_grant");
    await expectGrantError(await redeem(await codeFor("alice"), { code_verifier: `${VERIFIER}${"a".repeat(86)}` }), "invalid_grant");
  });

  it("rejects a verifier for a code issued without a challenge (no downgrade)", async () => {
    const code = await codeFor("alice", accessParams({ code_challenge: undefined, code_challenge_method: undefined }));
    const body = await expectGrantError(await redeem(code), "invalid_grant");
    expect(body.error_description).toMatch(/without code_challenge/);
  });

  it("accepts a code issued without a challenge when no verifier is sent", async () => {
    const code = await codeFor("alice", accessParams({ code_challenge: undefined, code_challenge_method: undefined }));
    expect((await redeem(code, { code_verifier: undefined })).status).toBe(200);
  });

  it("rejects bad grant_type, missing code and repeated parameters", async () => {
    await expectGrantError(await tokenRequest({ grant_type: "refresh_token", refresh_token: "x" }), "unsupported_grant_type");
    await expectGrantError(await tokenRequest({ grant_type: "client_credentials" }), "unsupported_grant_type");
    await expectGrantError(await tokenRequest({ code: "abc" }), "invalid_request");
    await expectGrantError(await tokenRequest({ grant_type: "authorization_code" }), "invalid_request");
    const code = await codeFor("alice");
    const body = `grant_type=authorization_code&code=${code}&code=${code}&redirect_uri=${encodeURIComponent(ACCESS.redirectUri)}`;
    const res = await call("/token", { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded", Authorization: accessBasic() }, body });
    await expectGrantError(res, "invalid_request");
  });

  it("rejects GET and non-form bodies", async () => {
    const get = await call("/token");
    expect(get.status).toBe(405);
    const json = await call("/token", { method: "POST", headers: { "Content-Type": "application/json", Authorization: accessBasic() }, body: "{}" });
    await expectGrantError(json, "invalid_request");
  });
});
