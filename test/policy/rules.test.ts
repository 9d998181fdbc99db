// parsePolicy (valid JSON in, each bad input refused naming its path) and evaluate (include/require/exclude, reason codes, rule, every predicate kind, claims_missing).
import { describe, expect, it } from "vitest";
import { PolicyConfigError, evaluate, parsePolicy, toIdentity, type Policy } from "../../src/policy/index.js";
import { G, R } from "../helpers/fake-discord";
import { alice, bob } from "./tokens";

describe("parsePolicy: valid input", () => {
  it("accepts a policy read from a JSON string and returns it typed", () => {
    const text = `{
      "include": [{ "group": "moderators" }, { "role": "${G.main}:${R.mod}" }, { "everyone": true }],
      "require": [{ "guild": ["${G.main}", "${G.art}"] }, { "emailDomain": "example.com" }],
      "exclude": [{ "user": ["${bob.id}"] }]
    }`;
    expect(parsePolicy(JSON.parse(text))).toEqual({
      include: [{ group: "moderators" }, { role: `${G.main}:${R.mod}` }, { everyone: true }],
      require: [{ guild: [G.main, G.art] }, { emailDomain: "example.com" }],
      exclude: [{ user: [bob.id] }],
    });
  });

  it("leaves require and exclude out when absent, and accepts them empty", () => {
    const only = parsePolicy({ include: [{ user: alice.id }] });
    expect(Object.keys(only)).toEqual(["include"]);
    expect(parsePolicy({ include: [{ user: alice.id }], require: [], exclude: [] })).toEqual({ include: [{ user: alice.id }], require: [], exclude: [] });
  });

  it("returns a copy: changing the input afterwards does not change the policy", () => {
    const raw = { include: [{ guild: [G.main] as string[] }] };
    const policy = parsePolicy(raw);
    raw.include[0]!.guild.push(G.art);
    expect(policy.include).toEqual([{ guild: [G.main] }]);
  });
});

