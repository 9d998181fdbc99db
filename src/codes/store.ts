// One-time values in a SQLite-backed Durable Object: strongly consistent, so an authorization code can
// be taken exactly once (RFC 6749 4.1.2: single use; only its SHA-256 is stored), and the state sent
// through Discord completes exactly one callback (its id is claimed before any Discord call).
// A login costs three DO requests: `claimState` and `put` at /callback, `redeem` at /token, which also
// records the completed login in the ledger (src/ledger/) in the same request.
// It also keeps the self-check's global gate (`doctorGate`, `doctorSave`): one real run per
// configuration per DOCTOR_TTL, whichever isolate or location asks (src/doctor/cache.ts).
import { DurableObject } from "cloudflare:workers";
import { proofMatches, type VerifierProof } from "../checks/pkce";
import type { PassedRule } from "../guilds/gate";
import { checkPageRequest, createLedger, listLedger, recordLogin, type LedgerPage } from "../ledger/ledger";
import type { UserClaims } from "../tokens/claims";
import { randomToken, sha256Base64url } from "./random";

/** Lifetime of our authorization codes (RFC 6749 4.1.2 recommends at most 10 minutes; we use 60 s). */
export const CODE_TTL_SECONDS = 60;

/** Everything a code is bound to. */
export interface CodeGrant {
  readonly clientId: string;
  readonly redirectUri: string;
  readonly scope: string;
  readonly nonce?: string | undefined;
  readonly codeChallenge?: string | undefined;
  /** The Discord user id (our `sub`). */
  readonly sub: string;
  /** Seconds since epoch when Discord authenticated the user. */
  readonly authTime: number;
  /** User claims captured at /callback, already filtered by scope. */
  readonly claims: UserClaims;
  /** The entries of the client's guild or role rule the user met (absent in codes from before the ledger). */
  readonly rule?: PassedRule | undefined;
}

/** What /token brings to redeem a code: the login completes only if it matches what the code is bound to. */
export interface Redemption {
  /** The authenticated client. */
  readonly clientId: string;
  readonly redirectUri: string;
  readonly verifier: VerifierProof;
  /** The client's sessionHours: how long its ledger entry lasts. */
  readonly sessionHours: number;
}

/** Would /token accept this grant for this redemption? The same checks, in the same terms, as token.ts. */
export function completes(grant: CodeGrant, r: Redemption): boolean {
  return grant.clientId === r.clientId && grant.redirectUri === r.redirectUri && proofMatches(r.verifier, grant.codeChallenge);
}

export class CodeStore extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS codes (hash TEXT PRIMARY KEY, grant TEXT NOT NULL, expires_at INTEGER NOT NULL)");
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS states (id TEXT PRIMARY KEY, expires_at INTEGER NOT NULL)");
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS doctor (fingerprint TEXT PRIMARY KEY, started_at INTEGER NOT NULL, result TEXT)");
    createLedger(ctx.storage.sql);
  }

  /**
   * May a self-check of configuration `fingerprint` run now? Yes (and it is recorded as started) when
   * none started in the last `ttlMs`; otherwise the last stored result (null while the first runs).
   */
  doctorGate(fingerprint: string, ttlMs: number): { run: true } | { run: false; result: string | null } {
    const sql = this.ctx.storage.sql;
    const now = Date.now();
    sql.exec("DELETE FROM doctor WHERE started_at < ?", now - 86_400_000);
    const row = sql.exec<{ started_at: number; result: string | null }>("SELECT started_at, result FROM doctor WHERE fingerprint = ?", fingerprint).toArray()[0];
    if (row && row.started_at > now - ttlMs) return { run: false, result: row.result };
    sql.exec("INSERT INTO doctor (fingerprint, started_at, result) VALUES (?, ?, ?) ON CONFLICT (fingerprint) DO UPDATE SET started_at = excluded.started_at", fingerprint, now, row?.result ?? null);
    return { run: true };
  }

  /** The result of the self-check run the gate let through. */
  doctorSave(fingerprint: string, result: string): void {
    this.ctx.storage.sql.exec("UPDATE doctor SET result = ? WHERE fingerprint = ?", result, fingerprint);
  }

  /** Record a state's id as used; false when it was used before. Kept until the state expires. */
  claimState(id: string, expiresAt: number): boolean {
    const sql = this.ctx.storage.sql;
    sql.exec("DELETE FROM states WHERE expires_at < ?", Date.now());
    return sql.exec("INSERT INTO states (id, expires_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING RETURNING id", id, expiresAt).toArray().length === 1;
  }

  put(hash: string, grant: string, expiresAt: number): void {
    const sql = this.ctx.storage.sql;
    sql.exec("DELETE FROM codes WHERE expires_at < ?", Date.now());
    sql.exec("INSERT INTO codes (hash, grant, expires_at) VALUES (?, ?, ?)", hash, grant, expiresAt);
  }

  /**
   * Atomically remove and return a live code's grant; null when unknown, already taken or expired.
   * When the redemption matches the grant (the login completes), the ledger records it in the same
   * transaction: no further Durable Object request.
   */
  redeem(hash: string, redemption: Redemption): string | null {
    const sql = this.ctx.storage.sql;
    return this.ctx.storage.transactionSync(() => {
      const now = Date.now();
      const row = sql.exec<{ grant: string; expires_at: number }>("DELETE FROM codes WHERE hash = ? RETURNING grant, expires_at", hash).toArray()[0];
      if (!row || row.expires_at < now) return null;
      const grant = JSON.parse(row.grant) as CodeGrant;
      if (completes(grant, redemption)) {
        recordLogin(sql, {
          clientId: grant.clientId,
          discordId: grant.sub,
          sub: grant.sub,
          email: typeof grant.claims.email === "string" ? grant.claims.email : null,
          rule: grant.rule ?? "none",
          recordedAt: now,
          expiresAt: now + redemption.sessionHours * 3_600_000,
        }, now);
      }
      return row.grant;
    });
  }

  /** One page of the login ledger's live entries, for the de-provisioning job (src/ledger/ledger.ts). */
  listLedger(cursor: string | null, limit: number): LedgerPage {
    return listLedger(this.ctx.storage.sql, cursor, limit, Date.now());
  }
}

function stub(env: Env): DurableObjectStub<CodeStore> {
  return env.CODES.getByName("codes");
}

/** Create a code for `grant`; returns the code to hand to the client. */
export async function issueCode(env: Env, grant: CodeGrant): Promise<string> {
  const code = randomToken(32);
  await stub(env).put(await sha256Base64url(code), JSON.stringify(grant), Date.now() + CODE_TTL_SECONDS * 1000);
  return code;
}

/** Claim the state with id `id` (valid until `expiresAt`, ms) for one callback; false when already claimed. */
export function claimState(env: Env, id: string, expiresAt: number): Promise<boolean> {
  return stub(env).claimState(id, expiresAt);
}

/**
 * Take a code once. Unknown, replayed and expired codes all return null. A code that `completes` the
 * redemption is recorded in the login ledger by the same Durable Object request.
 */
export async function redeemCode(env: Env, code: string, redemption: Redemption): Promise<CodeGrant | null> {
  const grant = await stub(env).redeem(await sha256Base64url(code), redemption);
  return grant === null ? null : (JSON.parse(grant) as CodeGrant);
}

/** One page of the login ledger (null cursor: the first page); rejects a bad cursor or limit before asking. */
export async function ledgerPage(env: Env, cursor: string | null, limit: number): Promise<LedgerPage> {
  checkPageRequest(cursor, limit);
  return stub(env).listLedger(cursor, limit);
}
