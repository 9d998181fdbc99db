// The login ledger: each user's last completed login to each client (README "Login ledger"), one row per
// (client, Discord id) in the CodeStore Durable Object's SQLite, kept for the client's sessionHours. It
// prepares live de-provisioning: a later job pages through it (`listLedger`) and re-checks each user.
// Bounded three ways: a re-login updates its row, expired rows are swept a few at a time on each write,
// and past LEDGER_MAX_ROWS the rows closest to expiry (mostly the oldest) are evicted. Never a token,
// code or secret.
import type { PassedRule } from "../guilds/gate";

/** At most this many rows (about 200 bytes each); beyond it the rows closest to expiry go first. */
export const LEDGER_MAX_ROWS = 20_000;
/** Expired rows deleted per write, at most: more than one, so the sweep outpaces new rows. */
export const LEDGER_SWEEP_ROWS = 50;
/** The largest page `listLedger` returns. */
export const LEDGER_PAGE_MAX = 1000;

export interface LedgerEntry {
  readonly clientId: string;
  /** The Discord user id. */
  readonly discordId: string;
  /** The identity the client received: `sub`, and `email` when the ID token carried one. */
  readonly sub: string;
  readonly email: string | null;
  /** The entries of the client's guild or role rule the user met. */
  readonly rule: PassedRule;
  /** Milliseconds since epoch: the last completed login, and when its entry lapses. */
  readonly recordedAt: number;
  readonly expiresAt: number;
}

export interface LedgerPage {
  readonly entries: LedgerEntry[];
  /** Hand back to `listLedger` for the next page; null after the last one. */
  readonly cursor: string | null;
}

interface Row extends Record<string, SqlStorageValue> {
  client_id: string;
  discord_id: string;
  sub: string;
  email: string | null;
  rule: string;
  recorded_at: number;
  expires_at: number;
}

/** Create the tables (idempotent; the Durable Object's constructor calls it). */
export function createLedger(sql: SqlStorage): void {
  sql.exec(
    "CREATE TABLE IF NOT EXISTS ledger (client_id TEXT NOT NULL, discord_id TEXT NOT NULL, sub TEXT NOT NULL, email TEXT, rule TEXT NOT NULL, " +
      "recorded_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, PRIMARY KEY (client_id, discord_id))",
  );
  sql.exec("CREATE INDEX IF NOT EXISTS ledger_expires ON ledger (expires_at)");
  // The row count, kept by every write here: counting 20,000 rows per login would cost 20,000 rows read.
  sql.exec("CREATE TABLE IF NOT EXISTS ledger_size (id INTEGER PRIMARY KEY CHECK (id = 1), rows INTEGER NOT NULL)");
}

/** How many rows the ledger holds (its counter; expired rows not yet swept included). */
export function ledgerSize(sql: SqlStorage): number {
  return sql.exec<{ rows: number }>("SELECT rows FROM ledger_size WHERE id = 1").toArray()[0]?.rows ?? 0;
}

/**
 * Record a completed login: insert, or update the user's row for this client (a re-login), then sweep
 * up to LEDGER_SWEEP_ROWS expired rows and evict beyond `cap`. Call it inside a transaction.
 */
export function recordLogin(sql: SqlStorage, entry: LedgerEntry, now: number, cap = LEDGER_MAX_ROWS): void {
  const values = [entry.sub, entry.email, JSON.stringify(entry.rule), entry.recordedAt, entry.expiresAt] as const;
  const inserted =
    sql.exec(
      "INSERT INTO ledger (client_id, discord_id, sub, email, rule, recorded_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING 1",
      entry.clientId, entry.discordId, ...values,
    ).toArray().length === 1;
  if (!inserted) {
    sql.exec("UPDATE ledger SET sub = ?, email = ?, rule = ?, recorded_at = ?, expires_at = ? WHERE client_id = ? AND discord_id = ?", ...values, entry.clientId, entry.discordId);
  }
  const before = ledgerSize(sql);
  let rows = before + (inserted ? 1 : 0);
  rows -= deleteFirst(sql, "expires_at < ?", [now], LEDGER_SWEEP_ROWS);
  // Never the row just written: the login it records is the newest.
  if (rows > cap) rows -= deleteFirst(sql, "NOT (client_id = ? AND discord_id = ?)", [entry.clientId, entry.discordId], rows - cap);
  if (rows !== before) sql.exec("INSERT INTO ledger_size (id, rows) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET rows = excluded.rows", rows);
}

/** Delete up to `limit` rows matching `where`, those closest to expiry first; how many went. */
function deleteFirst(sql: SqlStorage, where: string, args: SqlStorageValue[], limit: number): number {
  return sql.exec(`DELETE FROM ledger WHERE rowid IN (SELECT rowid FROM ledger WHERE ${where} ORDER BY expires_at LIMIT ?) RETURNING 1`, ...args, limit).toArray().length;
}

/**
 * One page of live entries (not expired at `now`), in (client, Discord id) order, after `cursor`.
 * Paging from null to a null cursor returns every entry that lived throughout exactly once, even while
 * logins update rows (a row's key never changes).
 */
export function listLedger(sql: SqlStorage, cursor: string | null, limit: number, now: number): LedgerPage {
  const after = checkPageRequest(cursor, limit);
  const rows = sql
    .exec<Row>(
      `SELECT client_id, discord_id, sub, email, rule, recorded_at, expires_at FROM ledger WHERE expires_at >= ?${after ? " AND (client_id, discord_id) > (?, ?)" : ""} ORDER BY client_id, discord_id LIMIT ?`,
      now, ...(after ?? []), limit,
    )
    .toArray();
  const entries = rows.map((r) => ({
    clientId: r.client_id,
    discordId: r.discord_id,
    sub: r.sub,
    email: r.email,
    rule: JSON.parse(r.rule) as PassedRule,
    recordedAt: r.recorded_at,
    expiresAt: r.expires_at,
  }));
  const last = entries.at(-1);
  return { entries, cursor: entries.length === limit && last ? JSON.stringify([last.clientId, last.discordId]) : null };
}

/** The key a page starts after (null: the first page); a RangeError for a limit out of range or a cursor not made here. */
export function checkPageRequest(cursor: string | null, limit: number): [string, string] | null {
  if (!Number.isInteger(limit) || limit < 1 || limit > LEDGER_PAGE_MAX) throw new RangeError(`limit must be a whole number from 1 to ${LEDGER_PAGE_MAX}`);
  return cursor === null ? null : parseCursor(cursor);
}

function parseCursor(cursor: string): [string, string] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(cursor);
  } catch {
    parsed = undefined;
  }
  if (!Array.isArray(parsed) || parsed.length !== 2 || typeof parsed[0] !== "string" || typeof parsed[1] !== "string") {
    throw new RangeError("the ledger cursor is not one listLedger returned");
  }
  return [parsed[0], parsed[1]];
}
