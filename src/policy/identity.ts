// One normalised Discord identity out of a verified token: an Access application token (the bridge's
// claims copied by Access, at top level or nested in a custom-claims object) or a bridge ID token.
import type { JWTPayload } from "jose";

export interface DiscordIdentity {
  /** Which kind of token it came from. */
  readonly source: "access" | "bridge";
  /** The Discord user id (the bridge's `id` claim; for bridge tokens also `sub`). */
  readonly userId: string | undefined;
  /** The Discord username (`preferred_username`). */
  readonly username: string | undefined;
  /**
   * The email, only when the token says `email_verified: true`: an address nobody verified (or the
   * bridge's synthetic `<id>@<domain>`) is not an identity. The raw claim stays in `claims`.
   */
  readonly email: string | undefined;
  /** `email_verified` when the token says (the bridge sends false only for synthetic addresses). */
  readonly emailVerified: boolean | undefined;
  /** Guild ids (`guilds`); undefined when the claim is absent, [] when the user is in none. */
  readonly guilds: readonly string[] | undefined;
  /** Role ids per guild, from the `roles:<guildId>` claims present (a guild is missing when its claim is). */
  readonly roles: Readonly<Record<string, readonly string[]>>;
  /** The bridge's flat `groups` claim; undefined when absent. */
  readonly groups: readonly string[] | undefined;
  /** The verified payload, as it was. */
  readonly claims: JWTPayload;
}

/** Where Access may put the identity provider's claims in its application token, besides top level. */
const NESTED = ["custom", "oidc_fields"] as const;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The objects to look in, top level first. */
function homes(payload: JWTPayload): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [payload];
  for (const key of NESTED) {
    const nested = payload[key];
    if (isRecord(nested)) out.push(nested);
  }
  return out;
}

function find(payload: JWTPayload, name: string): unknown {
  for (const home of homes(payload)) if (name in home) return home[name];
  return undefined;
}

const asString = (v: unknown) => (typeof v === "string" && v !== "" ? v : undefined);
const asBoolean = (v: unknown) => (typeof v === "boolean" ? v : undefined);
/** A Discord id; anything else (say, another login method's `id`) is not one. */
const snowflake = (v: unknown) => (typeof v === "string" && /^\d{17,20}$/.test(v) ? v : undefined);

/** A lone string counts as a one-element list only when it cannot be several values run together. */
const ONE_VALUE = /^[A-Za-z0-9_.:-]{1,100}$/;

/** An array of strings (or one plain value); anything else, e.g. "a,b", reads as absent. */
function asStrings(v: unknown): string[] | undefined {
  if (typeof v === "string") return ONE_VALUE.test(v) ? [v] : undefined;
  if (Array.isArray(v) && v.every((x) => typeof x === "string")) return [...v];
  return undefined;
}

export function toIdentity(payload: JWTPayload, source: DiscordIdentity["source"]): DiscordIdentity {
  const roles: Record<string, readonly string[]> = {};
  for (const home of homes(payload)) {
    for (const [key, value] of Object.entries(home)) {
      const match = /^roles:(\d{1,20})$/.exec(key);
      const list = asStrings(value);
      if (match?.[1] && list && !(match[1] in roles)) roles[match[1]] = list;
    }
  }
  const emailVerified = asBoolean(find(payload, "email_verified"));
  return {
    source,
    userId: snowflake(find(payload, "id")) ?? (source === "bridge" ? snowflake(payload.sub) : undefined),
    username: asString(find(payload, "preferred_username")),
    email: emailVerified === true ? asString(find(payload, "email")) : undefined,
    emailVerified,
    guilds: asStrings(find(payload, "guilds")),
    roles,
    groups: asStrings(find(payload, "groups")),
    claims: payload,
  };
}
