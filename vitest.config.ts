// Two projects in one `vitest run`:
// - "workers": inside workerd (miniflare) with the real bindings from wrangler.toml, the test
//   entry test/fixtures/worker.ts (test/fixtures/config.json), and a fake Discord behind outboundService;
// - "node": the operator commands in scripts/ (config check, client creation, local stack).
import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";
import { FAKE_DISCORD_CLIENT_SECRET, FakeDiscord } from "./test/helpers/fake-discord.ts";

const discord = new FakeDiscord();

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
                return new Response(`test network: ${host} is not reachable`, { status: 599 });
              },
            },
          }),
        ],
        test: { name: "workers", include: ["test/**/*.test.ts"], exclude: ["test/node/**"] },
      },
      {
        test: { name: "node", environment: "node", include: ["test/node/**/*.test.ts"], testTimeout: 60_000 },
      },
    ],
  },
});
