// toIdentity and the identity of verified tokens: claims at top level or nested (custom, oidc_fields), absent vs empty, roles:<guildId>, userId from id / sub, lone strings.
import { beforeAll, describe, expect, it } from "vitest";
import { accessVerifier, bridgeVerifier, toIdentity } from "../../src/policy/index.js";
import { G, R } from "../helpers/fake-discord";
import { AUD, BRIDGE_ISSUER, CLIENT_ID, TEAM, accessClaims, accessRequest, alice, bob, bridgeClaims, localKeys, makeKey, sign, type TestKey } from "./tokens";

/** The bridge's claims for alice with the fixture's guilds and groups. */
const aliceBridgeClaims = {
  id: alice.id,
  preferred_username: alice.username,
  email: alice.email,
  email_verified: true,
  guilds: [G.main, G.art, G.other],
  [`roles:${G.main}`]: [R.mod, R.member],
  [`roles:${G.art}`]: [R.artist],
  groups: [G.main, G.art, G.other, `${G.main}:${R.mod}`, `${G.main}:${R.member}`, "moderators"],
};

const expectedAlice = {
  userId: alice.id,
  username: alice.username,
  email: alice.email,
  emailVerified: true,
  guilds: [G.main, G.art, G.other],
  roles: { [G.main]: [R.mod, R.member], [G.art]: [R.artist] },
  groups: [G.main, G.art, G.other, `${G.main}:${R.mod}`, `${G.main}:${R.member}`, "moderators"],
};

describe("toIdentity: where the claims are", () => {
  it("reads the claims at top level", () => {
    const payload = { sub: "access-uuid", ...aliceBridgeClaims };
    const who = toIdentity(payload, "access");
    expect(who).toEqual({ source: "access", ...expectedAlice, claims: payload });
    expect(who.claims).toBe(payload);
  });

  it.each(["custom", "oidc_fields"])("reads the claims nested under %s", (home) => {
    const who = toIdentity({ sub: "access-uuid", [home]: aliceBridgeClaims }, "access");
    expect(who).toMatchObject(expectedAlice);
  });

  it("prefers top level, then custom, then oidc_fields", () => {
    const who = toIdentity(
      { email: "top@example.com", email_verified: true, custom: { email: "custom@example.com", id: alice.id }, oidc_fields: { email: "oidc@example.com", id: bob.id, preferred_username: "from-oidc" } },
      "access",
    );
    expect(who.email).toBe("top@example.com");
    expect(who.userId).toBe(alice.id);
    expect(who.username).toBe("from-oidc");
  });

  it("ignores a nested home that is not an object", () => {
    const who = toIdentity({ custom: [aliceBridgeClaims], oidc_fields: "x" }, "access");
    expect(who.userId).toBeUndefined();
    expect(who.guilds).toBeUndefined();
  });
});

describe("toIdentity: email", () => {
  it("gives an email only when the token calls it verified; the raw claim stays in claims", () => {
    for (const verified of [false, undefined, "true", 1]) {
      const payload = { id: bob.id, email: "victim@company.com", ...(verified !== undefined && { email_verified: verified }) };
      const who = toIdentity(payload, "access");
      expect(who.email).toBeUndefined();
      expect(who.claims.email).toBe("victim@company.com");
    }
    expect(toIdentity({ id: bob.id, email: "bob@example.net", email_verified: true }, "bridge")).toMatchObject({ email: "bob@example.net", emailVerified: true });
  });

  it("a synthetic address (email_verified false) is not an email", () => {
    const who = toIdentity({ id: bob.id, email: `${bob.id}@discord.example.com`, email_verified: false }, "bridge");
    expect(who.email).toBeUndefined();
    expect(who.emailVerified).toBe(false);
  });
});

