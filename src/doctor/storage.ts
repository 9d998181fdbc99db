// storage: Workers KV (binding KV) and both Durable Objects answer. The KV read is the key set itself
// (the keys check reads it); the CodeStore has already answered the self-check's gate (cache.ts), or
// failed it; the KeyKeeper answers a storage read. No writes.
import { fail, ok, type Check } from "./check";

const ID = "storage";

export interface StorageProbe {
  /** The key set's text from KV (null: absent), or the error reading it. */
  readonly kv: { text: string | null } | { error: unknown };
  /** Whether the CodeStore Durable Object answered. */
  readonly codeStore: boolean;
}

export async function readKv(env: Env, key: string): Promise<StorageProbe["kv"]> {
  try {
    return { text: await env.KV.get(key, "text") };
  } catch (error) {
    return { error };
  }
}

export async function checkStorage(env: Env, probe: StorageProbe): Promise<Check> {
  let keeper = true;
  try {
    await env.KEYS.getByName("keys").revision();
  } catch {
    keeper = false;
  }
  const broken: string[] = [];
  const fixes: string[] = [];
  if ("error" in probe.kv) {
    broken.push("Workers KV (binding KV) did not answer");
    fixes.push("check [[kv_namespaces]] binding \"KV\" in wrangler.toml: its id must be a namespace of this account (`npx wrangler kv namespace list`), then `npm run deploy`");
  }
  const dos = [!probe.codeStore && "CodeStore (binding CODES)", !keeper && "KeyKeeper (binding KEYS)"].filter((d): d is string => typeof d === "string");
  if (dos.length > 0) {
    broken.push(`the Durable Object${dos.length > 1 ? "s" : ""} ${dos.join(" and ")} did not answer`);
    fixes.push("deploy with `npm run deploy`, which applies the Durable Object migration in wrangler.toml ([[migrations]] new_sqlite_classes CodeStore, KeyKeeper); see the Worker's logs for the error");
  }
  if (broken.length > 0) return fail(ID, `${broken.join("; ")}: logins cannot complete`, fixes.join("; "));
  return ok(ID, "Workers KV and the CodeStore and KeyKeeper Durable Objects answer");
}
