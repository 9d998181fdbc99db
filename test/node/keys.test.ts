// `npm run keys`: the key table, rotate (lead time, RS256), prune, refusals; then the real thing:
// wrangler writes local KV state and the bundled Worker, on that same state, publishes and signs with it.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Miniflare } from "miniflare";
import { decodeProtectedHeader } from "jose";
import { describe, expect, it } from "vitest";
import { runKeys, wranglerKv, type KvAccess } from "../../scripts/keys.ts";
import { parseKeySet } from "../../src/keys/keyset.ts";
import type { Io } from "../../scripts/check.ts";
import { FAKE_DISCORD_CLIENT_SECRET, FakeDiscord } from "../helpers/fake-discord.ts";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.parse("2033-05-01T12:00:00Z");

function memoryKv(initial: string | null = null): KvAccess & { value: string | null; writes: number } {
  const kv = { value: initial, writes: 0, read: () => kv.value, write: (v: string) => void ((kv.value = v), kv.writes++) };
  return kv;
}

function capture(): Io & { text(): string } {
  const lines: string[] = [];
  return { out: (l) => void lines.push(l), err: (l) => void lines.push(l), text: () => lines.join("\n") };
}

async function keys(kv: KvAccess, args: string[], at = T0) {
  const io = capture();
  const code = await runKeys(args, () => kv, io, at);
  return { code, text: io.text() };
}

