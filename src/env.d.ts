// Secrets are not in wrangler.toml, so `wrangler types` cannot see them: declare them here.
declare namespace Cloudflare {
  interface Env {
    /** The Discord application's client secret (`wrangler secret put DISCORD_CLIENT_SECRET`). */
    DISCORD_CLIENT_SECRET?: string;
    /** Optional bot token for reading roles (`wrangler secret put DISCORD_BOT_TOKEN`). */
    DISCORD_BOT_TOKEN?: string;
    /** Optional timeout for each Discord call, in milliseconds (default 5000). */
    DISCORD_TIMEOUT_MS?: string;
    /** `npm start` sets it: its demo relying party, linked from the local landing page. */
    DEMO_URL?: string;
  }
}
