// Key rotation as a pure step over the key set: create the first key, publish the next key a lead
// time before it is used, mark superseded keys, and drop them once no live token can need them. The
// signing keys of each algorithm and the sealing keys follow the same timeline.
// Running it twice at the same instant changes nothing.
import { activeAt, createSealingKey, statusAt, SIGNING_ALGS, type KeySet, type SealingKey, type SigningAlg, type StoredKey } from "./keyset";

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
}

const time = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();

interface Timed {
  readonly kid: string;
  readonly activatesAt: string;
  readonly supersededAt?: string | undefined;
}

/**
 * One key's timeline: a first key in use at once, the next one published a lead time before it takes
 * over, and superseded ones kept as long as something they made can still be presented.
 */
async function stepTimeline<T extends Timed>(items: readonly T[], label: string, now: number, policy: RotationPolicy, make: ((activatesAt: number) => Promise<T>) | undefined, changes: string[]): Promise<T[]> {
  let keys = [...items];
  const active = activeAt(keys, now);
  if (make && !active) {
    const key = await make(now);
    keys.push(key);
    changes.push(`created ${label} key ${key.kid}, in use now`);
  } else if (make && active) {
    const pending = keys.some((k) => time(k.activatesAt) > now);
    const due = time(active.activatesAt) + policy.periodMs;
    if (!pending && due - policy.leadMs <= now) {
      const activatesAt = Math.max(due, now + policy.leadMs);
      const key = await make(activatesAt);
      keys.push(key);
      changes.push(`created ${label} key ${key.kid}, published now, in use from ${iso(activatesAt)}`);
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
 */
export async function rotateKeySet(current: KeySet | null, now: number, policy: RotationPolicy, needed: readonly SigningAlg[], makeKey: KeyMaker, makeSealingKey: SealingKeyMaker = createSealingKey): Promise<RotationResult> {
  const changes: string[] = [];
  let keys: StoredKey[] = [];
  for (const alg of SIGNING_ALGS) {
    const mine = (current?.keys ?? []).filter((k) => k.alg === alg);
    const make = needed.includes(alg) ? (activatesAt: number) => makeKey(alg, activatesAt, now) : undefined;
    keys.push(...(await stepTimeline(mine, alg, now, policy, make, changes)));
  }
  const sealingKeys = await stepTimeline(current?.sealingKeys ?? [], "sealing", now, policy, async (activatesAt) => makeSealingKey(activatesAt, now), changes);

  // Refresh the stored status.
  const snapshot: KeySet = { version: 1, revision: 0, updatedAt: iso(now), keys };
  keys = keys.map((k) => {
    const status = statusAt(snapshot, k, now);
    if (status === k.status) return k;
    changes.push(`${k.alg} key ${k.kid}: ${k.status} -> ${status}`);
    return { ...k, status };
  });

  if (changes.length === 0 && current) return { set: current, changes };
  return { set: { version: 1, revision: (current?.revision ?? 0) + 1, updatedAt: iso(now), keys, sealingKeys }, changes };
}

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
