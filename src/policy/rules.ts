// Policies with the shape Cloudflare Access users know: `include` (any), `require` (all), `exclude`
// (none), over predicates on a DiscordIdentity. Plain JSON in and out, so an app can keep its rules in
// config; every decision carries a stable reason. A predicate whose claim is absent from the token
// is "unknown", never "no": a policy that needs a missing claim refuses with `claims_missing`.
import { PolicyConfigError } from "./errors.js";
import type { DiscordIdentity } from "./identity.js";

type OneOrMany = string | readonly string[];

export type Predicate =
  /** Anyone with a verified token. */
  | { readonly everyone: true }
  /** Member of (any of) these guild ids. */
  | { readonly guild: OneOrMany }
  /** Holds (any of) these roles: "<guildId>:<roleId>". */
  | { readonly role: OneOrMany }
  /** In (any of) these entries of the bridge's `groups` claim (aliases such as "moderators"). */
  | { readonly group: OneOrMany }
  /** One of these Discord user ids. */
  | { readonly user: OneOrMany }
  /** An email address at one of these domains. */
  | { readonly emailDomain: OneOrMany };

export interface Policy {
  readonly include: readonly Predicate[];
  readonly require?: readonly Predicate[];
  readonly exclude?: readonly Predicate[];
}

export type DecisionReason = "allowed" | "not_included" | "require_failed" | "excluded" | "claims_missing";

export interface Decision {
  readonly allow: boolean;
  readonly reason: DecisionReason;
  /** The rule that decided, e.g. "require[1]" (absent when no single rule did). */
  readonly rule?: string;
}

type Tri = true | false | "unknown";
const KINDS = ["everyone", "guild", "role", "group", "user", "emailDomain"] as const;
const SNOWFLAKE = /^\d{1,20}$/;

const list = (v: OneOrMany): readonly string[] => (typeof v === "string" ? [v] : v);

/** true if any is true, else "unknown" if any is unknown, else false. */
function any(entries: readonly string[], one: (entry: string) => Tri): Tri {
  let result: Tri = false;
  for (const entry of entries) {
    const r = one(entry);
    if (r === true) return true;
    if (r === "unknown") result = "unknown";
  }
  return result;
}

/** "<guildId>:<roleId>": from roles:<guildId>, else the bridge's groups (a listed role is held). */
function hasRole(entry: string, id: DiscordIdentity): Tri {
  const [guild = "", role = ""] = entry.split(":");
  const roles = id.roles[guild];
  if (roles !== undefined) return roles.includes(role);
  if (id.groups?.includes(entry)) return true;
  // Not a member at all: certainly not the role. A member without roles:<guildId> in the token: unknown.
  const guilds = id.guilds ?? id.groups;
  if (guilds !== undefined && !guilds.includes(guild)) return false;
  return "unknown";
}

function test(p: Predicate, id: DiscordIdentity): Tri {
  if ("everyone" in p) return true;
  if ("guild" in p) {
    const known = id.guilds ?? id.groups;
    return known === undefined ? "unknown" : list(p.guild).some((g) => known.includes(g));
  }
  if ("role" in p) return any(list(p.role), (entry) => hasRole(entry, id));
  if ("group" in p) return id.groups === undefined ? "unknown" : list(p.group).some((g) => id.groups?.includes(g));
  if ("user" in p) return id.userId === undefined ? "unknown" : list(p.user).includes(id.userId);
  // Only an address the token calls verified says anything about its domain (the identity has no
  // other): anyone can type any address into Discord, and an Access token carries email_verified
  // only when it is listed there.
  const email = id.email?.toLowerCase();
  if (email === undefined || !email.includes("@")) return "unknown";
  const domain = email.slice(email.lastIndexOf("@") + 1);
  return list(p.emailDomain).some((d) => d.toLowerCase() === domain);
}

