// guard, withDiscord and discordAuth (itty-router v5): the exact 401/403 answers, the same 401 whatever the failure, the identity and extra args for the handler, onDecision, bad policies at creation.
import { Router } from "itty-router";
import { beforeAll, describe, expect, it, vi } from "vitest";
import {
  AuthError,
  PolicyConfigError,
  accessVerifier,
  discordAuth,
  forbidden,
  guard,
  unauthorized,
  withDiscord,
  type DiscordIdentity,
  type Outcome,
  type Policy,
  type Verifier,
} from "../../src/policy/index.js";
import { G, R } from "../helpers/fake-discord";
import { ALICE_CLAIMS, AUD2, TEAM, AUD, accessClaims, accessRequest, alice, bob, localKeys, makeKey, now, sign, type TestKey } from "./tokens";

const UNAUTHORIZED_BODY = '{"error":{"code":"UNAUTHORIZED","message":"Authentication required."}}';
const FORBIDDEN_BODY = '{"error":{"code":"FORBIDDEN","message":"You do not have access to this resource."}}';

/** Status, the two headers that matter and the body, to compare answers whole. */
async function answer(response: Response) {
  return {
    status: response.status,
    contentType: response.headers.get("Content-Type"),
    cacheControl: response.headers.get("Cache-Control"),
    body: await response.text(),
  };
}
const AS_401 = { status: 401, contentType: "application/json; charset=utf-8", cacheControl: "no-store", body: UNAUTHORIZED_BODY };
const AS_403 = { status: 403, contentType: "application/json; charset=utf-8", cacheControl: "no-store", body: FORBIDDEN_BODY };

/** Moderators of the main guild, never bob. */
const MODS: Policy = { include: [{ role: `${G.main}:${R.mod}` }], exclude: [{ user: bob.id }] };

let key: TestKey;
let verifier: Verifier;
let aliceToken: string;
let bobToken: string;

beforeAll(async () => {
  key = await makeKey("RS256", "access-1");
  verifier = accessVerifier({ team: TEAM, audience: AUD, keys: localKeys(key) });
  aliceToken = await sign(key, accessClaims({ ...ALICE_CLAIMS, guilds: [G.main], [`roles:${G.main}`]: [R.mod, R.member] }));
  bobToken = await sign(key, accessClaims({ id: bob.id, preferred_username: bob.username, guilds: [G.other] }));
});

describe("the fixed answers", () => {
  it("unauthorized() and forbidden() are the documented 401 and 403", async () => {
    expect(await answer(unauthorized())).toEqual(AS_401);
    expect(await answer(forbidden())).toEqual(AS_403);
  });
});

describe("withDiscord", () => {
  it("answers 401 without calling the handler when there is no token", async () => {
    const handler = vi.fn(() => new Response("secret"));
    const app = withDiscord({ verifier, policy: MODS }, handler);
    expect(await answer(await app(new Request("https://notes.example.com/")))).toEqual(AS_401);
    expect(handler).not.toHaveBeenCalled();
  });

  it("answers the same 401 whatever the failure, and tells only onDecision why", async () => {
    const outcomes: Outcome[] = [];
    const handler = vi.fn(() => new Response("secret"));
    const app = withDiscord({ verifier, policy: MODS, onDecision: (o) => outcomes.push(o) }, handler);
    const other = await makeKey("RS256", "access-1");
    const requests = [
      new Request("https://notes.example.com/"),
      accessRequest(await sign(key, accessClaims(ALICE_CLAIMS, { exp: now() - 3600 }))),
      accessRequest(await sign(key, accessClaims(ALICE_CLAIMS, { aud: [AUD2] }))),
      accessRequest(await sign(key, accessClaims(ALICE_CLAIMS, { iss: "https://otherteam.cloudflareaccess.com" }))),
      accessRequest(await sign(other, accessClaims(ALICE_CLAIMS))),
      accessRequest("not-a-token"),
    ];
    for (const request of requests) expect(await answer(await app(request))).toEqual(AS_401);
    expect(handler).not.toHaveBeenCalled();
    expect(outcomes).toEqual(
      ["token_missing", "token_expired", "wrong_audience", "wrong_issuer", "bad_signature", "token_malformed"].map((reason) => ({ status: 401, reason, userId: undefined })),
    );
  });

  it("answers 403 to a verified user the policy refuses, with the reason and rule for onDecision", async () => {
    const outcomes: Outcome[] = [];
    const handler = vi.fn(() => new Response("secret"));
    const app = withDiscord({ verifier, policy: MODS, onDecision: (o) => outcomes.push(o) }, handler);
    expect(await answer(await app(accessRequest(bobToken)))).toEqual(AS_403);
    expect(handler).not.toHaveBeenCalled();
    expect(outcomes).toEqual([{ status: 403, reason: "excluded", userId: bob.id, rule: "exclude[0]" }]);
  });

  it("answers the same 403 for not_included (no rule) and claims_missing", async () => {
    const outcomes: Outcome[] = [];
    const app = withDiscord({ verifier, policy: { include: [{ user: alice.id }, { group: "moderators" }] }, onDecision: (o) => outcomes.push(o) }, () => new Response("secret"));
    expect(await answer(await app(accessRequest(bobToken)))).toEqual(AS_403);
    const noGroups = await sign(key, accessClaims({ id: "222222222222222222" }));
    expect(await answer(await app(accessRequest(noGroups)))).toEqual(AS_403);
    expect(outcomes).toEqual([
      { status: 403, reason: "claims_missing", userId: bob.id, rule: "include[1]" },
      { status: 403, reason: "claims_missing", userId: "222222222222222222", rule: "include[1]" },
    ]);
    const app2 = withDiscord({ verifier, policy: { include: [{ user: alice.id }] }, onDecision: (o) => outcomes.push(o) }, () => new Response("secret"));
    expect(await answer(await app2(accessRequest(bobToken)))).toEqual(AS_403);
    expect(outcomes[2]).toEqual({ status: 403, reason: "not_included", userId: bob.id });
  });

  it("runs the handler for an allowed request with the identity and the extra arguments", async () => {
    const outcomes: Outcome[] = [];
    const env = { NAME: "notes" };
    const ctx = { waitUntil: () => {} };
    const handler = vi.fn((request: Request, who: DiscordIdentity, e: typeof env, c: typeof ctx) =>
      Response.json({ path: new URL(request.url).pathname, user: who.userId, roles: who.roles, env: e.NAME, sameCtx: c === ctx }),
    );
    const app = withDiscord({ verifier, policy: MODS, onDecision: (o) => outcomes.push(o) }, handler);
    const response = await app(accessRequest(aliceToken, "/notes/1"), env, ctx);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ path: "/notes/1", user: alice.id, roles: { [G.main]: [R.mod, R.member] }, env: "notes", sameCtx: true });
    expect(handler).toHaveBeenCalledTimes(1);
    expect(outcomes).toEqual([{ status: 200, reason: "allowed", userId: alice.id, rule: "include[0]" }]);
  });

  it("without a policy, any verified token passes (and no rule is reported)", async () => {
    const outcomes: Outcome[] = [];
    const app = withDiscord({ verifier, onDecision: (o) => outcomes.push(o) }, (_request, who) => new Response(who.userId));
    expect(await (await app(accessRequest(bobToken))).text()).toBe(bob.id);
    expect(outcomes).toEqual([{ status: 200, reason: "allowed", userId: bob.id }]);
  });

  it("accepts a policy straight from JSON config", async () => {
    const policy = JSON.parse(`{"include":[{"guild":"${G.main}"}]}`) as Policy;
    const app = withDiscord({ verifier, policy }, () => new Response("ok"));
    expect((await app(accessRequest(aliceToken))).status).toBe(200);
    expect((await app(accessRequest(bobToken))).status).toBe(403);
  });
});

