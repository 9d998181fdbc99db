// discord_secret: Discord's client-credentials grant answers our client id and secret without a user.
// Two Discord calls: the grant, and the revoke of the token it gave.
import type { Settings } from "../config";
import { DiscordError, type DiscordClient } from "../discord/client";
import { discordUnsure, fail, ok, type Check } from "./check";

const ID = "discord_secret";

export async function checkDiscordSecret(settings: Settings, discord: DiscordClient): Promise<Check> {
  try {
    const token = await discord.clientCredentials("identify");
    await discord.revoke(token.accessToken).catch(() => undefined);
    return ok(ID, `Discord accepts the client secret of application ${settings.discord.clientId}`);
  } catch (err) {
    if (err instanceof DiscordError && err.kind === "rejected" && (err.status === 401 || err.status === 400)) {
      return fail(
        ID,
        `Discord refuses the client id ${settings.discord.clientId} with this DISCORD_CLIENT_SECRET (HTTP ${err.status}): every login fails at the code exchange`,
        `copy the Client Secret of application ${settings.discord.clientId} (Discord developer portal, OAuth2; "Reset Secret" if you do not have it), then run \`npx wrangler secret put DISCORD_CLIENT_SECRET\` (for npm run dev: DISCORD_CLIENT_SECRET=... in .dev.vars); check that discord.clientId in config.json is that application's id`,
      );
    }
    return discordUnsure(ID, "the Discord client secret", err);
  }
}
