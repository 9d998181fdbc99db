// Secrets are not in wrangler.toml, so `wrangler types` cannot see them: declare them here.
declare namespace Cloudflare {
  interface Env {
    /** The Discord application's client secret (`wrangler secret put DISCORD_CLIENT_SECRET`). */
    DISCORD_CLIENT_SECRET?: string;
  }
}
