// One real run of the checks only the Worker can make (it holds the secrets and the bindings): the
// Discord checks (in parallel where they can be), storage and keys. Never throws: every failure is a
// check. Discord calls: 2 (grant, revoke), plus with a bot token 1 (the application) + 1 per role guild.
import type { RequestContext } from "../context";
import { DiscordClient } from "../discord/client";
import { KEYSET_KV_KEY, parseKeySet } from "../keys/keyset";
import { checkBotGuilds, botGuildsSkipped } from "./bot-guilds";
import type { Check } from "./check";
import { checkDiscordRedirect, redirectSkipped } from "./discord-redirect";
import { checkDiscordSecret } from "./discord-secret";
import { checkKeys, publishedKeys, type PublishedKey } from "./keys";
import { checkStorage, readKv } from "./storage";

/** What a run finds; cached and shared (no secret in it). */
export interface RemoteReport {
  readonly checkedAt: string;
  readonly checks: readonly Check[];
  readonly keys: readonly PublishedKey[];
  /** Discord calls the run made. */
  readonly discordCalls: number;
}

export async function runRemoteChecks(ctx: RequestContext, codeStore: boolean): Promise<RemoteReport> {
  const { settings, env, issuer } = ctx;
  const now = Date.now();
  let calls = 0;
  const discord = new DiscordClient({
    apiBase: settings.discordApiBase,
    clientId: settings.discord.clientId,
    clientSecret: settings.discordClientSecret,
    timeoutMs: settings.discordTimeoutMs,
    fetch: (input, init) => {
      calls++;
      return fetch(input, init);
    },
  });
  const bot = settings.discordBotToken;
  const kv = readKv(env, KEYSET_KV_KEY);
  const secret = checkDiscordSecret(settings, discord);
  let redirect: Promise<Check>;
  let guilds: Promise<Check>;
  if (bot) {
    const app = discord.getApplication(bot).catch((err: unknown) => err);
    redirect = app.then((a) => checkDiscordRedirect(settings, issuer, a));
    guilds = app.then(async (a) => {
      const fromApp = typeof a === "object" && a !== null && "botId" in a ? (a as { botId: string | undefined }).botId : undefined;
      const botId = fromApp ?? (await discord.getBotUserId(bot).catch((err: unknown) => err));
      return checkBotGuilds(settings, discord, bot, botId);
    });
  } else {
    redirect = Promise.resolve(redirectSkipped(issuer));
    guilds = Promise.resolve(botGuildsSkipped(settings));
  }
  const probe = await kv;
  const storage = checkStorage(env, { kv: probe, codeStore });
  const text = "text" in probe ? probe.text : null;
  const checks = [await secret, await redirect, await guilds, await storage, ...("text" in probe ? checkKeys(settings, text, now) : [])];
  return { checkedAt: new Date(now).toISOString(), checks, keys: publishedKeys(parseKeySet(text), now), discordCalls: calls };
}
