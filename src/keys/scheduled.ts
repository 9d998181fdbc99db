// The cron trigger: one rotation step through the KeyKeeper (the only writer in steady state).
// Every algorithm rotates (RS256 always: OIDC Core 15.1). ES256 and sealing keys are made here (cheap);
// RS256 keys are taken from the reserve `npm run keys -- stock` made ahead of time.
import type { Settings } from "../config";
import { ID_TOKEN_TTL_SECONDS } from "../tokens/lifetimes";
import { SIGNING_ALGS } from "./keyset";
import { rotationPolicy } from "./rotation";

export async function rotateKeys(env: Env, settings: Settings, now: number): Promise<readonly string[]> {
  const result = await env.KEYS.getByName("keys").rotate(now, rotationPolicy(settings.keys, ID_TOKEN_TTL_SECONDS), SIGNING_ALGS);
  console.log(JSON.stringify({ event: "keys_rotated", revision: result.revision, changes: result.changes, time: new Date(now).toISOString() }));
  if (result.warnings.length > 0) console.warn(JSON.stringify({ event: "keys_warning", warnings: result.warnings, time: new Date(now).toISOString() }));
  return result.changes;
}