describe("parsePolicy: refuses bad input, naming the path", () => {
  const ok = { user: alice.id };
  const cases: [string, unknown, string][] = [
    ["null", null, "policy"],
    ["an array", [ok], "policy"],
    ["a JSON string not parsed", '{"include":[{"everyone":true}]}', "policy"],
    ["an unknown field", { include: [ok], allow: [ok] }, "policy.allow"],
    ["no include", { require: [ok] }, "policy.include"],
    ["an empty include", { include: [] }, "policy.include"],
    ["include not an array", { include: ok }, "policy.include"],
    ["require not an array", { include: [ok], require: ok }, "policy.require"],
    ["exclude null", { include: [ok], exclude: null }, "policy.exclude"],
    ["a rule that is not an object", { include: [ok, "moderators"] }, "policy.include[1]"],
    ["a rule with no kind", { include: [{}] }, "policy.include[0]"],
    ["a rule with two kinds", { include: [{ user: alice.id, guild: G.main }] }, "policy.include[0]"],
    ["an unknown kind", { include: [{ roles: `${G.main}:${R.mod}` }] }, "policy.include[0]"],
    ["everyone not true", { include: [{ everyone: "true" }] }, "policy.include[0].everyone"],
    ["a guild that is not an id", { include: [{ guild: "main" }] }, "policy.include[0].guild"],
    ["an empty guild list", { include: [{ guild: [] }] }, "policy.include[0].guild"],
    ["a bad guild in a list", { include: [{ guild: [G.main, "art"] }] }, "policy.include[0].guild[1]"],
    ["a role without its guild", { include: [ok], require: [ok, { role: R.mod }] }, "policy.require[1].role"],
    ["a role with a name", { include: [{ role: `${G.main}:moderator` }] }, "policy.include[0].role"],
    ["an empty group", { include: [{ group: "" }] }, "policy.include[0].group"],
    ["a group that is a number", { include: [{ group: [7] }] }, "policy.include[0].group[0]"],
    ["a user that is a name", { include: [ok], exclude: [{ user: "alice" }] }, "policy.exclude[0].user"],
    ["a user id as a number", { include: [{ user: 80351110224678912 }] }, "policy.include[0].user"],
    ["an email address for a domain", { include: [{ emailDomain: "@example.com" }] }, "policy.include[0].emailDomain"],
    ["a domain without a dot", { include: [{ emailDomain: ["example.com", "localhost"] }] }, "policy.include[0].emailDomain[1]"],
    ["a wildcard domain", { exclude: [{ emailDomain: "*.evil.com" }], include: [{ everyone: true }] }, "policy.exclude[0].emailDomain"],
    ["a leading dot", { include: [{ emailDomain: ".example.com" }] }, "policy.include[0].emailDomain"],
  ];
  it.each(cases)("%s: %s", (_, raw, path) => {
    let err: unknown;
    try {
      parsePolicy(raw);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PolicyConfigError);
    expect(err).toBeInstanceOf(TypeError);
    expect((err as PolicyConfigError).path).toBe(path);
    expect((err as PolicyConfigError).message.startsWith(`${path}: `)).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// evaluate, over identities made from claims the way the verifiers make them.

const aliceClaims = {
  id: alice.id,
  email: "Alice@Example.COM",
  email_verified: true,
  guilds: [G.main, G.art, G.other],
  [`roles:${G.main}`]: [R.mod, R.member],
  groups: [G.main, G.art, G.other, `${G.main}:${R.mod}`, `${G.main}:${R.member}`, "moderators"],
};
const ALICE = toIdentity(aliceClaims, "access");
const BOB = toIdentity({ id: bob.id, email: bob.email, email_verified: true, guilds: [G.other], groups: [G.other] }, "access");
/** A verified token that carries none of the bridge's claims (not listed in Access). */
const BARE = toIdentity({ sub: "7335d417-61da-459d-899c-0a01c76a2f94" }, "access");
const who = (claims: Record<string, unknown>) => toIdentity(claims, "access");
const only = (...include: Policy["include"]): Policy => ({ include });

describe("evaluate: include, require, exclude", () => {
  it("allows on the first matching include rule, naming it", () => {
    expect(evaluate(only({ user: bob.id }, { guild: G.main }, { everyone: true }), ALICE)).toEqual({ allow: true, reason: "allowed", rule: "include[1]" });
  });

  it("refuses with not_included and no rule when no include rule matches", () => {
    expect(evaluate(only({ user: alice.id }, { guild: G.main }), BOB)).toEqual({ allow: false, reason: "not_included" });
  });

  it("refuses with require_failed naming the first failing require rule", () => {
    const policy: Policy = { include: [{ everyone: true }], require: [{ guild: G.main }, { group: "artists" }, { user: bob.id }] };
    expect(evaluate(policy, ALICE)).toEqual({ allow: false, reason: "require_failed", rule: "require[1]" });
  });

  it("allows when every require rule matches", () => {
    const policy: Policy = { include: [{ everyone: true }], require: [{ guild: G.main }, { group: "moderators" }] };
    expect(evaluate(policy, ALICE)).toEqual({ allow: true, reason: "allowed", rule: "include[0]" });
  });

  it("refuses with excluded naming the exclude rule, even when include and require match", () => {
    const policy: Policy = { include: [{ everyone: true }], require: [{ guild: G.main }], exclude: [{ user: bob.id }, { role: `${G.main}:${R.mod}` }] };
    expect(evaluate(policy, ALICE)).toEqual({ allow: false, reason: "excluded", rule: "exclude[1]" });
  });

  it("exclude is decided before require, require before include", () => {
    expect(evaluate({ include: [{ user: bob.id }], require: [{ guild: G.art }], exclude: [{ user: bob.id }] }, BOB)).toEqual({ allow: false, reason: "excluded", rule: "exclude[0]" });
    expect(evaluate({ include: [{ user: alice.id }], require: [{ guild: G.art }] }, BOB)).toEqual({ allow: false, reason: "require_failed", rule: "require[0]" });
  });

  it("an exclude rule that does not match lets the request through", () => {
    expect(evaluate({ include: [{ guild: G.other }], exclude: [{ user: alice.id }] }, BOB)).toEqual({ allow: true, reason: "allowed", rule: "include[0]" });
  });
});

describe("evaluate: claims_missing", () => {
  it("in include: refused with the first rule that needed a missing claim", () => {
    expect(evaluate(only({ guild: G.main }, { group: "moderators" }), BARE)).toEqual({ allow: false, reason: "claims_missing", rule: "include[0]" });
    expect(evaluate(only({ user: alice.id }, { group: "moderators" }), who({ id: bob.id }))).toEqual({ allow: false, reason: "claims_missing", rule: "include[1]" });
  });

  it("in include: a later rule that matches still allows", () => {
    expect(evaluate(only({ group: "moderators" }, { user: alice.id }), who({ id: alice.id }))).toEqual({ allow: true, reason: "allowed", rule: "include[1]" });
  });

  it("in require: refused naming the rule, not guessed as failed", () => {
    const policy: Policy = { include: [{ everyone: true }], require: [{ user: alice.id }, { guild: G.main }] };
    expect(evaluate(policy, who({ id: alice.id }))).toEqual({ allow: false, reason: "claims_missing", rule: "require[1]" });
  });

  it("in exclude: refused, never let through on a claim it cannot see", () => {
    const policy: Policy = { include: [{ everyone: true }], exclude: [{ group: "banned" }] };
    expect(evaluate(policy, who({ id: alice.id, guilds: [G.main] }))).toEqual({ allow: false, reason: "claims_missing", rule: "exclude[0]" });
  });
});

describe("evaluate: each predicate", () => {
  it("everyone: any verified identity, even with no claims", () => {
    expect(evaluate(only({ everyone: true }), BARE)).toEqual({ allow: true, reason: "allowed", rule: "include[0]" });
  });

  it("guild: one id or any of a list, from guilds", () => {
    expect(evaluate(only({ guild: G.art }), ALICE).allow).toBe(true);
    expect(evaluate(only({ guild: [G.main, G.art] }), BOB)).toEqual({ allow: false, reason: "not_included" });
    expect(evaluate(only({ guild: [G.main, G.other] }), BOB).allow).toBe(true);
    expect(evaluate(only({ guild: G.main }), who({ guilds: [] }))).toEqual({ allow: false, reason: "not_included" });
  });

  it("guild: from groups when guilds is absent", () => {
    expect(evaluate(only({ guild: G.main }), who({ groups: [G.main, "moderators"] })).allow).toBe(true);
    expect(evaluate(only({ guild: G.art }), who({ groups: [G.main] }))).toEqual({ allow: false, reason: "not_included" });
  });

  it("role: from roles:<guildId>", () => {
    const claims = { [`roles:${G.main}`]: [R.member] };
    expect(evaluate(only({ role: `${G.main}:${R.member}` }), who(claims)).allow).toBe(true);
    expect(evaluate(only({ role: `${G.main}:${R.mod}` }), who(claims))).toEqual({ allow: false, reason: "not_included" });
    expect(evaluate(only({ role: [`${G.main}:${R.mod}`, `${G.main}:${R.member}`] }), who(claims)).allow).toBe(true);
  });

  it('role: from groups "<guildId>:<roleId>" when roles:<guildId> is absent', () => {
    const claims = { guilds: [G.main], groups: [G.main, `${G.main}:${R.mod}`] };
    expect(evaluate(only({ role: `${G.main}:${R.mod}` }), who(claims)).allow).toBe(true);
    // Not listed in groups, but without roles:<guildId> the token cannot say the user lacks it.
    expect(evaluate(only({ role: `${G.main}:${R.member}` }), who(claims))).toEqual({ allow: false, reason: "claims_missing", rule: "include[0]" });
  });

  it("role: an exclude on a role cannot be passed by a token that does not carry that guild's roles", () => {
    const policy = { include: [{ everyone: true as const }], exclude: [{ role: `${G.main}:${R.mod}` }] };
    expect(evaluate(policy, who({ guilds: [G.main], groups: [G.main] }))).toEqual({ allow: false, reason: "claims_missing", rule: "exclude[0]" });
    expect(evaluate(policy, who({ guilds: [G.main], groups: [G.main], [`roles:${G.main}`]: [R.member] }))).toEqual({ allow: true, reason: "allowed", rule: "include[0]" });
    expect(evaluate(policy, who({ guilds: [G.art], groups: [G.art] }))).toEqual({ allow: true, reason: "allowed", rule: "include[0]" });
  });

  it("emailDomain: an address the token calls unverified proves nothing", () => {
    const policy = { include: [{ emailDomain: "example.net" }] };
    expect(evaluate(policy, who({ email: "bob@example.net", email_verified: false }))).toEqual({ allow: false, reason: "claims_missing", rule: "include[0]" });
    expect(evaluate(policy, who({ email: "bob@example.net", email_verified: true })).allow).toBe(true);
    // Access's own top-level email says nothing about verification: without email_verified, unknown.
    expect(evaluate(policy, who({ email: "bob@example.net" }))).toEqual({ allow: false, reason: "claims_missing", rule: "include[0]" });
    expect(evaluate(policy, who({ email: "bob@example.net", custom: { email_verified: true } })).allow).toBe(true);
  });

  it("role: not in the guild is a no; nothing to tell is claims_missing", () => {
    expect(evaluate(only({ role: `${G.art}:${R.artist}` }), who({ guilds: [G.main] }))).toEqual({ allow: false, reason: "not_included" });
    expect(evaluate(only({ role: `${G.main}:${R.mod}` }), who({ guilds: [G.main] }))).toEqual({ allow: false, reason: "claims_missing", rule: "include[0]" });
    expect(evaluate(only({ role: `${G.main}:${R.mod}` }), BARE)).toEqual({ allow: false, reason: "claims_missing", rule: "include[0]" });
  });

  it("role: any of a list, a known match winning over an unknown entry", () => {
    const claims = { guilds: [G.main, G.art], [`roles:${G.art}`]: [R.artist] };
    expect(evaluate(only({ role: [`${G.main}:${R.mod}`, `${G.art}:${R.artist}`] }), who(claims)).allow).toBe(true);
    expect(evaluate(only({ role: [`${G.main}:${R.mod}`, `${G.art}:${R.mod}`] }), who(claims))).toEqual({ allow: false, reason: "claims_missing", rule: "include[0]" });
  });

  it("group: an entry of the groups claim", () => {
    expect(evaluate(only({ group: "moderators" }), ALICE).allow).toBe(true);
    expect(evaluate(only({ group: ["artists", `${G.main}:${R.member}`] }), ALICE).allow).toBe(true);
    expect(evaluate(only({ group: "moderators" }), BOB)).toEqual({ allow: false, reason: "not_included" });
    expect(evaluate(only({ group: "moderators" }), who({ guilds: [G.main] }))).toEqual({ allow: false, reason: "claims_missing", rule: "include[0]" });
  });

  it("user: one of these ids", () => {
    expect(evaluate(only({ user: [bob.id, alice.id] }), ALICE).allow).toBe(true);
    expect(evaluate(only({ user: alice.id }), BOB)).toEqual({ allow: false, reason: "not_included" });
    expect(evaluate(only({ user: alice.id }), BARE)).toEqual({ allow: false, reason: "claims_missing", rule: "include[0]" });
  });

  it("emailDomain: case-insensitive, the whole domain only", () => {
    expect(evaluate(only({ emailDomain: "example.com" }), ALICE).allow).toBe(true);
    expect(evaluate(only({ emailDomain: "EXAMPLE.com" }), who({ email: "alice@example.com", email_verified: true })).allow).toBe(true);
    expect(evaluate(only({ emailDomain: ["example.org", "example.net"] }), BOB).allow).toBe(true);
    expect(evaluate(only({ emailDomain: "example.com" }), who({ email: "alice@mail.example.com", email_verified: true }))).toEqual({ allow: false, reason: "not_included" });
    expect(evaluate(only({ emailDomain: "example.com" }), who({ email: "alice@example.com.evil.net", email_verified: true }))).toEqual({ allow: false, reason: "not_included" });
    expect(evaluate(only({ emailDomain: "example.com" }), who({ email: "notexample.com", email_verified: true }))).toEqual({ allow: false, reason: "claims_missing", rule: "include[0]" });
    expect(evaluate(only({ emailDomain: "example.com" }), BARE)).toEqual({ allow: false, reason: "claims_missing", rule: "include[0]" });
  });
});