export function evaluate(policy: Policy, identity: DiscordIdentity): Decision {
  for (const [i, p] of (policy.exclude ?? []).entries()) {
    const r = test(p, identity);
    if (r === true) return { allow: false, reason: "excluded", rule: `exclude[${i}]` };
    if (r === "unknown") return { allow: false, reason: "claims_missing", rule: `exclude[${i}]` };
  }
  for (const [i, p] of (policy.require ?? []).entries()) {
    const r = test(p, identity);
    if (r === false) return { allow: false, reason: "require_failed", rule: `require[${i}]` };
    if (r === "unknown") return { allow: false, reason: "claims_missing", rule: `require[${i}]` };
  }
  let missing: string | undefined;
  for (const [i, p] of policy.include.entries()) {
    const r = test(p, identity);
    if (r === true) return { allow: true, reason: "allowed", rule: `include[${i}]` };
    if (r === "unknown") missing ??= `include[${i}]`;
  }
  return missing ? { allow: false, reason: "claims_missing", rule: missing } : { allow: false, reason: "not_included" };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function parseValues(v: unknown, path: string, pattern: RegExp | undefined, what: string): OneOrMany {
  const values = typeof v === "string" ? [v] : v;
  if (!Array.isArray(values) || values.length === 0) throw new PolicyConfigError(path, `must be ${what} or a non-empty array of them`);
  values.forEach((x, i) => {
    if (typeof x !== "string" || x === "" || (pattern && !pattern.test(x))) throw new PolicyConfigError(Array.isArray(v) ? `${path}[${i}]` : path, `must be ${what}`);
  });
  return typeof v === "string" ? v : [...(values as string[])];
}

function parsePredicate(raw: unknown, path: string): Predicate {
  if (!isRecord(raw)) throw new PolicyConfigError(path, `must be an object with one of: ${KINDS.join(", ")}`);
  const keys = Object.keys(raw);
  const [kind] = keys;
  if (keys.length !== 1 || !KINDS.includes(kind as (typeof KINDS)[number])) {
    throw new PolicyConfigError(path, `must have exactly one of: ${KINDS.join(", ")} (found ${keys.join(", ") || "none"})`);
  }
  const value = raw[kind as string];
  switch (kind as (typeof KINDS)[number]) {
    case "everyone":
      if (value !== true) throw new PolicyConfigError(`${path}.everyone`, "must be true");
      return { everyone: true };
    case "guild":
      return { guild: parseValues(value, `${path}.guild`, SNOWFLAKE, "a Discord guild id") };
    case "role":
      return { role: parseValues(value, `${path}.role`, /^\d{1,20}:\d{1,20}$/, '"<guildId>:<roleId>"') };
    case "group":
      return { group: parseValues(value, `${path}.group`, undefined, "a group name") };
    case "user":
      return { user: parseValues(value, `${path}.user`, SNOWFLAKE, "a Discord user id") };
    case "emailDomain":
      return { emailDomain: parseValues(value, `${path}.emailDomain`, /^[a-z0-9-]+(\.[a-z0-9-]+)+$/i, "an exact domain like example.com (no wildcard; subdomains are not included)") };
  }
}

function parseList(raw: unknown, path: string, required: boolean): Predicate[] | undefined {
  if (raw === undefined && !required) return undefined;
  if (!Array.isArray(raw) || (required && raw.length === 0)) throw new PolicyConfigError(path, required ? "must be a non-empty array of rules (who may come in)" : "must be an array of rules");
  return raw.map((p, i) => parsePredicate(p, `${path}[${i}]`));
}

/** Check a policy (e.g. parsed from JSON config) once, naming the bad part; returns it typed. */
export function parsePolicy(raw: unknown): Policy {
  if (!isRecord(raw)) throw new PolicyConfigError("policy", 'must be an object like {"include": [{"group": "moderators"}]}');
  for (const key of Object.keys(raw)) {
    if (!["include", "require", "exclude"].includes(key)) throw new PolicyConfigError(`policy.${key}`, "is not a known field (include, require, exclude)");
  }
  const include = parseList(raw.include, "policy.include", true) ?? [];
  const require = parseList(raw.require, "policy.require", false);
  const exclude = parseList(raw.exclude, "policy.exclude", false);
  return { include, ...(require && { require }), ...(exclude && { exclude }) };
}
