// Key rotation as a pure step over the key set: create the first key, publish the next key a lead
// time before it signs, mark superseded keys, and drop them once no live token can need them.
// Running it twice at the same instant changes nothing.
import { signingKey, statusAt, SIGNING_ALGS, type KeySet, type SigningAlg, type StoredKey } from "./keyset";

export interface RotationPolicy {
  /** How long a key signs before the next one takes over. */
  readonly periodMs: number;
  /** How long a new key is published before it signs (verifiers refetch their JWKS meanwhile). */
  readonly leadMs: number;
  /** Extra time a superseded key stays published beyond the longest token it signed. */
  readonly retireMarginMs: number;
  /** The longest lifetime of anything it signs (ID tokens). */
  readonly maxTokenLifetimeMs: number;
}

export type KeyMaker = (alg: SigningAlg, activatesAt: number, now: number) => Promise<StoredKey>;

export interface RotationResult {
  readonly set: KeySet;
  /** Human-readable changes, empty when nothing changed. */
  readonly changes: readonly string[];
}

const time = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();

/** One rotation step at `now` for the algorithms in `needed` (other algorithms only age out). */
export async function rotateKeySet(current: KeySet | null, now: number, policy: RotationPolicy, needed: readonly SigningAlg[], makeKey: KeyMaker): Promise<RotationResult> {
  let keys: StoredKey[] = [...(current?.keys ?? [])];
  const changes: string[] = [];
  const set = () => ({ version: 1 as const, revision: current?.revision ?? 0, updatedAt: current?.updatedAt ?? iso(now), keys });

  for (const alg of SIGNING_ALGS) {
    if (!needed.includes(alg)) continue;
    const active = signingKey(set(), alg, now);
    if (!active) {
      const key = await makeKey(alg, now, now);
      keys.push(key);
      changes.push(`created ${alg} key ${key.kid}, signing now`);
      continue;
    }
    const pending = keys.some((k) => k.alg === alg && time(k.activatesAt) > now);
    const due = time(active.activatesAt) + policy.periodMs;
    if (!pending && due - policy.leadMs <= now) {
      const activatesAt = Math.max(due, now + policy.leadMs);
      const key = await makeKey(alg, activatesAt, now);
      keys.push(key);
      changes.push(`created ${alg} key ${key.kid}, published now, signing from ${iso(activatesAt)}`);
    }
  }

  // supersededAt: when the next key of the same algorithm took over (only once that has happened).
  keys = keys.map((k) => {
    const successor = keys
      .filter((s) => s.alg === k.alg && time(s.activatesAt) > time(k.activatesAt) && time(s.activatesAt) <= now)
      .sort((a, b) => time(a.activatesAt) - time(b.activatesAt))[0];
    const supersededAt = successor?.activatesAt;
    return supersededAt === k.supersededAt ? k : { ...k, supersededAt };
  });

  // Drop keys no token can need any more: superseded longer ago than a token lives, plus the margin.
  const keep = (k: StoredKey) => k.supersededAt === undefined || time(k.supersededAt) + policy.maxTokenLifetimeMs + policy.retireMarginMs > now;
  for (const k of keys.filter((k) => !keep(k))) changes.push(`dropped ${k.alg} key ${k.kid} (superseded ${k.supersededAt})`);
  keys = keys.filter(keep);

  // Refresh the stored status.
  const snapshot = set();
  keys = keys.map((k) => {
    const status = statusAt(snapshot, k, now);
    if (status === k.status) return k;
    changes.push(`${k.alg} key ${k.kid}: ${k.status} -> ${status}`);
    return { ...k, status };
  });

  if (changes.length === 0 && current) return { set: current, changes };
  return { set: { version: 1, revision: (current?.revision ?? 0) + 1, updatedAt: iso(now), keys }, changes };
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