describe("guard", () => {
  it("returns the identity, or the response to send", async () => {
    const check = guard({ verifier, policy: MODS });
    const allowed = await check(accessRequest(aliceToken));
    expect(allowed.ok).toBe(true);
    expect(allowed.ok && allowed.identity.userId).toBe(alice.id);
    const refused = await check(accessRequest(bobToken));
    expect(refused.ok).toBe(false);
    expect(!refused.ok && (await answer(refused.response))).toEqual(AS_403);
  });

  it("a verifier that throws something other than an AuthError gives 401 and keys_unavailable", async () => {
    const outcomes: Outcome[] = [];
    const broken: Verifier = {
      verify: async () => {
        throw new Error("boom");
      },
      verifyToken: async () => {
        throw new Error("boom");
      },
    };
    const result = await guard({ verifier: broken, onDecision: (o) => outcomes.push(o) })(accessRequest(aliceToken));
    expect(!result.ok && (await answer(result.response))).toEqual(AS_401);
    expect(outcomes).toEqual([{ status: 401, reason: "keys_unavailable", userId: undefined }]);
  });

  it("passes an AuthError's own code to onDecision", async () => {
    const outcomes: Outcome[] = [];
    const refusing: Verifier = {
      verify: async () => {
        throw new AuthError("alg_not_allowed", "no");
      },
      verifyToken: async () => {
        throw new AuthError("alg_not_allowed", "no");
      },
    };
    await guard({ verifier: refusing, onDecision: (o) => outcomes.push(o) })(accessRequest(aliceToken));
    expect(outcomes).toEqual([{ status: 401, reason: "alg_not_allowed", userId: undefined }]);
  });

  it("a bad policy throws PolicyConfigError when the guard is made", () => {
    const bad = { include: [{ role: R.mod }] } as unknown as Policy;
    for (const make of [() => guard({ verifier, policy: bad }), () => withDiscord({ verifier, policy: bad }, () => new Response()), () => discordAuth({ verifier, policy: bad })]) {
      expect(make).toThrow(PolicyConfigError);
      expect(make).toThrow("policy.include[0].role: ");
    }
    expect(() => guard({ verifier, policy: { include: [] } })).toThrow("policy.include: ");
  });
});

describe("discordAuth with itty-router v5", () => {
  const app = () => {
    const router = Router();
    router.get("/notes", discordAuth({ verifier, policy: MODS }), (request) => Response.json({ reader: (request.discord as DiscordIdentity).userId }));
    return router;
  };

  it("answers 401 without a token", async () => {
    expect(await answer(await app().fetch(new Request("https://notes.example.com/notes")))).toEqual(AS_401);
  });

  it("answers 403 when the policy refuses", async () => {
    expect(await answer(await app().fetch(accessRequest(bobToken)))).toEqual(AS_403);
  });

  it("lets the route run with request.discord set", async () => {
    const response: Response = await app().fetch(accessRequest(aliceToken));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ reader: alice.id });
  });

  it("returns undefined to go on, and sets request.discord", async () => {
    const request: Request & { discord?: DiscordIdentity } = accessRequest(aliceToken);
    expect(await discordAuth({ verifier })(request)).toBeUndefined();
    expect(request.discord?.userId).toBe(alice.id);
    expect(request.discord?.source).toBe("access");
  });
});

describe("a logger that throws", () => {
  it("does not turn a 401 or a 200 into an exception", async () => {
    const check = guard({ verifier, onDecision: () => { throw new Error("log sink down"); } });
    const refused = await check(new Request("https://notes.example.com/"));
    expect(refused.ok).toBe(false);
    const allowed = await check(accessRequest(aliceToken));
    expect(allowed.ok).toBe(true);
  });
});
