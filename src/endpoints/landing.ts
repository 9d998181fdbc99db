// GET /: a page for the operator with exactly what to paste into Cloudflare Access and Discord.
import { isLoopback, type ClientConfig, type GuildConfig } from "../config";
import { discordRedirectUri, type RequestContext } from "../context";
import { usesGuilds } from "../guilds/plan";
import { OAuthError } from "../errors";
import { escapeHtml, htmlPage, oauthErrorResponse } from "../http";
import { logRefused } from "../log";

/** The OIDC claims to list in Access, so its policies can select them. */
function claimNames(guilds: GuildConfig, withGuilds: boolean): string {
  const base = ["id", "preferred_username", "name", "email"];
  if (!withGuilds) return base.join(", ");
  return [...base, "guilds", "groups", ...guilds.roleGuilds.map((g) => `roles:${g}`)].join(", ");
}

/** Who this client lets in, in words. */
function gateText(client: ClientConfig, guilds: GuildConfig): string {
  const name = (g: string) => (guilds.names[g] ? `${guilds.names[g]} (${g})` : g);
  const parts: string[] = [];
  if (client.requireGuilds.length > 0) parts.push(`members of ${client.requireGuilds.map(name).join(" or ")}`);
  if (client.requireRoles.length > 0) parts.push(`holding ${client.requireRoles.join(" or ")}`);
  return parts.length > 0 ? `only ${parts.join(", ")} (checked at login)` : "any Discord user (decide in your Access policy)";
}

function row(label: string, value: string): string {
  return `<tr><th>${escapeHtml(label)}</th><td><code>${escapeHtml(value)}</code></td></tr>`;
}

/** The top of every landing page: what this is, and the one thing Discord needs. */
function intro(ctx: RequestContext): string {
  return `<p>This service lets applications log people in with Discord, using OpenID Connect.</p>
<h2>1. In the Discord developer portal</h2>
<p>Under OAuth2 of application <code>${escapeHtml(ctx.settings.discord.clientId)}</code>, add this redirect:</p>
<pre>${escapeHtml(discordRedirectUri(ctx.issuer))}</pre>`;
}

function discoveryLine(issuer: string): string {
  return `<p>Discovery document: <a href="/.well-known/openid-configuration"><code>${escapeHtml(issuer)}/.well-known/openid-configuration</code></a></p>`;
}

export function landing(request: Request, ctx: RequestContext): Response {
  const { issuer, settings } = ctx;
  if (settings.landingPage === "off") {
    logRefused(ctx.requestId, "/", 404, "no_such_endpoint");
    return oauthErrorResponse(new OAuthError("invalid_request", "no such endpoint", { status: 404, detail: "no_such_endpoint" }), ctx.requestId);
  }
  if (settings.landingPage === "minimal") {
    return htmlPage("Discord OpenID Connect bridge", `${intro(ctx)}
<h2>2. In your applications</h2>
${discoveryLine(issuer)}
<p class="muted">The operator of this service shows no client settings here (<code>landingPage: "minimal"</code>).</p>`);
  }
  // npm start's demo client, on a local bridge only.
  const demo = settings.demoUrl && isLoopback(new URL(request.url).hostname) ? `<p><strong>Local mode</strong>: <a href="${escapeHtml(settings.demoUrl)}">try a login with the demo application</a> (fake Discord).</p>
` : "";
  const withGuilds = usesGuilds(settings.guilds, settings.clients);
  const scopes = withGuilds ? "openid email profile guilds" : "openid email profile";
  const clients = settings.clients
    .map(
      (c) => `<h3>${escapeHtml(c.name)}</h3>
<table>
${row("App ID", c.clientId)}
<tr><th>Client secret</th><td>the secret <code>npm run client -- add</code> printed when this client was created (only its hash is stored here)</td></tr>
${row("Auth URL", `${issuer}/authorize`)}
${row("Token URL", `${issuer}/token`)}
${row("Certificate URL", `${issuer}/jwks.json`)}
${row("Proof Key for Code Exchange (PKCE)", c.requirePkce ? "on (required for this client)" : "on (recommended)")}
${row("Scopes", scopes)}
${row("OIDC claims", claimNames(settings.guilds, withGuilds))}
${row("Who may log in", gateText(c, settings.guilds))}
${row("Registered redirect URIs", c.redirectUris.join("  "))}
${row("Email claim", c.syntheticEmailDomain ? `the Discord-verified address; else <discord id>@${c.syntheticEmailDomain} (email_verified false)` : "only a Discord-verified address; none otherwise")}
${row("ID token signature", c.idTokenSigningAlgNamed ? c.idTokenSigningAlg : `${c.idTokenSigningAlg} (the default)`)}
</table>`,
    )
    .join("\n");
  return htmlPage(
    "Discord OpenID Connect bridge",
    `${demo}${intro(ctx)}
<h2>2. In Cloudflare Access (Settings, Authentication, Add new: OpenID Connect)</h2>
${clients}
<h2>Self-check</h2>
<p><a href="/doctor">Self-check</a>: the bridge checks its Discord secret, its redirect at Discord, its bot, storage and signing keys, and says what to change and where (the result is kept for 5 minutes). <code>npm run doctor -- --remote</code> prints it, with the checks only your machine can make.</p>
<h2>For other OpenID Connect clients</h2>
${discoveryLine(issuer)}
<p class="muted">Issuer <code>${escapeHtml(issuer)}</code>. Signing keys rotate every ${settings.keys.rotationPeriodDays} days; public keys at <code>${escapeHtml(issuer)}/jwks.json</code>.</p>`,
  );
}
