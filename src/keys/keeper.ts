// The one writer of the key set in the Worker: a Durable Object, so concurrent first requests in
// different isolates all get the same key, and the scheduled rotation never races itself.
// KV (KEYSET_KV_KEY) is the copy everyone reads; the DO keeps the last set it wrote in its own
// storage and, between the two, trusts the higher `revision` (the `npm run keys` CLI writes KV).
import { DurableObject } from "cloudflare:workers";
import { createKey, createSealingKey, KEYSET_KV_KEY, parseKeySet, sealingKeyAt, type KeySet, type SigningAlg } from "./keyset";
import { rotateKeySet, type RotationPolicy, type RotationResult } from "./rotation";

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
   * The key set for a reader that found none in KV, or one without a sealing key in use: creates the
   * first ES256 key and the first sealing key if there are none (RSA keys come only from the scheduled
   * rotation or the CLI), and republishes at most once a minute.
   */
  async keySet(): Promise<KeySet> {
    return this.ctx.blockConcurrencyWhile(async () => {
      const now = Date.now();
      const { set, kvBehind } = await this.newest();
      const updatedAt = new Date(now).toISOString();
      if (!set) {
        const first: KeySet = { version: 1, revision: 1, updatedAt, keys: [await createKey("ES256", now, now)], sealingKeys: [createSealingKey(now, now)] };
        await this.save(first, true);
        return first;
      }
      if (!sealingKeyAt(set, now)) {
        // A set from before sealing keys existed (or whose keys all lie in the future).
        const sealed: KeySet = { ...set, revision: set.revision + 1, updatedAt, sealingKeys: [...(set.sealingKeys ?? []), createSealingKey(now, now)] };
        await this.save(sealed, true);
        return sealed;
      }
      if (kvBehind && now - this.publishedAt >= REPUBLISH_AFTER_MS) await this.save(set, true);
      return set;
    });
  }

  /** One rotation step at `now` (the scheduled handler). Writes only when something changed. */
  async rotate(now: number, policy: RotationPolicy, algs: readonly SigningAlg[]): Promise<RotationResult> {
    return this.ctx.blockConcurrencyWhile(async () => {
      const { set: before, kvBehind } = await this.newest();
      const result = await rotateKeySet(before, now, policy, algs, createKey);
      if (result.set !== before || kvBehind) await this.save(result.set, true);
      return result;
    });
  }
}
