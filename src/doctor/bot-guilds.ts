// bot_in_role_guilds: with a bot token, roles are read as the bot (GET /guilds/{g}/members/{user}), so
// the bot must be in every role guild. Reading its own member entry in each proves it can read members
// there: one Discord call per role guild.
import type { Settings } from "../config";
import { DiscordError, type DiscordClient } from "../discord/client";
import { memberCallGuilds } from "../guilds/plan";
import { badBotToken, discordUnsure, fail, ok, skipped, type Check } from "./check";
import { BOT_TOKEN_FIX } from "./discord-redirect";

const ID = "bot_in_role_guilds";

/** The guilds whose roles a login may read (roleGuilds, aliases with anyRole, requireRoles). */
export function roleGuilds(settings: Settings): string[] {
  return memberCallGuilds(settings.guilds, settings.clients);
}

export function botGuildsSkipped(settings: Settings): Check {
  if (roleGuilds(settings).length === 0) return skipped(ID, "no role guilds configured: no roles are read");
  return skipped(ID, "no DISCORD_BOT_TOKEN: roles are read with each user's own token (guilds.members.read), so no bot is needed", `to read roles as a bot instead (fewer rate limits): ${BOT_TOKEN_FIX}`);
}

const guildName = (settings: Settings, g: string) => (settings.guilds.names[g] ? `${settings.guilds.names[g]} (${g})` : g);

export async function checkBotGuilds(settings: Settings, discord: DiscordClient, botToken: string, botId: string | unknown): Promise<Check> {
  const guilds = roleGuilds(settings);
  if (guilds.length === 0) return skipped(ID, "no role guilds configured: the bot reads no roles");
  if (typeof botId !== "string") return badBotToken(ID, botId) ?? discordUnsure(ID, "the bot's guilds", botId);
  const results = await Promise.all(
    guilds.map(async (g) => {
      try {
        const member = await discord.getMember(g, { botToken, userId: botId });
        return member ? ("in" as const) : ("out" as const);
      } catch (err) {
        if (err instanceof DiscordError && err.kind === "rejected" && (err.status === 403 || err.status === 404)) return "out" as const;
        return err;
      }
    }),
  );
  const outside = guilds.filter((_, i) => results[i] === "out");
  if (outside.length > 0) {
    return fail(
      ID,
      `the bot is not in role guild${outside.length > 1 ? "s" : ""} ${outside.map((g) => guildName(settings, g)).join(", ")}: logins of its members fail with server_error (log reason discord:rejected)`,
      `invite the bot to ${outside.length > 1 ? "each of them" : "it"} with https://discord.com/oauth2/authorize?client_id=${settings.discord.clientId}&scope=bot&permissions=0 (no permissions needed), or remove ${outside.length > 1 ? "those guilds" : "it"} from roleGuilds, groups and requireRoles in config.json`,
    );
  }
  const unsure = results.find((r) => r !== "in");
  if (unsure !== undefined) return discordUnsure(ID, "the bot's membership", unsure);
  return ok(ID, `the bot reads members in all ${guilds.length} role guild(s)`);
}
