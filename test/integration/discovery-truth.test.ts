// The discovery document says what the endpoints really do: every listed value is exercised and works,
// and what is not listed (or listed as false) is refused. A relying party needs no hints beyond it.
import { decodeJwt, decodeProtectedHeader } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { ACCESS, ISSUER, OUTLINE, VERIFIER, accessBasic, accessParams, authorizeUrl, call, callback, codeFor, discordCode, oauthError, redeem, startLogin, tokenRequest } from "../helpers/bridge";

interface Discovery {
  scopes_supported: string[];
  response_types_supported: string[];
  response_modes_supported: string[];
  grant_types_supported: string[];
  subject_types_supported: string[];
  id_token_signing_alg_values_supported: string[];
  token_endpoint_auth_methods_supported: string[];
  code_challenge_methods_supported: string[];
  claims_supported: string[];
  claims_parameter_supported: boolean;
  request_parameter_supported: boolean;
  request_uri_parameter_supported: boolean;
}

let doc: Discovery;
beforeAll(async () => {
  doc = await (await call("/.well-known/openid-configuration")).json<Discovery>();
});

const FULL = "openid profile email guilds";

describe("discovery matches the endpoints", () => {
  it("every claim an ID token or /userinfo carries, for any kind of user and every scope, is in claims_supported", async () => {
    const seen = new Set<string>();
    for (const user of ["alice", "bob", "carol", "dave", "erin"]) {
      for (const client of [ACCESS, OUTLINE]) {
        const code = await codeFor(user, accessParams({ client_id: client.clientId, redirect_uri: client.redirectUri, scope: FULL }));
        const res = await redeem(code, { redirect_uri: client.redirectUri }, { Authorization: accessBasic(client.clientId, client.secret) });
        const body = await res.json<{ id_token: string; access_token: string }>();
        for (const k of Object.keys(decodeJwt(body.id_token))) seen.add(k);
        const info = await (await call("/userinfo", { headers: { Authorization: `Bearer ${body.access_token}` } })).json<Record<string, unknown>>();
        for (const k of Object.keys(info)) seen.add(k);
      }
    }
    expect([...seen].filter((c) => !doc.claims_supported.includes(c))).toEqual([]);
    expect(seen).toContain("roles:300000000000000001");
  });

  it("every scope in scopes_supported is accepted, and the ID token's scope says it was granted", async () => {
    for (const scope of doc.scopes_supported) {
      const code = await codeFor("alice", accessParams({ scope: scope === "openid" ? "openid" : `openid ${scope}` }));
      const body = await (await redeem(code)).json<{ scope: string }>();
      expect(body.scope.split(" ")).toContain(scope);
    }
  });

  it("every response mode works; another is refused", async () => {
    expect(doc.response_modes_supported).toEqual(["query", "form_post"]);
    for (const mode of doc.response_modes_supported) {
      const started = await startLogin(accessParams({ response_mode: mode }));
      const res = await callback(started, { code: discordCode("alice") });
      const code = mode === "query" ? new URL(res.headers.get("Location")!).searchParams.get("code") : /name="code" value="([^"]+)"/.exec(await res.text())?.[1];
      expect((await redeem(code!)).status).toBe(200);
    }
    const refused = await call(authorizeUrl(accessParams({ response_mode: "fragment" })));
    expect(new URL(refused.headers.get("Location")!).searchParams.get("error")).toBe("invalid_request");
  });

  it("response_types_supported is code only", async () => {
    expect(doc.response_types_supported).toEqual(["code"]);
    for (const type of ["token", "id_token", "code id_token"]) {
      const res = await call(authorizeUrl(accessParams({ response_type: type })));
      expect(new URL(res.headers.get("Location")!).searchParams.get("error")).toBe("unsupported_response_type");
    }
  });

  it("every token endpoint auth method works; none is refused", async () => {
    expect(doc.token_endpoint_auth_methods_supported).toEqual(["client_secret_basic", "client_secret_post"]);
    expect((await redeem(await codeFor("alice"))).status).toBe(200);
    expect((await redeem(await codeFor("alice"), { client_id: ACCESS.clientId, client_secret: ACCESS.secret }, {})).status).toBe(200);
    const none = await redeem(await codeFor("alice"), { client_id: ACCESS.clientId }, {});
    expect(none.status).toBe(401);
  });

  it("grant_types_supported is authorization_code only", async () => {
    expect(doc.grant_types_supported).toEqual(["authorization_code"]);
    for (const grant of ["refresh_token", "client_credentials", "password"]) {
      expect((await oauthError(await tokenRequest({ grant_type: grant, refresh_token: "x" }))).error).toBe("unsupported_grant_type");
    }
  });

  it("code_challenge_methods_supported is S256 only", async () => {
    expect(doc.code_challenge_methods_supported).toEqual(["S256"]);
    const res = await call(authorizeUrl(accessParams({ code_challenge: VERIFIER, code_challenge_method: "plain" })));
    expect(new URL(res.headers.get("Location")!).searchParams.get("error")).toBe("invalid_request");
  });

  it("subject_types_supported is public: one user has one sub for every client", async () => {
    expect(doc.subject_types_supported).toEqual(["public"]);
    const subs = new Set<string>();
    for (const client of [ACCESS, OUTLINE]) {
      const code = await codeFor("alice", accessParams({ client_id: client.clientId, redirect_uri: client.redirectUri, scope: "openid" }));
      const body = await (await redeem(code, { redirect_uri: client.redirectUri }, { Authorization: accessBasic(client.clientId, client.secret) })).json<{ id_token: string }>();
      subs.add(decodeJwt(body.id_token).sub!);
    }
    expect(subs.size).toBe(1);
  });

  it("ID tokens are signed with a listed algorithm", async () => {
    const { id_token } = await (await redeem(await codeFor("alice"))).json<{ id_token: string }>();
    expect(doc.id_token_signing_alg_values_supported).toContain(decodeProtectedHeader(id_token).alg);
  });

  it("request and request_uri are refused, as listed (false); a claims parameter changes nothing, as listed (false)", async () => {
    expect([doc.request_parameter_supported, doc.request_uri_parameter_supported, doc.claims_parameter_supported]).toEqual([false, false, false]);
    const request = await call(authorizeUrl(accessParams({ request: "eyJhbGciOiJub25lIn0.e30." })));
    expect(new URL(request.headers.get("Location")!).searchParams.get("error")).toBe("request_not_supported");
    const requestUri = await call(authorizeUrl(accessParams({ request_uri: "https://evil.example/r" })));
    expect(new URL(requestUri.headers.get("Location")!).searchParams.get("error")).toBe("request_uri_not_supported");
    const code = await codeFor("alice", accessParams({ scope: "openid", claims: JSON.stringify({ id_token: { email: { essential: true } } }) }));
    const { id_token } = await (await redeem(code)).json<{ id_token: string }>();
    expect(decodeJwt(id_token).email).toBeUndefined();
  });

  it("the issuer is the origin every endpoint is under", async () => {
    const full = await (await call("/.well-known/openid-configuration")).json<Record<string, unknown>>();
    for (const key of ["authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri"]) expect(String(full[key]).startsWith(`${ISSUER}/`)).toBe(true);
  });
});
