// discord_redirect: the bridge's callback (<issuer>/callback) is among the redirect URIs registered for
// the Discord application, read with the bot token (GET /applications/@me). Also: the bot token belongs
// to the application named in config.json.
import type { Settings } from "../config";
import { discordRedirectUri } from "../context";
import type { DiscordApplication } from "../discord/client";
import { badBotToken, discordUnsure, fail, ok, skipped, type Check } from "./check";

const ID = "discord_redirect";

export const BOT_TOKEN_FIX =
  "add the bot token (Discord developer portal, your application, Bot, Reset Token) with `npx wrangler secret put DISCORD_BOT_TOKEN` (for npm run dev: in .dev.vars) so the self-check can read the application; it is optional for logins";

export function redirectSkipped(issuer: string): Check {
  return skipped(ID, `no DISCORD_BOT_TOKEN: the redirect URIs registered at Discord cannot be read; make sure ${discordRedirectUri(issuer)} is one of them`, BOT_TOKEN_FIX);
}

/** `app` is the application as its bot reads it, or the error reading it. */
export function checkDiscordRedirect(settings: Settings, issuer: string, app: DiscordApplication | unknown): Check {
  const wanted = discordRedirectUri(issuer);
  if (!isApplication(app)) return badBotToken(ID, app) ?? discordUnsure(ID, "the application's redirect URIs", app);
  if (app.id !== settings.discord.clientId) {
    return fail(
      ID,
      `DISCORD_BOT_TOKEN is the bot of application ${app.id}, not of discord.clientId ${settings.discord.clientId}`,
      `put the bot token of application ${settings.discord.clientId} in \`npx wrangler secret put DISCORD_BOT_TOKEN\`, or correct discord.clientId in config.json`,
    );
  }
  if (app.redirectUris.includes(wanted)) return ok(ID, `${wanted} is a registered redirect of application ${app.id}`);
  return fail(
    ID,
    `${wanted} is not among the ${app.redirectUris.length} redirect URI(s) registered for application ${app.id}: Discord refuses every login with "Invalid OAuth2 redirect_uri"`,
    `add ${wanted} under OAuth2, Redirects, of application ${app.id} in the Discord developer portal (https://discord.com/developers/applications/${app.id}/oauth2), exactly, then Save`,
  );
}

function isApplication(v: unknown): v is DiscordApplication {
  return typeof v === "object" && v !== null && "redirectUris" in v;
}
