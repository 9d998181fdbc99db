// The one writer of the key set: a Durable Object, so concurrent first requests in different isolates
// all get the same key (no race where two isolates each mint and sign with a key of their own).
// It keeps the canonical copy in its own storage and publishes it to KV for the cheap read path.
import { DurableObject } from "cloudflare:workers";
import { createKey, KEYSET_KV_KEY, type KeySet } from "./keyset";

/** Readers that find KV empty or corrupt ask us; republish at most this often (KV: 1,000 writes a day). */
const REPUBLISH_AFTER_MS = 60_000;

export class KeyKeeper extends DurableObject<Env> {
  private publishedAt = Number.NEGATIVE_INFINITY;

  /** Return the key set, creating it on first use and (re)publishing it to KV at most once a minute. */
  async keySet(): Promise<KeySet> {
    return this.ctx.blockConcurrencyWhile(async () => {
      let keySet = await this.ctx.storage.get<KeySet>("keyset");
      if (!keySet) {
        keySet = { version: 1, keys: [await createKey("ES256")] };
        await this.ctx.storage.put("keyset", keySet);
      }
      if (Date.now() - this.publishedAt >= REPUBLISH_AFTER_MS) {
        await this.env.KV.put(KEYSET_KV_KEY, JSON.stringify(keySet));
        this.publishedAt = Date.now();
      }
      return keySet;
    });
  }
}
