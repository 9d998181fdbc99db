// Key rotation as a pure step over the key set: create the first key, publish the next key a lead
// time before it is used, mark superseded keys, and drop them once no live token can need them. The
// signing keys of each algorithm and the sealing keys follow the same timeline. Keys of the algorithms
// made ahead of time (RS256) are taken from the set's reserve instead of being made here.
// Running it twice at the same instant changes nothing.
import { activeAt, createKey, createSealingKey, MADE_AHEAD, publish, statusAt, SIGNING_ALGS, type KeySet, type ReserveKey, type SealingKey, type SigningAlg, type StoredKey } from "./keyset";

export interface RotationPolicy {
  /** How long a key signs before the next one takes over. */
  readonly periodMs: number;
  /** How long a new key is published before it signs (verifiers refetch their JWKS meanwhile). */
  readonly leadMs: number;
  /** Extra time a superseded key stays published beyond the longest token it signed. */
  readonly retireMarginMs: number;
  /** The longest lifetime of anything a key signs or seals (ID tokens, access tokens, login state). */
  readonly maxTokenLifetimeMs: number;
}

export type KeyMaker = (alg: SigningAlg, activatesAt: number, now: number) => Promise<StoredKey>;
export type SealingKeyMaker = (activatesAt: number, now: number) => SealingKey;

export interface RotationResult {
  readonly set: KeySet;
  /** Human-readable changes, empty when nothing changed. */
  readonly changes: readonly string[];
  /** What the operator must do (an empty reserve), empty when all is well. */
  readonly warnings: readonly string[];
}

/** What to run to refill the reserve of the deployed bridge. */
export const STOCK_COMMAND = "npm run keys -- stock --remote";

const time = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();

/** A key for the timeline (made now, or taken from the reserve), or undefined when there is none. */
type Maker<T> = (activatesAt: number) => Promise<{ key: T; verb: string } | undefined>;

interface Timed {
  readonly kid: string;
  readonly activatesAt: string;
  readonly supersededAt?: string | undefined;
}

/**
 * One key's timeline: a first key in use at once, the next one published a lead time before it takes
 * over, and superseded ones kept as long as something they made can still be presented.
 */
async function stepTimeline<T extends Timed>(items: readonly T[], label: string, now: number, policy: RotationPolicy, make: Maker<T> | undefined, changes: string[]): Promise<T[]> {
  let keys = [...items];
  const active = activeAt(keys, now);
  if (make && !active) {
    const made = await make(now);
    if (made) {
      keys.push(made.key);
      changes.push(`${made.verb} ${label} key ${made.key.kid}, in use now`);
    }
  } else if (make && active) {
    const pending = keys.some((k) => time(k.activatesAt) > now);
    const due = time(active.activatesAt) + policy.periodMs;
    if (!pending && due - policy.leadMs <= now) {
      const activatesAt = Math.max(due, now + policy.leadMs);
      const made = await make(activatesAt);
      if (made) {
        keys.push(made.key);
        changes.push(`${made.verb} ${label} key ${made.key.kid}, published now, in use from ${iso(activatesAt)}`);
      }
    }
  }

  // supersededAt: when the next key took over (only once that has happened).
  keys = keys.map((k) => {
    const successor = keys
      .filter((s) => time(s.activatesAt) > time(k.activatesAt) && time(s.activatesAt) <= now)
      .sort((a, b) => time(a.activatesAt) - time(b.activatesAt))[0];
    const supersededAt = successor?.activatesAt;
    return supersededAt === k.supersededAt ? k : { ...k, supersededAt };
  });

  // Drop keys nothing can need any more: superseded longer ago than a token lives, plus the margin.
  const keep = (k: T) => k.supersededAt === undefined || time(k.supersededAt) + policy.maxTokenLifetimeMs + policy.retireMarginMs > now;
  for (const k of keys.filter((k) => !keep(k))) changes.push(`dropped ${label} key ${k.kid} (superseded ${k.supersededAt})`);
  return keys.filter(keep);
}

/**
 * One rotation step at `now` for the signing algorithms in `needed` (other algorithms only age out)
 * and for the sealing keys (always needed). `policy.maxTokenLifetimeMs` must cover everything sealed too.
 * Algorithms in MADE_AHEAD take their next key from the reserve; with none left, the key in use keeps
 * signing past its period and a warning says how to refill it.
 */
