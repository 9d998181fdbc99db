// Example: a small community tool behind Cloudflare Access, using the bridge's policy helper.
//   GET /                          any member of the main guild (withDiscord wraps the handler)
//   GET /admin, GET /admin/claims  the bridge's "moderators" group (discordAuth guards the /admin group);
//                                  with DISCORD_BOT_TOKEN set, Discord is also asked whether the user is
//                                  still a moderator (Access decides only at login; sessions last hours)
// Every answer is JSON showing who asked; a refused request gets the helper's fixed 401/403 body.
import { Router, type IRequest } from "itty-router";
// In your app: install the package (from your fork or a tarball: main README, "Policy helper") and
// import from "discord-oidc-bridge/policy" instead.
import {
  accessVerifier,
  discordAuth,
  liveMembership,
  parsePolicy,
  withDiscord,
  type DiscordIdentity,
  type Outcome,
} from "../src/policy/index.js";

export interface Env {
  /** Your Zero Trust team name: "myteam" for myteam.cloudflareaccess.com. */
  readonly ACCESS_TEAM: string;
  /** The Access application's AUD tag (Zero Trust, Access, Applications, your app, Overview). */
  readonly ACCESS_AUD: string;
  /** Optional: a bot that is in the main guild. When set, /admin asks Discord live. */
  readonly DISCORD_BOT_TOKEN?: string;
  /** Optional: another Discord API base, e.g. a local fake (default https://discord.com/api/v10). */
  readonly DISCORD_API_BASE?: string;
}

/** Your community's guild and its moderator role (the bridge's "moderators" group is that role there). */
const MAIN_GUILD = "300000000000000001";
const MODERATOR_ROLE = "400000000000000001";

/** Who may use what, as plain JSON (it could as well come from a config file); checked once, at startup. */
const POLICIES = {
  members: parsePolicy({ include: [{ guild: MAIN_GUILD }] }),
  moderators: parsePolicy({ include: [{ group: "moderators" }] }),
};

/** What the pages show about the caller. */
function whoami(identity: DiscordIdentity) {
  const { source, userId, username, email, guilds, roles, groups } = identity;
  return { source, userId, username, email, guilds, roles, groups };
}

/** One log line per decision (status, stable reason, user id, deciding rule); never the token. */
const logDecision = (route: string) => (outcome: Outcome) => console.log(JSON.stringify({ route, ...outcome }));

/** After discordAuth has let a request through, the later handlers find the identity on it. */
type Authed = IRequest & { discord: DiscordIdentity };

function createApp(env: Env) {
  if (!env.ACCESS_TEAM || !env.ACCESS_AUD) throw new Error("set ACCESS_TEAM and ACCESS_AUD (see examples/README.md)");
  const verifier = accessVerifier({ team: env.ACCESS_TEAM, audience: env.ACCESS_AUD });
  const live = env.DISCORD_BOT_TOKEN
    ? liveMembership({
        botToken: env.DISCORD_BOT_TOKEN,
        guild: MAIN_GUILD,
        anyRole: [MODERATOR_ROLE],
        ttlSeconds: 60,
        ...(env.DISCORD_API_BASE && { apiBase: env.DISCORD_API_BASE }),
      })
    : undefined;

  const home = withDiscord({ verifier, policy: POLICIES.members, onDecision: logDecision("/") }, (_request, identity) =>
    Response.json({ page: "home", you: whoami(identity) }),
  );
  const moderatorsOnly = discordAuth({ verifier, policy: POLICIES.moderators, ...(live && { live }), onDecision: logDecision("/admin") });

  return Router<IRequest, [Env, ExecutionContext], Response>()
    .get("/", home)
    .all("/admin/*", moderatorsOnly)
    .get("/admin", ({ discord }: Authed) => Response.json({ page: "admin", liveChecked: live !== undefined, you: whoami(discord) }))
    // Where Access put the bridge's claims in its token (top level or under "custom"), as verified.
    .get("/admin/claims", ({ discord }: Authed) => Response.json({ page: "claims", claims: discord.claims }))
    .all("*", () => Response.json({ error: { code: "NOT_FOUND", message: "No such page." } }, { status: 404 }));
}

/**
 * One app per env, built on its first request: the verifier inside keeps jose's cache of the team's
 * keys (and the live check its cache of Discord's answers) across requests. Workers hands every
 * request of an isolate the same env object.
 */
const apps = new WeakMap<Env, ReturnType<typeof createApp>>();

export default {
  fetch(request, env, ctx) {
    let app = apps.get(env);
    if (!app) apps.set(env, (app = createApp(env)));
    return app.fetch(request, env, ctx);
  },
} satisfies ExportedHandler<Env>;
