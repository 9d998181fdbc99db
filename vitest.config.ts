// Two projects in one `vitest run`:
// - "workers": inside workerd (miniflare) with the real bindings from wrangler.toml, the test
//   entry test/fixtures/worker.ts (test/fixtures/config.json), and a fake Discord behind outboundService;
// - "node": the operator commands in scripts/ (config check, client creation, local stack).
import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { randomInt } from "node:crypto";
import { readFileSync } from "node:fs";
import { defineConfig } from "vitest/config";
import { createReserveKey } from "./src/keys/keyset.ts";
import { FAKE_DISCORD_CLIENT_SECRET, FakeDiscord } from "./test/helpers/fake-discord.ts";

const discord = new FakeDiscord();
// The example app's live membership checks (test/integration/example.test.ts) ask a Discord of their
// own: the bot endpoint answers from a user's latest login, and logins with faults in other files
// must not change what the example is told.
const exampleDiscord = new FakeDiscord();
// Fuzzing (test/integration/fuzz.test.ts, `npm run fuzz`), handed to the tests with provide/inject:
// FUZZ_RUNS runs per property (default 200), FUZZ_SEED the seed ("random": a fresh one, printed here;
// default a fixed one), FUZZ_PATH a failing run's path to replay.
const fuzzSeed = process.env.FUZZ_SEED === "random" ? String(randomInt(2 ** 31)) : (process.env.FUZZ_SEED ?? "");
if (process.env.FUZZ_SEED === "random") console.log(`fuzz: seed ${fuzzSeed} (replay with FUZZ_SEED=${fuzzSeed})`);
const fuzz = { fuzzRuns: process.env.FUZZ_RUNS ?? "", fuzzSeed, fuzzPath: process.env.FUZZ_PATH ?? "" };

// The Cloudflare Access team "testteam" (test-only key). Read, not imported: Vite's config loader wants
// import attributes on JSON, which this tsconfig's module setting does not allow.
const accessTeam = JSON.parse(readFileSync(new URL("./test/fixtures/access-team.json", import.meta.url), "utf8")) as { certsUrl: string; certs: unknown };

// RSA keys for the tests (test/helpers/keys.ts), made here once: in workerd each would cost a file
// a fraction of a second, and the Worker itself never makes them (README "Signing keys").
const rsaKeyPool = JSON.stringify(await Promise.all([0, 1, 2].map(() => createReserveKey("RS256", Date.parse("2026-01-01T00:00:00Z")))));

export default defineConfig({
  test: {
    // Login log lines are printed only for failing tests.
    silent: "passed-only",
    projects: [
      {
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            main: "./test/fixtures/worker.ts",
            miniflare: {
              bindings: {
                DISCORD_CLIENT_SECRET: FAKE_DISCORD_CLIENT_SECRET,
                DISCORD_API_BASE: "https://discord.test/api/v10",
                DISCORD_AUTHORIZE_URL: "https://discord.test/oauth2/authorize",
                // Shorter than the fake's SLOW_MS, so timeouts are tested quickly.
                DISCORD_TIMEOUT_MS: "1000",
              },
              // Every outbound fetch lands here: the fake Discord, and nothing else on the network.
              outboundService: (request: Request) => {
                const host = new URL(request.url).hostname;
                if (host === "discord.test") return discord.fetch(request);
                if (host === "example-discord.test") return exampleDiscord.fetch(request);
                // The team's published keys, in Access's shape.
                if (request.method === "GET" && request.url === accessTeam.certsUrl) return Response.json(accessTeam.certs);
                return new Response(`test network: ${host} is not reachable`, { status: 599 });
              },
            },
          }),
        ],
        test: { name: "workers", include: ["test/**/*.test.ts"], exclude: ["test/node/**"], setupFiles: ["./test/helpers/setup.ts"], provide: { ...fuzz, rsaKeyPool } },
      },
      {
        test: { name: "node", environment: "node", include: ["test/node/**/*.test.ts"], testTimeout: 60_000 },
      },
    ],
  },
});
