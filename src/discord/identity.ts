// One login's view of Discord: exchange the code, then read the user, their guild list and their
// roles in the configured guilds they are in, as parallel as the data allows, and revoke Discord's
// token after the response. Cost: the exchange, at most 2 + (configured role guilds the user is in)
// reads, and the revoke.
import type { Settings } from "../config";
import type { GuildPlan } from "../guilds/plan";
import type { Membership } from "../guilds/membership";
import { logUnexpected } from "../log";
import { DiscordClient, type DiscordUser } from "./client";

export interface Identity {
  readonly user: DiscordUser;
  /** Present when the plan asked for guilds. */
  readonly membership: Membership | undefined;
}

export function discordClient(settings: Settings, signal?: AbortSignal): DiscordClient {
  return new DiscordClient({
    apiBase: settings.discordApiBase,
    clientId: settings.discord.clientId,
    clientSecret: settings.discordClientSecret,
    timeoutMs: settings.discordTimeoutMs,
    ...(signal && { signal }),
  });
}

/**
 * The user and the guild list are read in parallel; member calls start as soon as the guild list
 * is in (with a bot token they also need the user's id), one per configured guild the user is in.
 * Throws DiscordError on the first Discord failure, and cancels the reads still to come.
 */
export async function readIdentity(
  settings: Settings,
  exec: ExecutionContext,
  code: string,
  redirectUri: string,
  plan: GuildPlan,
): Promise<Identity> {
  const discord = discordClient(settings);
  const token = await discord.exchangeCode(code, redirectUri);
  const failed = new AbortController();
  const reads = discordClient(settings, failed.signal);
  try {
    const userRead = reads.getUser(token.accessToken);
    const membershipRead = plan.guilds ? readMembership(reads, settings.discordBotToken, token.accessToken, userRead, plan) : undefined;
    const [user, membership] = await Promise.all([userRead, membershipRead]);
    return { user, membership };
  } catch (err) {
    failed.abort();
    throw err;
  } finally {
    // The bridge never needs Discord's token again; revoke it after the response is sent.
    exec.waitUntil(discord.revoke(token.accessToken).catch((err: unknown) => logUnexpected("discord.revoke", err)));
  }
}

async function readMembership(
  discord: DiscordClient,
  botToken: string | undefined,
  userToken: string,
  userRead: Promise<DiscordUser>,
  plan: GuildPlan,
): Promise<Membership> {
  const guildIds = await discord.getGuildIds(userToken);
  const memberOf = plan.roleGuilds.filter((g) => guildIds.includes(g));
  if (memberOf.length === 0) return { guildIds, roles: {} };
  const auth = botToken ? { botToken, userId: (await userRead).id } : { userToken };
  const members = await Promise.all(memberOf.map((g) => discord.getMember(g, auth)));
  const roles: Record<string, readonly string[]> = {};
  const left = new Set<string>();
  memberOf.forEach((g, i) => {
    const member = members[i];
    if (member) roles[g] = member.roles;
    // A 404 on a member call means "not a member" (they left between the two calls): drop the guild.
    else left.add(g);
  });
  return { guildIds: left.size > 0 ? guildIds.filter((g) => !left.has(g)) : guildIds, roles };
}