describe("toIdentity: absent, empty, odd values", () => {
  it("an absent guilds or groups claim is undefined; an empty one is []", () => {
    const absent = toIdentity({ id: alice.id }, "access");
    expect(absent.guilds).toBeUndefined();
    expect(absent.groups).toBeUndefined();
    expect(absent.roles).toEqual({});
    const empty = toIdentity({ id: alice.id, guilds: [], groups: [] }, "access");
    expect(empty.guilds).toEqual([]);
    expect(empty.groups).toEqual([]);
  });

  it("reads a lone string claim as a one-element array", () => {
    const who = toIdentity({ guilds: G.main, groups: "moderators", [`roles:${G.main}`]: R.mod }, "access");
    expect(who.guilds).toEqual([G.main]);
    expect(who.groups).toEqual(["moderators"]);
    expect(who.roles).toEqual({ [G.main]: [R.mod] });
  });

  it("reads a claim that is not strings as absent", () => {
    const who = toIdentity({ guilds: [1, 2], groups: { a: 1 }, [`roles:${G.main}`]: null, email: 5, preferred_username: "" }, "access");
    expect(who.guilds).toBeUndefined();
    expect(who.groups).toBeUndefined();
    expect(who.roles).toEqual({});
    expect(who.email).toBeUndefined();
    expect(who.username).toBeUndefined();
  });

  it("collects every roles:<guildId> claim, from top level and nested, and nothing else", () => {
    const who = toIdentity(
      {
        [`roles:${G.main}`]: [R.mod],
        "roles:notanid": ["1"],
        roles: ["2"],
        [`xroles:${G.other}`]: ["3"],
        custom: { [`roles:${G.art}`]: [R.artist], [`roles:${G.main}`]: ["ignored, top level wins"] },
        oidc_fields: { [`roles:${G.other}`]: [] },
      },
      "access",
    );
    expect(who.roles).toEqual({ [G.main]: [R.mod], [G.art]: [R.artist], [G.other]: [] });
  });

  it("copies the arrays (changing the claims does not change the identity)", () => {
    const guilds: string[] = [G.main];
    const who = toIdentity({ guilds }, "access");
    guilds.push(G.art);
    expect(who.guilds).toEqual([G.main]);
  });
});

describe("toIdentity: the user id", () => {
  it("comes from id for Access tokens, never from Access's own sub", () => {
    expect(toIdentity({ sub: "7335d417-61da-459d-899c-0a01c76a2f94", custom: { id: alice.id } }, "access").userId).toBe(alice.id);
    expect(toIdentity({ sub: "7335d417-61da-459d-899c-0a01c76a2f94" }, "access").userId).toBeUndefined();
  });

  it("comes from sub for bridge tokens, id first when present", () => {
    expect(toIdentity({ sub: alice.id }, "bridge").userId).toBe(alice.id);
    expect(toIdentity({ sub: alice.id, id: bob.id }, "bridge").userId).toBe(bob.id);
    expect(toIdentity({ sub: "" }, "bridge").userId).toBeUndefined();
  });

  it("an empty id is absent", () => {
    expect(toIdentity({ id: "" }, "access").userId).toBeUndefined();
  });
});

describe("identity from a verified token", () => {
  let accessKey: TestKey;
  let bridgeKey: TestKey;
  beforeAll(async () => {
    accessKey = await makeKey("RS256", "access-1");
    bridgeKey = await makeKey("ES256", "bridge-1");
  });

  it("an Access token with the bridge's claims under custom", async () => {
    const verifier = accessVerifier({ team: TEAM, audience: AUD, keys: localKeys(accessKey) });
    const who = await verifier.verify(accessRequest(await sign(accessKey, accessClaims(aliceBridgeClaims))));
    expect(who).toMatchObject({ source: "access", ...expectedAlice });
    expect(who.claims.aud).toEqual([AUD]);
  });

  it("an Access token with the claims under oidc_fields, guilds empty", async () => {
    const verifier = accessVerifier({ team: TEAM, audience: AUD, keys: localKeys(accessKey) });
    const token = await sign(accessKey, accessClaims({}, { custom: undefined, oidc_fields: { id: bob.id, guilds: [] } }));
    const who = await verifier.verify(accessRequest(token));
    expect(who.userId).toBe(bob.id);
    expect(who.guilds).toEqual([]);
    expect(who.groups).toBeUndefined();
  });

  it("a bridge ID token: the user id from sub", async () => {
    const verifier = bridgeVerifier({ issuer: BRIDGE_ISSUER, audience: CLIENT_ID, keys: localKeys(bridgeKey) });
    const token = await sign(bridgeKey, bridgeClaims({ sub: bob.id, preferred_username: bob.username, guilds: [G.other] }));
    const who = await verifier.verify(new Request("https://api.example.com/", { headers: { Authorization: `Bearer ${token}` } }));
    expect(who).toMatchObject({ source: "bridge", userId: bob.id, username: bob.username, guilds: [G.other], roles: {} });
  });
});

describe("toIdentity: values that are not what they claim", () => {
  it("an id that is not a Discord id (another login method's) is no user id", () => {
    expect(toIdentity({ id: "00u1abcd2EFGH3ijk4l5" }, "access").userId).toBeUndefined();
    expect(toIdentity({ id: "80351110224678912" }, "access").userId).toBe("80351110224678912");
  });

  it("a lone string that could be several values run together reads as absent", () => {
    expect(toIdentity({ groups: "banned,moderators" }, "access").groups).toBeUndefined();
    expect(toIdentity({ groups: '["banned"]' }, "access").groups).toBeUndefined();
    expect(toIdentity({ groups: "moderators" }, "access").groups).toEqual(["moderators"]);
  });
});
