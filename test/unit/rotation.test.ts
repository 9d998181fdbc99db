// The rotation step on a controlled clock: publication lead time, hand-over, retirement and removal.
import { describe, expect, it } from "vitest";
import { sealingKeyAt, signingKey, statusAt, type KeySet, type ReserveKey, type SigningAlg, type StoredKey } from "../../src/keys/keyset";
import { FILL_ONLY, rotateKeySet, rotationPolicy, type KeyMaker } from "../../src/keys/rotation";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.parse("2033-01-01T00:00:00Z");
const policy = rotationPolicy({ rotationPeriodDays: 30, leadTimeHours: 24, retireMarginHours: 24 }, 3600);

let serial = 0;
const fakeKey: KeyMaker = async (alg: SigningAlg, activatesAt: number, now: number): Promise<StoredKey> => {
  serial += 1;
  const kid = `${alg}-${serial}`;
  return { kid, alg, status: activatesAt <= now ? "current" : "next", createdAt: new Date(now).toISOString(), activatesAt: new Date(activatesAt).toISOString(), publicJwk: { kid }, privateJwk: { kid } };
};

/** A stand-in for a key `npm run keys -- stock` made (the rotation only moves its JWK around). */
function reserveKey(kid: string): ReserveKey {
  return { kid, alg: "RS256", createdAt: new Date(T0 - 10 * DAY).toISOString(), privateJwk: { kty: "RSA", n: `n-${kid}`, e: "AQAB", d: `d-${kid}`, kid, alg: "RS256" } };
}

async function step(set: KeySet | null, at: number, algs: SigningAlg[] = ["ES256"]) {
  return rotateKeySet(set, at, policy, algs, fakeKey);
}