describe("npm run keys", () => {
  it("status on an empty namespace explains what happens", async () => {
    const r = await keys(memoryKv(), ["status"]);
    expect(r.code).toBe(0);
    expect(r.text).toMatch(/no key set yet/);
  });

  it("rotate creates a signing key, then a next key that signs a lead time later; a second rotate refuses", async () => {
    const kv = memoryKv();
    const first = await keys(kv, ["rotate"]);
    expect(first.code).toBe(0);
    const second = await keys(kv, ["rotate"], T0 + HOUR);
    expect(second.text).toMatch(/signs from 2033-05-02T13:00:00.000Z/); // 24 h lead
    const set = JSON.parse(kv.value!);
    expect(set.revision).toBe(2);
    expect(set.keys.map((k: { status: string }) => k.status)).toEqual(["current", "next"]);
    const third = await keys(kv, ["rotate"], T0 + 2 * HOUR);
    expect(third.code).toBe(1);
    expect(third.text).toMatch(/already published/);
    expect(kv.writes).toBe(2);
  });

  it("prints the table without private key material", async () => {
    const kv = memoryKv();
    await keys(kv, ["rotate"]);
    await keys(kv, ["rotate", "--alg", "RS256"]);
    const status = await keys(kv, ["status"]);
    expect(status.text).toMatch(/kid\s+alg\s+status\s+created\s+signs from\s+superseded\s+dropped after/);
    expect(status.text).toMatch(/ES256\s+current/);
    expect(status.text).toMatch(/RS256\s+current/);
    const set = JSON.parse(kv.value!);
    for (const k of set.keys) {
      expect(status.text).toContain(k.kid);
      expect(status.text).not.toContain(k.privateJwk.d);
    }
  });

  it("prune drops only keys past their margin", async () => {
    const kv = memoryKv();
    await keys(kv, ["rotate"]);
    await keys(kv, ["rotate"], T0 + 10 * DAY); // next key signs from T0 + 11 d
    expect((await keys(kv, ["prune"], T0 + 11 * DAY + 24 * HOUR)).text).toMatch(/nothing to prune/);
    const pruned = await keys(kv, ["prune"], T0 + 11 * DAY + 25 * HOUR);
    expect(pruned.text).toMatch(/dropped ES256 key/);
    expect(JSON.parse(kv.value!).keys).toHaveLength(1);
  });

  it("refuses bad arguments with usage", async () => {
    const refusals = [[], ["spin"], ["rotate", "--alg", "HS256"], ["status", "--alg", "RS256"], ["status", "now"], ["stock", "rotate"], ["status", "--remote", "--local"], ["status", "--remote", "--persist-to", "x"], ["status", "--bogus"]];
    for (const args of refusals) {
      const r = await keys(memoryKv(), args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.text).toContain("usage:");
    }
  });

  it("a failing wrangler is one line with wrangler's own words and what to do, not a stack", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bridge-keys-wrangler-"));
    const fake = join(dir, "wrangler");
    writeFileSync(fake, ["#!/bin/sh", `echo "$@" > ${join(dir, "args")}`, "printf '\\033[31m✘ \\033[41;31m[\\033[41;97mERROR\\033[41;31m]\\033[0m Authentication error [code: 10000]\\n\\n' >&2", "exit 1", ""].join("\n"), { mode: 0o755 });
    const io = capture();
    expect(await runKeys(["rotate", "--remote", "--env", "staging"], (target) => wranglerKv(target, fake), io)).toBe(1);
    expect(io.text()).toBe("✘ wrangler kv key get failed: Authentication error [code: 10000]\n  hint: log in with `npx wrangler login` (or set CLOUDFLARE_API_TOKEN for a run without a browser), then try again");
    expect(readFileSync(join(dir, "args"), "utf8")).toBe("kv key get signing-keys --text --binding KV --remote --env staging\n");
  });

  it("reports a corrupt stored set and replaces it on rotate", async () => {
    const kv = memoryKv("{oops");
    expect((await keys(kv, ["status"])).code).toBe(1);
    expect((await keys(kv, ["rotate"])).code).toBe(0);
    expect(JSON.parse(kv.value!).keys).toHaveLength(1);
  });

  it("stock makes RSA keys ahead of time: one in use, a year of rotations in reserve, the rest of a first set too; then only tops up", async () => {
    const kv = memoryKv();
    const first = await keys(kv, ["stock"]);
    expect(first.code).toBe(0);
    expect(first.text).toContain("made 14 RS256 keys ahead of time");
    expect(first.text).toMatch(/took reserve RS256 key \S+, in use now/);
    expect(first.text).toMatch(/created ES256 key \S+, in use now/);
    expect(first.text).toContain("RS256 reserve: 13 keys made ahead of time, enough for rotations until 2034-06-25");
    const set = parseKeySet(kv.value)!;
    expect(set.keys.map((k) => [k.alg, k.status])).toEqual([["RS256", "current"], ["ES256", "current"]]);
    expect(set.sealingKeys).toHaveLength(1);
    expect(set.reserve).toHaveLength(13);
    expect(first.text).not.toMatch(/"d"|privateJwk/);

    const again = await keys(kv, ["stock"], T0 + HOUR);
    expect(again.text).toContain("✔ nothing to do: 13 RS256 keys in reserve (a stock keeps 13)");
    expect(kv.writes).toBe(1);

    // A rotation takes one; the next stock makes exactly one, keeping the rest.
    kv.write(JSON.stringify({ ...set, revision: set.revision + 1, reserve: set.reserve!.slice(1) }));
    const topped = await keys(kv, ["stock"], T0 + 2 * HOUR);
    expect(topped.text).toContain("made 1 RS256 key ahead of time");
    const after = parseKeySet(kv.value)!;
    expect(after.reserve!.slice(0, 12)).toEqual(set.reserve!.slice(1));
    expect(after.keys).toEqual(set.keys);
    expect(after.revision).toBe(set.revision + 2);
  });

  it("stock --count sets the reserve; a bad --count or one on another command is a usage error", async () => {
    const kv = memoryKv();
    expect((await keys(kv, ["stock", "--count", "1"])).code).toBe(0);
    expect(parseKeySet(kv.value)!.reserve).toHaveLength(1);
    for (const args of [["stock", "--count", "0"], ["stock", "--count", "25"], ["stock", "--count", "x"], ["status", "--count", "2"]]) {
      const r = await keys(memoryKv(), args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.text).toContain("--count goes with stock and is a number from 1 to 24");
    }
  });

  it("stock, as npm start and npm run deploy run it, on wrangler's local state: the Worker publishes and signs with the stocked keys, RS256 by default", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bridge-keys-state-"));
    const kv = wranglerKv({ remote: false, persistTo: dir });
    const io = capture();
    expect(await runKeys(["stock", "--count", "2", "--persist-to", dir], () => kv, io)).toBe(0);
    const rsKid = /took reserve RS256 key (\S+),/.exec(io.text())?.[1];
    const esKid = /created ES256 key (\S+),/.exec(io.text())?.[1];
    expect(rsKid).toBeTruthy();
    expect(esKid).toBeTruthy();
    const status = capture();
    expect(await runKeys(["status", "--persist-to", dir], undefined, status)).toBe(0);
    expect(status.text()).toContain(rsKid);
    expect(status.text()).toContain("RS256 reserve: 2 keys");

    execFileSync("npx", ["wrangler", "deploy", "--dry-run", "--outdir", join(dir, "dist"), "test/fixtures/worker.ts"], { stdio: "ignore" });
    const discord = new FakeDiscord();
    const mf = new Miniflare({
      modules: true,
      scriptPath: join(dir, "dist", "worker.js"),
      modulesRoot: join(dir, "dist"),
      compatibilityDate: "2026-04-01",
      kvNamespaces: { KV: "00000000000000000000000000000000" },
      kvPersist: join(dir, "v3", "kv"),
      durableObjects: { CODES: { className: "CodeStore", useSQLite: true }, KEYS: { className: "KeyKeeper", useSQLite: true } },
      bindings: { DISCORD_CLIENT_SECRET: FAKE_DISCORD_CLIENT_SECRET, DISCORD_API_BASE: "https://discord.test/api/v10", DISCORD_AUTHORIZE_URL: "https://discord.test/oauth2/authorize" },
      outboundService: (request) => discord.fetch(request as unknown as Request) as never,
    });
    /** The test fixture's clients: "access" names ES256, "grafana" (PKCE required) is on the RS256 default. */
    const idToken = async (clientId: string, secret: string, redirectUri: string) => {
      const pkce = { code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", code_challenge_method: "S256" };
      const query = new URLSearchParams({ response_type: "code", client_id: clientId, redirect_uri: redirectUri, scope: "openid", ...pkce });
      const a = await mf.dispatchFetch(`https://bridge.test/authorize?${query}`, { redirect: "manual" });
      const state = new URL(a.headers.get("Location")!).searchParams.get("state")!;
      const c = await mf.dispatchFetch(`https://bridge.test/callback?code=alice~${crypto.randomUUID()}&state=${encodeURIComponent(state)}`, { redirect: "manual", headers: { Cookie: a.headers.get("Set-Cookie")!.split(";")[0]! } });
      const code = new URL(c.headers.get("Location")!).searchParams.get("code")!;
      const t = await mf.dispatchFetch("https://bridge.test/token", {
        method: "POST",
        headers: { Authorization: `Basic ${btoa(`${clientId}:${secret}`)}`, "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ grant_type: "authorization_code", code, redirect_uri: redirectUri, code_verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk" }).toString(),
      });
      return ((await t.json()) as { id_token: string }).id_token;
    };
    try {
      const jwks = (await (await mf.dispatchFetch("https://bridge.test/jwks.json")).json()) as { keys: { kid: string }[] };
      expect(jwks.keys.map((k) => k.kid)).toEqual([rsKid, esKid]); // the reserve is not published
      expect(decodeProtectedHeader(await idToken("access", "access-secret-with:colon%and+plus", "https://team.cloudflareaccess.com/cdn-cgi/access/callback"))).toMatchObject({ alg: "ES256", kid: esKid });
      expect(decodeProtectedHeader(await idToken("grafana", "grafana-secret-0123456789", "https://grafana.example.com/login/generic_oauth"))).toMatchObject({ alg: "RS256", kid: rsKid });
    } finally {
      await mf.dispose();
    }
  }, 60_000);
});
