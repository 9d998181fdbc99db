// A real OpenID Connect relying party (openid-client) drives discovery and the code flow with PKCE and
// nonce, then reads userinfo, exactly as Grafana or oauth2-proxy would.
import { exports } from "cloudflare:workers";
import * as client from "openid-client";
import { describe, expect, it } from "vitest";
import { FAKE_USERS } from "../helpers/fake-discord";
import { ACCESS, GRAFANA, ISSUER, discordCalls, discordCode } from "../helpers/bridge";

const customFetch: client.CustomFetch = (url, options) =>
  exports.default.fetch(url, { ...(options as RequestInit), redirect: "manual" }) as unknown as ReturnType<client.CustomFetch>;

async function discover(id: string, secret: string, auth: (s: string) => client.ClientAuth) {
  return client.discovery(new URL(ISSUER), id, undefined, auth(secret), {
    execute: [client.allowInsecureRequests],
    [client.customFetch]: customFetch,
  });
}

/** The browser leg: our /authorize, the fake Discord's consent (as `user`), our /callback. */
async function browser(authUrl: URL, user: string): Promise<{ redirect: URL; code: string }> {
  const a = await exports.default.fetch(authUrl.toString(), { redirect: "manual" });
  expect(a.status).toBe(302);
  const discord = new URL(a.headers.get("Location") ?? "");
  const cookie = (a.headers.get("Set-Cookie") ?? "").split(";")[0] ?? "";
  const code = discordCode(user);
  const back = new URL(discord.searchParams.get("redirect_uri") ?? "");
  back.searchParams.set("code", code);
  back.searchParams.set("state", discord.searchParams.get("state") ?? "");
  const c = await exports.default.fetch(back.toString(), { redirect: "manual", headers: { Cookie: cookie } });
  expect(c.status).toBe(302);
  return { redirect: new URL(c.headers.get("Location") ?? ""), code };
}

describe("openid-client as relying party", () => {
  it("discovers, logs in with PKCE and nonce, validates the ID token and reads userinfo", async () => {
    const config = await discover(GRAFANA.clientId, GRAFANA.secret, client.ClientSecretBasic);
    expect(config.serverMetadata().issuer).toBe(ISSUER);
    expect(config.serverMetadata().code_challenge_methods_supported).toEqual(["S256"]);

    const verifier = client.randomPKCECodeVerifier();
    const nonce = client.randomNonce();
    const state = client.randomState();
    const authUrl = client.buildAuthorizationUrl(config, {
      redirect_uri: GRAFANA.redirectUri,
      scope: "openid profile email",
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: "S256",
      nonce,
      state,
    });
    const { redirect, code } = await browser(authUrl, "alice");
    expect(redirect.searchParams.get("iss")).toBe(ISSUER);

    const tokens = await client.authorizationCodeGrant(config, redirect, {
      pkceCodeVerifier: verifier,
      expectedNonce: nonce,
      expectedState: state,
      idTokenExpected: true,
    });
    const claims = tokens.claims();
    const alice = FAKE_USERS.alice!;
    expect(claims).toMatchObject({
      iss: ISSUER,
      sub: alice.id,
      aud: GRAFANA.clientId,
      nonce,
      id: alice.id,
      preferred_username: "alice",
      name: "Alice Liddell",
      picture: `https://cdn.discordapp.com/avatars/${alice.id}/${alice.avatar}.png`,
      email: "alice@example.com",
      email_verified: true,
    });
    expect(typeof claims?.auth_time).toBe("number");
    expect(tokens.token_type).toBe("bearer");
    expect(tokens.scope).toBe("openid profile email");
    expect(JSON.stringify(tokens)).not.toContain("fake-access-");
    expect(JSON.stringify(tokens)).not.toContain("fake-refresh-");

    const info = await client.fetchUserInfo(config, tokens.access_token, alice.id);
    expect(info).toMatchObject({ sub: alice.id, preferred_username: "alice", email: "alice@example.com", email_verified: true });

    // Discord saw exactly: code exchange, identity, and (in the background) the revoke.
    await expect.poll(() => discordCalls(code)).toEqual(["POST /oauth2/token", "GET /users/@me", "POST /oauth2/token/revoke"]);
  });

  it("works with client_secret_post and without nonce or PKCE for a client that does not require it", async () => {
    const config = await discover(ACCESS.clientId, ACCESS.secret, client.ClientSecretPost);
    const state = client.randomState();
    const authUrl = client.buildAuthorizationUrl(config, { redirect_uri: ACCESS.redirectUri, scope: "openid", state });
    const { redirect } = await browser(authUrl, "bob");
    const tokens = await client.authorizationCodeGrant(config, redirect, { expectedState: state, idTokenExpected: true });
    const claims = tokens.claims();
    expect(claims?.sub).toBe(FAKE_USERS.bob!.id);
    expect(claims?.nonce).toBeUndefined();
    // openid alone: no profile or email claims.
    expect(claims?.preferred_username).toBeUndefined();
    expect(claims?.email).toBeUndefined();
  });

  it("rejects a replayed code through the relying party", async () => {
    const config = await discover(ACCESS.clientId, ACCESS.secret, client.ClientSecretBasic);
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const authUrl = client.buildAuthorizationUrl(config, {
      redirect_uri: ACCESS.redirectUri,
      scope: "openid email",
      state,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: "S256",
    });
    const { redirect } = await browser(authUrl, "alice");
    const checks = { pkceCodeVerifier: verifier, expectedState: state, idTokenExpected: true };
    await client.authorizationCodeGrant(config, redirect, checks);
    await expect(client.authorizationCodeGrant(config, redirect, checks)).rejects.toMatchObject({ error: "invalid_grant" });
  });
});