describe("rotateKeySet", () => {
  it("creates a first key that signs at once", async () => {
    const { set, changes } = await step(null, T0);
    expect(set.keys).toHaveLength(1);
    expect(set.keys[0]).toMatchObject({ alg: "ES256", status: "current", activatesAt: new Date(T0).toISOString() });
    expect(set.revision).toBe(1);
    expect(changes).toEqual([expect.stringMatching(/^created ES256 key/), expect.stringMatching(/^created sealing key/)]);
  });

  it("is idempotent: a second run at the same instant changes nothing and writes nothing", async () => {
    const first = await step(null, T0);
    for (const at of [T0, T0 + 10 * DAY, T0 + 29 * DAY - 1]) {
      const a = await step(first.set, at);
      const b = await step(a.set, at);
      expect(b.changes).toEqual([]);
      expect(b.set).toBe(a.set);
    }
  });

  it("publishes the next key exactly one lead time before it signs, then hands over", async () => {
    let { set } = await step(null, T0);
    const firstKid = set.keys[0]!.kid;
    ({ set } = await step(set, T0 + 29 * DAY - 1)); // not yet due
    expect(set.keys).toHaveLength(1);
    ({ set } = await step(set, T0 + 29 * DAY)); // due: 30 days minus 24 h lead
    expect(set.keys).toHaveLength(2);
    const next = set.keys[1]!;
    expect(next.status).toBe("next");
    expect(Date.parse(next.activatesAt)).toBe(T0 + 30 * DAY);
    expect(Date.parse(next.activatesAt) - Date.parse(next.createdAt)).toBe(24 * HOUR);
    expect(signingKey(set, "ES256", T0 + 30 * DAY - 1)?.kid).toBe(firstKid);
    // The hand-over follows the clock even before the scheduler runs again.
    expect(signingKey(set, "ES256", T0 + 30 * DAY)?.kid).toBe(next.kid);
    ({ set } = await step(set, T0 + 30 * DAY));
    expect(set.keys.map((k) => [k.kid, k.status, k.supersededAt])).toEqual([
      [firstKid, "retired", new Date(T0 + 30 * DAY).toISOString()],
      [next.kid, "current", undefined],
    ]);
  });

  it("keeps a retired key for the longest token plus the margin, then drops it", async () => {
    let { set } = await step(null, T0);
    const firstKid = set.keys[0]!.kid;
    ({ set } = await step(set, T0 + 29 * DAY));
    ({ set } = await step(set, T0 + 30 * DAY));
    const dropAt = T0 + 30 * DAY + HOUR + 24 * HOUR;
    ({ set } = await step(set, dropAt - 1));
    expect(set.keys.map((k) => k.kid)).toContain(firstKid);
    const result = await step(set, dropAt);
    expect(result.set.keys.map((k) => k.kid)).not.toContain(firstKid);
    expect(result.changes.some((c) => c.startsWith("dropped ES256 key"))).toBe(true);
  });

  it("catches up after a long outage: the next key still gets its full lead time", async () => {
    let { set } = await step(null, T0);
    ({ set } = await step(set, T0 + 45 * DAY)); // the scheduler was off for six weeks
    const next = set.keys.find((k) => k.status === "next")!;
    expect(Date.parse(next.activatesAt)).toBe(T0 + 45 * DAY + 24 * HOUR);
    expect(signingKey(set, "ES256", T0 + 45 * DAY)?.kid).toBe(set.keys[0]!.kid);
  });

  it("never makes an RS256 key: it takes them from the reserve, the first in use at once, the next published a lead time ahead", async () => {
    const reserve = [reserveKey("rsa-a"), reserveKey("rsa-b")];
    let { set, changes } = await step({ ...(await step(null, T0)).set, reserve }, T0, ["ES256", "RS256"]);
    expect(changes).toEqual([expect.stringMatching(/^took reserve RS256 key rsa-a, in use now/)]);
    expect(signingKey(set, "RS256", T0)).toMatchObject({ kid: "rsa-a", publishedAt: new Date(T0).toISOString(), publicJwk: { kty: "RSA", n: "n-rsa-a", e: "AQAB", kid: "rsa-a", alg: "RS256", use: "sig" } });
    expect(signingKey(set, "RS256", T0)?.publicJwk).not.toHaveProperty("d");
    expect(set.reserve?.map((k) => k.kid)).toEqual(["rsa-b"]);
    ({ set } = await step(set, T0 + 29 * DAY, ["ES256", "RS256"]));
    const next = set.keys.find((k) => k.kid === "rsa-b")!;
    expect(next).toMatchObject({ status: "next", publishedAt: new Date(T0 + 29 * DAY).toISOString(), activatesAt: new Date(T0 + 30 * DAY).toISOString() });
    expect(set.reserve).toBeUndefined();
    expect(set.keys.filter((k) => k.alg === "RS256" && k.kid.startsWith("RS256-"))).toEqual([]); // fakeKey never asked for RS256
  });

  it("with an empty reserve, warns a period ahead, and keeps the RS256 key in use signing past its period", async () => {
    let result = await step({ ...(await step(null, T0)).set, reserve: [reserveKey("rsa-a")] }, T0, ["ES256", "RS256"]);
    expect(result.warnings).toEqual(["no RS256 key left in the reserve for the rotation due 2033-01-31T00:00:00.000Z; run `npm run keys -- stock --remote`"]);
    result = await step(result.set, T0 + 45 * DAY, ["ES256", "RS256"]);
    expect(result.warnings).toEqual(["no RS256 key left in the reserve: the RS256 key in use keeps signing past its rotation period; run `npm run keys -- stock --remote`"]);
    expect(signingKey(result.set, "RS256", T0 + 45 * DAY)?.kid).toBe("rsa-a");
  });

  it("lets an algorithm no longer needed age out (prune)", async () => {
    let { set } = await step({ ...(await step(null, T0)).set, reserve: [reserveKey("rsa-a")] }, T0, ["ES256", "RS256"]);
    ({ set } = await step(set, T0 + 29 * DAY, ["ES256"]));
    expect(set.keys.filter((k) => k.alg === "RS256")).toHaveLength(1); // no successor
    expect(signingKey(set, "RS256", T0 + 29 * DAY)).toBeDefined();
  });

  it("FILL_ONLY puts in use only what has nothing in use: no rotation, nothing dropped", async () => {
    const { set } = await step(null, T0);
    const later = T0 + 400 * DAY;
    const filled = await rotateKeySet({ ...set, reserve: [reserveKey("rsa-a")] }, later, FILL_ONLY, undefined, fakeKey);
    expect(filled.changes).toEqual([expect.stringMatching(/^took reserve RS256 key rsa-a, in use now/)]);
    expect(filled.set.keys.map((k) => k.kid)).toEqual(["rsa-a", set.keys[0]!.kid]);
    expect(filled.warnings).toEqual([]);
    expect((await rotateKeySet(filled.set, later, FILL_ONLY, undefined, fakeKey)).set).toBe(filled.set);
  });

  it("gives sealing keys the same timeline: one in use at once, the next published a lead time ahead, the old one kept while anything it sealed lives", async () => {
    let { set } = await step(null, T0);
    expect(set.sealingKeys).toHaveLength(1);
    const first = set.sealingKeys![0]!;
    expect(first.secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(sealingKeyAt(set, T0)?.kid).toBe(first.kid);
    ({ set } = await step(set, T0 + 29 * DAY));
    const next = set.sealingKeys![1]!;
    expect(Date.parse(next.activatesAt)).toBe(T0 + 30 * DAY);
    expect(next.secret).not.toBe(first.secret);
    expect(sealingKeyAt(set, T0 + 30 * DAY - 1)?.kid).toBe(first.kid);
    expect(sealingKeyAt(set, T0 + 30 * DAY)?.kid).toBe(next.kid);
    ({ set } = await step(set, T0 + 30 * DAY + HOUR + 24 * HOUR - 1));
    expect(set.sealingKeys!.map((k) => k.kid)).toEqual([first.kid, next.kid]);
    const result = await step(set, T0 + 30 * DAY + HOUR + 24 * HOUR);
    expect(result.set.sealingKeys!.map((k) => k.kid)).toEqual([next.kid]);
    expect(result.changes).toContainEqual(expect.stringMatching(/^dropped sealing key/));
  });

  it("adds sealing keys to a set written before they existed, keeping its signing keys", async () => {
    const { set: old } = await step(null, T0);
    const legacy: KeySet = { version: 1, revision: old.revision, updatedAt: old.updatedAt, keys: old.keys };
    const { set, changes } = await step(legacy, T0 + DAY);
    expect(changes).toEqual([expect.stringMatching(/^created sealing key .* in use now/)]);
    expect(set.keys).toEqual(legacy.keys);
    expect(sealingKeyAt(set, T0 + DAY)).toBeDefined();
  });

  it("derives status from the clock", async () => {
    let { set } = await step(null, T0);
    ({ set } = await step(set, T0 + 29 * DAY));
    const [first, next] = set.keys as [StoredKey, StoredKey];
    expect([statusAt(set, first, T0 + 29 * DAY), statusAt(set, next, T0 + 29 * DAY)]).toEqual(["current", "next"]);
    expect([statusAt(set, first, T0 + 30 * DAY), statusAt(set, next, T0 + 30 * DAY)]).toEqual(["retired", "current"]);
  });
});
