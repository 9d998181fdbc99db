// What one self-check answers: an id, a status, a message for the operator and, when something must
// change, the fix (what to change and where). Nothing here may carry a secret, a token or a Discord
// error body: messages are built from our own words, ids and URLs that are public anyway.
import { DiscordError } from "../discord/client";

export type CheckStatus = "ok" | "warn" | "fail" | "skipped";

export interface Check {
  readonly id: string;
  readonly status: CheckStatus;
  readonly message: string;
  readonly fix?: string;
}

export const ok = (id: string, message: string): Check => ({ id, status: "ok", message });
export const warn = (id: string, message: string, fix?: string): Check => ({ id, status: "warn", message, ...(fix !== undefined && { fix }) });
export const fail = (id: string, message: string, fix: string): Check => ({ id, status: "fail", message, fix });
export const skipped = (id: string, message: string, fix?: string): Check => ({ id, status: "skipped", message, ...(fix !== undefined && { fix }) });

/**
 * A Discord failure that says nothing about the thing checked (rate limit, outage, timeout, garbage),
 * in our own words: the status code at most, never Discord's body.
 */
export function discordUnsure(id: string, what: string, err: unknown): Check {
  if (!(err instanceof DiscordError)) throw err;
  const why: Record<DiscordError["kind"], string> = {
    rate_limited: "Discord rate-limited the check",
    unavailable: "Discord did not answer (network error or 5xx)",
    timeout: "Discord did not answer in time",
    bad_response: "Discord's answer had an unexpected shape",
    rejected: `Discord refused the call${err.status !== undefined ? ` (HTTP ${err.status})` : ""}`,
  };
  return warn(id, `${what} could not be checked: ${why[err.kind]}`, "run the self-check again in a few minutes");
}

/** Discord refuses the bot token itself (401): nothing read with it can work. */
export function badBotToken(id: string, err: unknown): Check | undefined {
  if (!(err instanceof DiscordError && err.kind === "rejected" && err.status === 401)) return undefined;
  return fail(
    id,
    "Discord refuses DISCORD_BOT_TOKEN (HTTP 401): roles cannot be read with it, and logins that need roles fail",
    "copy the token of your application's bot (Discord developer portal, Bot, Reset Token), then run `npx wrangler secret put DISCORD_BOT_TOKEN` (for npm run dev: in .dev.vars), or delete the secret to read roles with each user's own token",
  );
}
