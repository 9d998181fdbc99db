// Configuration warnings: settings that are valid but risky. `npm run check` prints them, and the
// Worker logs them once per isolate as {"event":"config_warning","warnings":[...]}.
import type { BridgeConfig } from "./config";
import { memberCallGuilds, usesGuilds } from "./guilds/plan";
import { budgetWarnings } from "./tokens/budget";

/** Above this many member calls per login, Discord's tight limit on member reads starts to bite. */
export const MEMBER_CALLS_WARNING = 5;

export function configWarnings(config: Pick<BridgeConfig, "guilds" | "clients" | "issuer">): string[] {
  // Without guild settings nobody is expected to ask for the guilds scope: no warning about it.
  if (!usesGuilds(config.guilds, config.clients)) return [];
  const warnings = budgetWarnings(config);
  const memberCalls = memberCallGuilds(config.guilds, config.clients).length;
  if (memberCalls > MEMBER_CALLS_WARNING) {
    warnings.push(
      `a login may read roles in up to ${memberCalls} guilds, one Discord call each: Discord rate-limits member reads tightly, ` +
        "and a long rate limit fails the login. Keep roleGuilds short, or read roles with a bot (secret DISCORD_BOT_TOKEN).",
    );
  }
  return warnings;
}
