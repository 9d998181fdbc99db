// accessVerifier and bridgeVerifier: where the token is read, signature/alg/iss/aud/time checks with their AuthError codes, malformed input, remote keys, options validation.
import { beforeAll, describe, expect, it } from "vitest";
import { AuthError, PolicyConfigError, accessVerifier, bridgeVerifier, type AuthFailure, type Verifier } from "../../src/policy/index.js";
import {
  ACCESS_CERTS,
  ACCESS_ISSUER,
  ALICE_CLAIMS,
  AUD,
  AUD2,
  BRIDGE_ISSUER,
  CLIENT_ID,
  TEAM,
  accessClaims,
  accessRequest,
  alice,
  bridgeClaims,
  jwksOf,
  localKeys,
  makeKey,
  now,
  sign,
  unsignedToken,
  withPayload,
  type TestKey,
} from "./tokens";

/** The promise rejects with an AuthError carrying this code. */
async function expectAuthError(promise: Promise<unknown>, code: AuthFailure): Promise<void> {
  const err = await promise.then(
    () => new Error("resolved, but a rejection was expected"),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AuthError);
  expect((err as AuthError).code).toBe(code);
}

/** The call throws a PolicyConfigError about this option. */
function expectConfigError(make: () => unknown, path: string): void {
  let err: unknown;
  try {
    make();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(PolicyConfigError);
  expect((err as PolicyConfigError).path).toBe(path);
  expect((err as PolicyConfigError).message.startsWith(`${path}: `)).toBe(true);
}

let accessKey: TestKey;
let sameKidOtherKey: TestKey;
let unknownKidKey: TestKey;
let esKey: TestKey;
let access: Verifier;

beforeAll(async () => {
  accessKey = await makeKey("RS256", "access-2024");
  sameKidOtherKey = await makeKey("RS256", "access-2024");
  unknownKidKey = await makeKey("RS256", "access-1999");
  esKey = await makeKey("ES256", "access-es");
  access = accessVerifier({ team: TEAM, audience: AUD, keys: localKeys(accessKey, esKey) });
});

const aliceAccessToken = (top = {}) => sign(accessKey, accessClaims(ALICE_CLAIMS, top));

describe("accessVerifier: where the token is read", () => {
  it("accepts a valid token from the Cf-Access-Jwt-Assertion header", async () => {
    const who = await access.verify(accessRequest(await aliceAccessToken()));
    expect(who.source).toBe("access");
    expect(who.userId).toBe(alice.id);
    expect(who.claims.iss).toBe(ACCESS_ISSUER);
  });

  it("an empty Cf-Access-Jwt-Assertion header does not hide the cookie", async () => {
    const request = new Request("https://notes.example.com/", { headers: { "Cf-Access-Jwt-Assertion": "", Cookie: `CF_Authorization=${await aliceAccessToken()}` } });
    expect((await access.verify(request)).userId).toBe(alice.id);
  });

  it("accepts a valid token from the CF_Authorization cookie among other cookies", async () => {
    const token = await aliceAccessToken();
    const request = new Request("https://notes.example.com/", {
      headers: { Cookie: `theme=dark; NotCF_Authorization=garbage; CF_Authorization=${token}; lang=en` },
    });
    expect((await access.verify(request)).userId).toBe(alice.id);
  });

  it("reads the header before the cookie", async () => {
    const request = new Request("https://notes.example.com/", {
      headers: { "Cf-Access-Jwt-Assertion": await aliceAccessToken(), Cookie: "CF_Authorization=abc" },
    });
    expect((await access.verify(request)).userId).toBe(alice.id);
  });

  it("verifyToken checks a token given directly", async () => {
    expect((await access.verifyToken(await aliceAccessToken())).userId).toBe(alice.id);
  });

  it("refuses a request with neither header nor cookie: token_missing", async () => {
    await expectAuthError(access.verify(new Request("https://notes.example.com/", { headers: { Cookie: "theme=dark" } })), "token_missing");
  });

  it("does not read a bridge-style Bearer token: token_missing", async () => {
    const request = new Request("https://notes.example.com/", { headers: { Authorization: `Bearer ${await aliceAccessToken()}` } });
    await expectAuthError(access.verify(request), "token_missing");
  });
});

describe("accessVerifier: times", () => {
  it("refuses an expired token: token_expired", async () => {
    await expectAuthError(access.verify(accessRequest(await aliceAccessToken({ exp: now() - 120 }))), "token_expired");
  });

  it("accepts a token expired by less than the default 30 s tolerance", async () => {
    const token = await aliceAccessToken({ exp: now() - 10 });
    expect((await access.verify(accessRequest(token))).userId).toBe(alice.id);
  });

  it("honours clockToleranceSeconds: 0 for that same token", async () => {
    const strict = accessVerifier({ team: TEAM, audience: AUD, keys: localKeys(accessKey), clockToleranceSeconds: 0 });
    await expectAuthError(strict.verify(accessRequest(await aliceAccessToken({ exp: now() - 10 }))), "token_expired");
  });

  it("refuses a token whose nbf is in the future: token_not_yet_valid", async () => {
    await expectAuthError(access.verify(accessRequest(await aliceAccessToken({ nbf: now() + 120 }))), "token_not_yet_valid");
  });

  it("accepts an nbf a few seconds ahead (clock skew within tolerance)", async () => {
    expect((await access.verify(accessRequest(await aliceAccessToken({ nbf: now() + 10 })))).userId).toBe(alice.id);
  });

  it("requires exp", async () => {
    const { exp: _, ...claims } = accessClaims(ALICE_CLAIMS);
    await expectAuthError(access.verify(accessRequest(await sign(accessKey, claims))), "token_malformed");
  });
});

describe("accessVerifier: issuer and audience", () => {
  it("refuses another team's token: wrong_issuer", async () => {
    await expectAuthError(access.verify(accessRequest(await aliceAccessToken({ iss: "https://otherteam.cloudflareaccess.com" }))), "wrong_issuer");
  });

  it("refuses a token for other applications: wrong_audience", async () => {
    await expectAuthError(access.verify(accessRequest(await aliceAccessToken({ aud: [AUD2, "another-app"] }))), "wrong_audience");
  });

  it("accepts a second AUD tag when audience is an array", async () => {
    const both = accessVerifier({ team: TEAM, audience: [AUD, AUD2], keys: localKeys(accessKey) });
    expect((await both.verify(accessRequest(await aliceAccessToken({ aud: [AUD2] })))).userId).toBe(alice.id);
    await expectAuthError(both.verify(accessRequest(await aliceAccessToken({ aud: ["third-app"] }))), "wrong_audience");
  });

  it("takes the team as a full origin too, case-insensitively", async () => {
    const token = await aliceAccessToken();
    for (const team of ["https://testteam.cloudflareaccess.com", "https://TestTeam.cloudflareaccess.com/", "TESTTEAM"]) {
      const v = accessVerifier({ team, audience: AUD, keys: localKeys(accessKey) });
      expect((await v.verify(accessRequest(token))).userId).toBe(alice.id);
    }
  });
});

describe("accessVerifier: signature and algorithm", () => {
  it("refuses a token signed by another key with the same kid: bad_signature", async () => {
    await expectAuthError(access.verify(accessRequest(await sign(sameKidOtherKey, accessClaims(ALICE_CLAIMS)))), "bad_signature");
  });

  it("refuses a token whose kid is not among the keys: bad_signature", async () => {
    await expectAuthError(access.verify(accessRequest(await sign(unknownKidKey, accessClaims(ALICE_CLAIMS)))), "bad_signature");
  });

  it("refuses an unsigned token (alg none): alg_not_allowed", async () => {
    await expectAuthError(access.verify(accessRequest(unsignedToken(accessClaims(ALICE_CLAIMS)))), "alg_not_allowed");
  });

  it("refuses an RS256 header with the signature stripped: bad_signature", async () => {
    const token = await aliceAccessToken();
    await expectAuthError(access.verify(accessRequest(token.slice(0, token.lastIndexOf(".") + 1))), "bad_signature");
  });

  it("refuses an ES256 token (Access signs RS256) even with its key in the set: alg_not_allowed", async () => {
    await expectAuthError(access.verify(accessRequest(await sign(esKey, accessClaims(ALICE_CLAIMS)))), "alg_not_allowed");
  });

  it("refuses a tampered payload: bad_signature", async () => {
    const token = await aliceAccessToken();
    const forged = withPayload(token, accessClaims({ ...ALICE_CLAIMS, id: "175928847299117063" }));
    await expectAuthError(access.verify(accessRequest(forged)), "bad_signature");
  });
});

describe("accessVerifier: malformed header values", () => {
  const cases: [string, string][] = [
    ["one part", "abc"],
    ["two parts", "a.b"],
    ["three parts that are not base64url JSON", "a.b.c"],
    ["three parts with characters outside base64url", "e30=.e30=.sig+/"],
    ["four parts", "a.b.c.d"],
    ["a 20 KB string of three base64url parts", `${"a".repeat(10_000)}.${"b".repeat(10_000)}.c`],
  ];
  it.each(cases)("%s: token_malformed", async (_, value) => {
    await expectAuthError(access.verify(accessRequest(value)), "token_malformed");
  });

  it("a properly signed token over 16 KB is refused: token_malformed", async () => {
    const big = await aliceAccessToken({ padding: "x".repeat(20_000) });
    expect(big.length).toBeGreaterThan(20_000);
    await expectAuthError(access.verify(accessRequest(big)), "token_malformed");
    expect((await access.verify(accessRequest(await aliceAccessToken({ padding: "x".repeat(8_000) })))).userId).toBe(alice.id);
  });

  it("a header with a valid token and a space in front of it is malformed", async () => {
    await expectAuthError(access.verifyToken(` ${await aliceAccessToken()}`), "token_malformed");
  });
});

describe("accessVerifier: keys from the team's certs URL", () => {
  it("fetches https://<team>.cloudflareaccess.com/cdn-cgi/access/certs and caches the set", async () => {
    const requested: string[] = [];
    const stub: typeof fetch = async (input) => {
      requested.push(input instanceof Request ? input.url : String(input));
      return Response.json(jwksOf(accessKey));
    };
    const remote = accessVerifier({ team: TEAM, audience: AUD, fetch: stub });
    expect((await remote.verify(accessRequest(await aliceAccessToken()))).userId).toBe(alice.id);
    expect((await remote.verify(accessRequest(await aliceAccessToken()))).userId).toBe(alice.id);
    expect(requested).toEqual([ACCESS_CERTS]);
  });

  it("uses certsUrl when given", async () => {
    const requested: string[] = [];
    const stub: typeof fetch = async (input) => {
      requested.push(String(input instanceof Request ? input.url : input));
      return Response.json(jwksOf(accessKey));
    };
    const remote = accessVerifier({ team: TEAM, audience: AUD, certsUrl: "https://keys.example.com/certs", fetch: stub });
    await remote.verify(accessRequest(await aliceAccessToken()));
    expect(requested).toEqual(["https://keys.example.com/certs"]);
  });

  it("a fetch that throws gives keys_unavailable", async () => {
    const stub: typeof fetch = async () => {
      throw new TypeError("Network connection lost.");
    };
    const remote = accessVerifier({ team: TEAM, audience: AUD, fetch: stub });
    await expectAuthError(remote.verify(accessRequest(await aliceAccessToken())), "keys_unavailable");
  });

  it("a fetch that throws anything else gives keys_unavailable", async () => {
    const stub: typeof fetch = async () => {
      throw new Error("boom");
    };
    const remote = accessVerifier({ team: TEAM, audience: AUD, fetch: stub });
    await expectAuthError(remote.verify(accessRequest(await aliceAccessToken())), "keys_unavailable");
  });

  it("a 500 from the certs URL gives keys_unavailable, and the next request tries again", async () => {
    let calls = 0;
    const stub: typeof fetch = async () => (++calls === 1 ? new Response("upstream error", { status: 500 }) : Response.json(jwksOf(accessKey)));
    const remote = accessVerifier({ team: TEAM, audience: AUD, fetch: stub });
    await expectAuthError(remote.verify(accessRequest(await aliceAccessToken())), "keys_unavailable");
    expect((await remote.verify(accessRequest(await aliceAccessToken()))).userId).toBe(alice.id);
    expect(calls).toBe(2);
  });

  it("a certs answer that is not JSON gives keys_unavailable", async () => {
    const remote = accessVerifier({ team: TEAM, audience: AUD, fetch: async () => new Response("<html>oops</html>", { status: 200 }) });
    await expectAuthError(remote.verify(accessRequest(await aliceAccessToken())), "keys_unavailable");
  });

  it("a certs answer that is not a key set gives keys_unavailable", async () => {
    const remote = accessVerifier({ team: TEAM, audience: AUD, fetch: async () => Response.json({ public_cert: "nope" }) });
    await expectAuthError(remote.verify(accessRequest(await aliceAccessToken())), "keys_unavailable");
  });
});

describe("accessVerifier: options", () => {
  it.each(["my team", "http://testteam.cloudflareaccess.com", "https://testteam.cloudflareaccess.com/cdn-cgi/access/certs", "", "team.with.dots"])(
    "team %j throws PolicyConfigError naming team",
    (team) => expectConfigError(() => accessVerifier({ team, audience: AUD }), "team"),
  );

  it.each([[""], [[]], [[AUD, ""]]] as [string | string[]][])("audience %j throws PolicyConfigError naming audience", (audience) =>
    expectConfigError(() => accessVerifier({ team: TEAM, audience }), "audience"),
  );

  it.each([-1, 301, Number.NaN, Number.POSITIVE_INFINITY])("clockToleranceSeconds %s throws PolicyConfigError naming it", (clockToleranceSeconds) =>
    expectConfigError(() => accessVerifier({ team: TEAM, audience: AUD, clockToleranceSeconds }), "clockToleranceSeconds"),
  );

  it("checks option types at runtime too (plain JavaScript callers)", () => {
    expectConfigError(() => accessVerifier({ team: undefined as unknown as string, audience: AUD }), "team");
    expectConfigError(() => accessVerifier({ team: TEAM, audience: 42 as unknown as string }), "audience");
    expectConfigError(() => accessVerifier({ team: TEAM, audience: [AUD, null] as unknown as string[] }), "audience");
  });

  it("accepts the tolerance bounds 0 and 300", () => {
    expect(() => accessVerifier({ team: TEAM, audience: AUD, clockToleranceSeconds: 0 })).not.toThrow();
    expect(() => accessVerifier({ team: TEAM, audience: AUD, clockToleranceSeconds: 300 })).not.toThrow();
  });
});

describe("odd inputs and options", () => {
  it("verifyToken with something that is not a string is token_malformed, not a crash", async () => {
    const verifier = accessVerifier({ team: TEAM, audience: AUD, keys: localKeys(await makeKey("RS256", "k")) });
    await expectAuthError(verifier.verifyToken(undefined as unknown as string), "token_malformed");
    await expectAuthError(verifier.verifyToken(42 as unknown as string), "token_malformed");
  });

  it("certsUrl, jwksUrl and issuer must be https URLs (http only on localhost)", () => {
    expect(() => accessVerifier({ team: TEAM, audience: AUD, certsUrl: "not a url" })).toThrow(/^certsUrl: /);
    expect(() => accessVerifier({ team: TEAM, audience: AUD, certsUrl: "http://certs.example.com/x" })).toThrow(/^certsUrl: /);
    expect(() => accessVerifier({ team: TEAM, audience: AUD, certsUrl: "http://127.0.0.1:9999/cdn-cgi/access/certs" })).not.toThrow();
    expect(() => bridgeVerifier({ issuer: "javascript:alert(1)", audience: CLIENT_ID })).toThrow(/^issuer: /);
    expect(() => bridgeVerifier({ issuer: "http://auth.example.com", audience: CLIENT_ID })).toThrow(/^issuer: /);
    expect(() => bridgeVerifier({ issuer: BRIDGE_ISSUER, audience: CLIENT_ID, jwksUrl: "ftp://x" })).toThrow(/^jwksUrl: /);
  });

  it("an AUD tag with stray white space (from an env file) still matches", async () => {
    const key = await makeKey("RS256", "k");
    const verifier = accessVerifier({ team: TEAM, audience: `${AUD}\n`, keys: localKeys(key) });
    expect((await verifier.verifyToken(await sign(key, accessClaims({ id: alice.id })))).userId).toBe(alice.id);
  });
});

describe("bridgeVerifier", () => {
  let esBridge: TestKey;
  let rsBridge: TestKey;
  let bridge: Verifier;
  beforeAll(async () => {
    esBridge = await makeKey("ES256", "bridge-es");
    rsBridge = await makeKey("RS256", "bridge-rs");
    bridge = bridgeVerifier({ issuer: BRIDGE_ISSUER, audience: CLIENT_ID, keys: localKeys(esBridge, rsBridge) });
  });
  const bearer = (token: string, scheme = "Bearer") => new Request("https://api.example.com/", { headers: { Authorization: `${scheme} ${token}` } });

  it("accepts an ES256 ID token from Authorization: Bearer, the user id from sub", async () => {
    const who = await bridge.verify(bearer(await sign(esBridge, bridgeClaims())));
    expect(who.source).toBe("bridge");
    expect(who.userId).toBe(alice.id);
    expect(who.username).toBe(alice.username);
  });

  it("accepts an RS256 ID token", async () => {
    expect((await bridge.verify(bearer(await sign(rsBridge, bridgeClaims())))).userId).toBe(alice.id);
  });

  it("accepts the scheme in any case", async () => {
    expect((await bridge.verify(bearer(await sign(esBridge, bridgeClaims()), "bearer"))).userId).toBe(alice.id);
  });

  it("refuses a request without a Bearer token: token_missing", async () => {
    await expectAuthError(bridge.verify(new Request("https://api.example.com/")), "token_missing");
    await expectAuthError(bridge.verify(bearer("dXNlcjpwYXNz", "Basic")), "token_missing");
    const viaAccessHeader = new Request("https://api.example.com/", { headers: { "Cf-Access-Jwt-Assertion": await sign(esBridge, bridgeClaims()) } });
    await expectAuthError(bridge.verify(viaAccessHeader), "token_missing");
  });

  it("refuses another issuer, exactly compared: wrong_issuer", async () => {
    await expectAuthError(bridge.verify(bearer(await sign(esBridge, bridgeClaims({ iss: "https://evil.example.com" })))), "wrong_issuer");
    await expectAuthError(bridge.verify(bearer(await sign(esBridge, bridgeClaims({ iss: `${BRIDGE_ISSUER}/` })))), "wrong_issuer");
  });

  it("refuses a token for another client: wrong_audience", async () => {
    await expectAuthError(bridge.verify(bearer(await sign(esBridge, bridgeClaims({ aud: "other-app" })))), "wrong_audience");
  });

  it("requires sub", async () => {
    const { sub: _, ...claims } = bridgeClaims();
    await expectAuthError(bridge.verify(bearer(await sign(esBridge, claims))), "token_malformed");
  });

  it("refuses an expired token: token_expired", async () => {
    await expectAuthError(bridge.verify(bearer(await sign(esBridge, bridgeClaims({ exp: now() - 120 })))), "token_expired");
  });

  it("requires a numeric iat: token_malformed, not token_not_yet_valid", async () => {
    const { iat: _, ...claims } = bridgeClaims();
    await expectAuthError(bridge.verify(bearer(await sign(esBridge, claims))), "token_malformed");
    await expectAuthError(bridge.verify(bearer(await sign(esBridge, bridgeClaims({ iat: "soon" as unknown as number })))), "token_malformed");
  });

  it("refuses a token issued in the future beyond the tolerance: token_not_yet_valid", async () => {
    await expectAuthError(bridge.verifyToken(await sign(esBridge, bridgeClaims({ iat: now() + 86_400 }))), "token_not_yet_valid");
    expect((await bridge.verifyToken(await sign(esBridge, bridgeClaims({ iat: now() + 10 })))).userId).toBe(alice.id);
  });

  it("refuses an unsigned token: alg_not_allowed", async () => {
    await expectAuthError(bridge.verify(bearer(unsignedToken(bridgeClaims()))), "alg_not_allowed");
  });

  it("refuses a token signed by a key not in the set: bad_signature", async () => {
    const stranger = await makeKey("ES256", "bridge-es");
    await expectAuthError(bridge.verify(bearer(await sign(stranger, bridgeClaims()))), "bad_signature");
  });

  it("fetches <issuer>/jwks.json by default", async () => {
    const requested: string[] = [];
    const stub: typeof fetch = async (input) => {
      requested.push(String(input instanceof Request ? input.url : input));
      return Response.json(jwksOf(esBridge));
    };
    const remote = bridgeVerifier({ issuer: BRIDGE_ISSUER, audience: CLIENT_ID, fetch: stub });
    expect((await remote.verify(bearer(await sign(esBridge, bridgeClaims())))).userId).toBe(alice.id);
    expect(requested).toEqual([`${BRIDGE_ISSUER}/jwks.json`]);
  });

  it("checks its options", () => {
    expectConfigError(() => bridgeVerifier({ issuer: "not a url", audience: CLIENT_ID }), "issuer");
    expectConfigError(() => bridgeVerifier({ issuer: undefined as unknown as string, audience: CLIENT_ID }), "issuer");
    expectConfigError(() => bridgeVerifier({ issuer: BRIDGE_ISSUER, audience: "" }), "audience");
    expectConfigError(() => bridgeVerifier({ issuer: BRIDGE_ISSUER, audience: CLIENT_ID, clockToleranceSeconds: 1000 }), "clockToleranceSeconds");
  });
});
