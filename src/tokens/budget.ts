// The claim budget. Cloudflare Access keeps the login's identity in a cookie, and browsers drop
// cookies over about 4 KB, so the ID token must stay well inside that: 3,000 bytes leaves room for
// Access's own fields. Tokens over the budget are still issued (refusing would lock people out),
// but logged; `npm run check` and the Worker's start-up log warn when a configuration can exceed it.
import type { BridgeConfig, ClientConfig, GuildConfig } from "../config";
import { guildClaims, type Membership } from "../guilds/membership";
import type { SigningAlg } from "../keys/keyset";
import { claimsFor } from "./claims";

export const ID_TOKEN_BUDGET_BYTES = 3000;

/** The heavy user the estimate assumes: in 200 guilds (the most Discord lists), 10 roles in each role guild. */
export const HEAVY_USER = { guilds: 200, rolesPerGuild: 10 } as const;

export function overBudget(idToken: string): boolean {
  return idToken.length > ID_TOKEN_BUDGET_BYTES;
}

const SIGNATURE_CHARS: Readonly<Record<SigningAlg, number>> = { ES256: 86, RS256: 342 };
const base64urlLength = (bytes: number) => Math.ceil((bytes * 4) / 3);
/** A 19-digit snowflake, as Discord issues them today. */
const snowflake = (n: number) => `1${String(n).padStart(18, "0")}`;

/**
 * The payload bytes a heavy user's ID token has with every scope, except the client id in `aud`:
 * profile and email claims at generous lengths, every included guild (or 200 when there is no
 * `guilds.include`), and 10 roles in each role guild. Built with the claim functions the Worker uses.
 */
function heavyPayloadBytes(guilds: GuildConfig, issuer: string): number {
  const configured = [...guilds.roleGuilds, ...Object.values(guilds.groups).map((a) => a.guild)];
  const listed = guilds.include ?? Array.from({ length: HEAVY_USER.guilds }, (_, i) => snowflake(i));
  const guildIds = [...new Set([...listed, ...configured])];
  const roles: Record<string, string[]> = {};
  for (const g of guilds.roleGuilds) roles[g] = Array.from({ length: HEAVY_USER.rolesPerGuild }, (_, i) => snowflake(900_000 + i));
  const membership: Membership = { guildIds, roles };
  const user = { id: snowflake(1), username: "u".repeat(32), global_name: "n".repeat(32), avatar: `a_${"0".repeat(32)}`, email: `${"e".repeat(52)}@example.com`, verified: true };
  const now = 2_000_000_000;
  const payload = {
    ...claimsFor(user, ["openid", "profile", "email", "guilds"], { syntheticEmailDomain: undefined }),
    ...guildClaims(membership, guilds),
    auth_time: now, nonce: "x".repeat(43), iss: issuer, sub: user.id, aud: "", iat: now, exp: now,
  };
  return utf8Length(payload);
}

const utf8Length = (v: unknown) => new TextEncoder().encode(JSON.stringify(v)).length;

/** The whole token: header, payload with `aud` = the client id (plain ASCII, no JSON escaping), signature. */
function tokenBytes(payloadWithoutAud: number, client: ClientConfig): number {
  const header = { alg: client.idTokenSigningAlg, kid: "k".repeat(43), typ: "JWT" };
  const payload = payloadWithoutAud + client.clientId.length;
  return base64urlLength(utf8Length(header)) + 1 + base64urlLength(payload) + 1 + SIGNATURE_CHARS[client.idTokenSigningAlg];
}

const DEFAULT_ISSUER = "https://discord-oidc-bridge.example.workers.dev";

/** The size of the ID token a heavy user would get from `client` (exact arithmetic, see heavyPayloadBytes). */
export function heavyIdTokenBytes(guilds: GuildConfig, client: ClientConfig, issuer = DEFAULT_ISSUER): number {
  return tokenBytes(heavyPayloadBytes(guilds, issuer), client);
}

/** A warning when some client's heavy users would get ID tokens over the budget; none otherwise. */
export function budgetWarnings(config: Pick<BridgeConfig, "guilds" | "clients" | "issuer">): string[] {
  // The heavy payload is the same for every client but for `aud`: build it once.
  const payload = heavyPayloadBytes(config.guilds, config.issuer ?? DEFAULT_ISSUER);
  const over = config.clients
    .map((client) => ({ client: client.clientId, bytes: tokenBytes(payload, client) }))
    .filter((c) => c.bytes > ID_TOKEN_BUDGET_BYTES);
  if (over.length === 0) return [];
  const largest = Math.max(...over.map((c) => c.bytes));
  const who = config.guilds.include ? "a user in every guild of guilds.include" : `a user in ${HEAVY_USER.guilds} guilds`;
  const fix = config.guilds.include ? "list fewer guilds in guilds.include or roleGuilds" : "set guilds.include to the guilds your access policies use";
  return [
    `with the guilds scope, ${who} with ${HEAVY_USER.rolesPerGuild} roles in each role guild gets an ID token of about ${largest} bytes ` +
      `(clients ${over.map((c) => c.client).join(", ")}), over the ${ID_TOKEN_BUDGET_BYTES}-byte budget: Cloudflare Access keeps the identity ` +
      `in a cookie of about 4 KB and may fail such logins. To fix it, ${fix}.`,
  ];
}
