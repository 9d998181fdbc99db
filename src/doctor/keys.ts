// keys_*: the signing keys in KV are current for every algorithm a client needs, the next key is
// published a lead time before a rotation is due, and the RS256 reserve (made ahead by
// `npm run keys -- stock --remote`) lasts. Only public facts: kids, algorithms, dates, counts.
import type { Settings } from "../config";
import { parseKeySet, reserveOf, sealingKeyAt, signingKey, SIGNING_ALGS, statusAt, type KeySet, type SigningAlg } from "../keys/keyset";
import { STOCK_COMMAND } from "../keys/rotation";
import { fail, ok, warn, type Check } from "./check";

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
/** Warn when the reserve runs out sooner than this. */
const RESERVE_WARN_MS = 60 * DAY_MS;
const CRON_FIX = "the hourly cron trigger (wrangler.toml [triggers]) publishes it: deploy with `npm run deploy` and look for keys_warning in the Worker's logs";

/** A published key as the self-check reports it (all of this is in /jwks.json too). */
export interface PublishedKey {
  readonly kid: string;
  readonly alg: SigningAlg;
  readonly status: "next" | "current" | "retired";
  readonly activatesAt: string;
}

export function publishedKeys(set: KeySet | null, now: number): PublishedKey[] {
  return (set?.keys ?? []).map((k) => ({ kid: k.kid, alg: k.alg, status: statusAt(set!, k, now), activatesAt: k.activatesAt }));
}

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

export function checkKeys(settings: Settings, text: string | null, now: number): Check[] {
  const set = parseKeySet(text);
  if (!set) {
    return [
      fail(
        "keys",
        text === null ? "no key set in Workers KV (key signing-keys): the first request makes ES256 and sealing keys, but RS256 clients get none" : "the key set in Workers KV is damaged: the KeyKeeper heals it on the next request from its own copy",
        `run \`${STOCK_COMMAND}\` (\`npm run deploy\` does it)`,
      ),
    ];
  }
  const periodMs = settings.keys.rotationPeriodDays * DAY_MS;
  const leadMs = settings.keys.leadTimeHours * HOUR_MS;
  const checks: Check[] = [];
  for (const alg of SIGNING_ALGS) {
    const id = `keys_${alg.toLowerCase()}`;
    const clients = settings.clients.filter((c) => c.idTokenSigningAlg === alg).map((c) => c.clientId);
    const current = signingKey(set, alg, now);
    const next = set.keys.find((k) => k.alg === alg && Date.parse(k.activatesAt) > now);
    if (!current) {
      if (clients.length === 0) continue;
      if (alg === "RS256") {
        checks.push(fail(id, `no RS256 key in use: ${clients.join(", ")} are signed ES256 instead, or refused (503) when they name RS256`, `run \`${STOCK_COMMAND}\``));
      } else {
        checks.push(warn(id, `no ES256 key in use yet: the first request that needs one makes it`, "nothing to do, or open the bridge's /jwks.json once"));
      }
      continue;
    }
    const due = Date.parse(current.activatesAt) + periodMs;
    if (next) {
      checks.push(ok(id, `${alg} key ${current.kid} in use; next key ${next.kid} published, signing from ${next.activatesAt}`));
    } else if (now >= due - leadMs) {
      const noReserve = alg === "RS256" && reserveOf(set, "RS256").length === 0;
      checks.push(warn(id, `${alg} key ${current.kid} was due to hand over on ${day(due)} and no next key is published: it keeps signing`, noReserve ? `run \`${STOCK_COMMAND}\`` : CRON_FIX));
    } else {
      checks.push(ok(id, `${alg} key ${current.kid} in use until about ${day(due)}; its successor is published ${settings.keys.leadTimeHours} h before`));
    }
    if (alg === "RS256") {
      const count = reserveOf(set, "RS256").length;
      const from = next ? Date.parse(next.activatesAt) : due;
      // Each reserve key covers one period after the last key already on the timeline.
      const lastsUntil = from + count * periodMs;
      if (count === 0) checks.push(warn("keys_reserve", `no RS256 key left in the reserve: the key in use keeps signing past ${day(from)}`, `run \`${STOCK_COMMAND}\``));
      else if (lastsUntil - now < RESERVE_WARN_MS) checks.push(warn("keys_reserve", `${count} RS256 key(s) in the reserve, enough until about ${day(lastsUntil)}`, `run \`${STOCK_COMMAND}\` to top it up`));
      else checks.push(ok("keys_reserve", `${count} RS256 key(s) in the reserve, enough until about ${day(lastsUntil)}`));
    }
  }
  if (!sealingKeyAt(set, now)) checks.push(warn("keys_sealing", "no sealing key in use yet: the first login makes one", "nothing to do"));
  return checks;
}