export async function rotateKeySet(current: KeySet | null, now: number, policy: RotationPolicy, needed: readonly SigningAlg[] = SIGNING_ALGS, makeKey: KeyMaker = createKey, makeSealingKey: SealingKeyMaker = createSealingKey): Promise<RotationResult> {
  const changes: string[] = [];
  const warnings: string[] = [];
  let keys: StoredKey[] = [];
  let reserve = [...(current?.reserve ?? [])];
  for (const alg of SIGNING_ALGS) {
    const mine = (current?.keys ?? []).filter((k) => k.alg === alg);
    let make: Maker<StoredKey> | undefined;
    if (!needed.includes(alg)) make = undefined;
    else if (MADE_AHEAD.includes(alg)) {
      make = async (activatesAt) => {
        const next = reserve.find((k) => k.alg === alg);
        if (!next) {
          warnings.push(`no ${alg} key left in the reserve: ${activeAt(mine, now) ? `the ${alg} key in use keeps signing past its rotation period` : `${alg} clients cannot be signed for`}; run \`${STOCK_COMMAND}\``);
          return undefined;
        }
        reserve = reserve.filter((k) => k !== next);
        return { key: publish(next, activatesAt, now), verb: "took reserve" };
      };
    } else make = async (activatesAt) => ({ key: await makeKey(alg, activatesAt, now), verb: "created" });
    keys.push(...(await stepTimeline(mine, alg, now, policy, make, changes)));
  }
  for (const alg of MADE_AHEAD) {
    const active = activeAt(keys.filter((k) => k.alg === alg), now);
    const pending = keys.some((k) => k.alg === alg && time(k.activatesAt) > now);
    if (Number.isFinite(policy.periodMs) && needed.includes(alg) && active && !pending && warnings.length === 0 && !reserve.some((k) => k.alg === alg)) {
      warnings.push(`no ${alg} key left in the reserve for the rotation due ${iso(time(active.activatesAt) + policy.periodMs)}; run \`${STOCK_COMMAND}\``);
    }
  }
  const sealingKeys = await stepTimeline(current?.sealingKeys ?? [], "sealing", now, policy, async (activatesAt) => ({ key: makeSealingKey(activatesAt, now), verb: "created" }), changes);

  // Refresh the stored status.
  const snapshot: KeySet = { version: 1, revision: 0, updatedAt: iso(now), keys };
  keys = keys.map((k) => {
    const status = statusAt(snapshot, k, now);
    if (status === k.status) return k;
    changes.push(`${k.alg} key ${k.kid}: ${k.status} -> ${status}`);
    return { ...k, status };
  });

  if (changes.length === 0 && current) return { set: current, changes, warnings };
  return { set: { version: 1, revision: (current?.revision ?? 0) + 1, updatedAt: iso(now), keys, sealingKeys, ...(reserve.length > 0 && { reserve }) }, changes, warnings };
}

/** A key set with nothing in it yet. */
export function emptyKeySet(now: number): KeySet {
  return { version: 1, revision: 0, updatedAt: iso(now), keys: [] };
}

/**
 * What `npm run keys -- stock` leaves in an empty namespace: an RS256 key from `reserve`, an ES256 and a
 * sealing key in use from `now`, and the rest of `reserve` kept for the rotations to come.
 */
export async function stockedKeySet(reserve: readonly ReserveKey[], now: number): Promise<KeySet> {
  return (await rotateKeySet({ ...emptyKeySet(now), reserve }, now, FILL_ONLY)).set;
}

/**
 * A policy under which a step only puts in use what has no key in use (the KeyKeeper's answer to a
 * reader): nothing is due, nothing is dropped.
 */
export const FILL_ONLY: RotationPolicy = { periodMs: Infinity, leadMs: 0, retireMarginMs: Infinity, maxTokenLifetimeMs: Infinity };

const HOUR_MS = 3_600_000;

/** The rotation policy from config.json's `keys`, for tokens that live at most `maxTokenLifetimeSeconds`. */
export function rotationPolicy(keys: { rotationPeriodDays: number; leadTimeHours: number; retireMarginHours: number }, maxTokenLifetimeSeconds: number): RotationPolicy {
  return {
    periodMs: keys.rotationPeriodDays * 24 * HOUR_MS,
    leadMs: keys.leadTimeHours * HOUR_MS,
    retireMarginMs: keys.retireMarginHours * HOUR_MS,
    maxTokenLifetimeMs: maxTokenLifetimeSeconds * 1000,
  };
}
