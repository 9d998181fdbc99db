// The one writer of the key set in the Worker: a Durable Object, so concurrent first requests in
// different isolates all get the same key, and the scheduled rotation never races itself.
// KV (KEYSET_KV_KEY) is the copy everyone reads; the DO keeps the last set it wrote in its own
// storage and, between the two, trusts the higher `revision` (the `npm run keys` CLI writes KV).
import { DurableObject } from "cloudflare:workers";
import { KEYSET_KV_KEY, lacksKeys, parseKeySet, type KeySet, type SigningAlg } from "./keyset";
import { FILL_ONLY, rotateKeySet, type RotationPolicy, type RotationResult } from "./rotation";

export interface RotationSummary extends Omit<RotationResult, "set"> {
  readonly revision: number;
}

/** Readers that find KV empty or corrupt ask us; republish at most this often (KV: 1,000 writes a day). */
const REPUBLISH_AFTER_MS = 60_000;

export class KeyKeeper extends DurableObject<Env> {
  private publishedAt = Number.NEGATIVE_INFINITY;

  /** The newer of our copy and KV's, and whether KV lags behind it. */
  private async newest(): Promise<{ set: KeySet | null; kvBehind: boolean }> {
    const stored = (await this.ctx.storage.get<KeySet>("keyset")) ?? null;
    const published = parseKeySet(await this.env.KV.get(KEYSET_KV_KEY, "text"));
    if (!stored || (published && published.revision >= stored.revision)) return { set: published, kvBehind: false };
    return { set: stored, kvBehind: true };
  }

  private async save(set: KeySet, publish: boolean): Promise<void> {
    await this.ctx.storage.put("keyset", set);
    if (publish) {
      await this.env.KV.put(KEYSET_KV_KEY, JSON.stringify(set));
      this.publishedAt = Date.now();
    }
  }

  /**
   * The key set for a reader that found none in KV, or one lacking a key it could have (lacksKeys):
   * puts in use a first sealing key and ES256 key if there are none, and an RS256 key from the reserve
   * (RSA keys are never made here: see MADE_AHEAD), and republishes at most once a minute.
   */
  async keySet(): Promise<KeySet> {
    return this.ctx.blockConcurrencyWhile(async () => {
      const now = Date.now();
      const { set, kvBehind } = await this.newest();
      if (!set || lacksKeys(set, now)) {
        const result = await rotateKeySet(set, now, FILL_ONLY);
        if (result.warnings.length > 0) console.warn(JSON.stringify({ event: "keys_warning", warnings: result.warnings }));
        if (result.set !== set) {
          await this.save(result.set, true);
          return result.set;
        }
      }
      if (!set) throw new Error("unreachable: a first key set always has keys");
      if (kvBehind && now - this.publishedAt >= REPUBLISH_AFTER_MS) await this.save(set, true);
      return set;
    });
  }

  /** The revision of the set it last wrote (null: none yet): a read only, for the self-check. */
  async revision(): Promise<number | null> {
    return (await this.ctx.storage.get<KeySet>("keyset"))?.revision ?? null;
  }

  /**
   * One rotation step at `now` (the scheduled handler). Writes only when something changed. Answers
   * with what changed, not the set (which carries the reserve: no need to copy it back to the caller).
   */
  async rotate(now: number, policy: RotationPolicy, algs: readonly SigningAlg[]): Promise<RotationSummary> {
    return this.ctx.blockConcurrencyWhile(async () => {
      const { set: before, kvBehind } = await this.newest();
      const { set, changes, warnings } = await rotateKeySet(before, now, policy, algs);
      if (set !== before || kvBehind) await this.save(set, true);
      return { revision: set.revision, changes, warnings };
    });
  }
}
