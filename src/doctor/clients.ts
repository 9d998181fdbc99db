// clients: each client's redirect URIs look like what its software sends. Only what is certainly
// wrong fails (an Access callback that is not Access's, the bridge's own callback); the rest warns.
import { isLocalHost, type BridgeConfig } from "../config";

type ClientsConfig = Pick<BridgeConfig, "issuer" | "clients">;
import { ok, fail, warn, type Check } from "./check";

const ACCESS_CALLBACK = /^https:\/\/[a-z0-9]([a-z0-9-]*[a-z0-9])?\.cloudflareaccess\.com\/cdn-cgi\/access\/callback$/;
const ACCESS_FIX = "Cloudflare Access sends exactly https://<team>.cloudflareaccess.com/cdn-cgi/access/callback (your team domain: Zero Trust, Settings, Custom Pages); put that in redirectUris in config.json, then `npm run deploy`";

function problem(settings: ClientsConfig, issuer: string, id: string, uri: string): Check | undefined {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return undefined; // validated at start-up
  }
  const where = `client ${id}: redirect URI ${uri}`;
  if (url.hostname === "cloudflareaccess.com" || url.hostname.endsWith(".cloudflareaccess.com") || url.hostname.includes("cloudflareaccess")) {
    if (url.hostname === "your-team.cloudflareaccess.com") return fail(`client:${id}`, `${where} is the example's placeholder`, ACCESS_FIX);
    if (!ACCESS_CALLBACK.test(uri)) return fail(`client:${id}`, `${where} is not Access's callback`, ACCESS_FIX);
    return undefined;
  }
  if (url.pathname === "/cdn-cgi/access/callback") return warn(`client:${id}`, `${where} is Access's callback path on a host other than <team>.cloudflareaccess.com`, ACCESS_FIX);
  if (url.origin === issuer) {
    return fail(`client:${id}`, `${where} is on the bridge itself (${issuer}/callback is Discord's redirect, not a client's)`, "use the client's own callback URL (for Access: https://<team>.cloudflareaccess.com/cdn-cgi/access/callback) in config.json, then `npm run deploy`");
  }
  const local = settings.issuer === undefined || isLocalHost(new URL(issuer).hostname);
  if (!local && isLocalHost(url.hostname)) return warn(`client:${id}`, `${where} is a loopback address on a deployed bridge: only a browser on that same machine can finish a login`, "use the client's public callback URL in config.json");
  return undefined;
}

export function checkClients(settings: ClientsConfig, issuer: string): Check[] {
  const found = settings.clients.flatMap((c) => c.redirectUris.map((u) => problem(settings, issuer, c.clientId, u)).filter((p): p is Check => p !== undefined));
  if (found.length > 0) return found;
  const count = settings.clients.reduce((n, c) => n + c.redirectUris.length, 0);
  return [ok("clients", `the ${count} redirect URI(s) of ${settings.clients.length} client(s) look right`)];
}

/**
 * The clients' checks for a bridge whose operator keeps client settings private (landingPage not
 * "full"): how many problems, not which clients; `npm run doctor` names them from config.json.
 */
export function withoutClientNames(checks: readonly Check[], landingPage: string): Check[] {
  const problems = checks.filter((c) => c.status !== "ok");
  if (problems.length === 0) return [...checks];
  const status = problems.some((c) => c.status === "fail") ? "fail" : "warn";
  const check = { id: "clients", message: `${problems.length} problem(s) with clients' redirect URIs, not named here (landingPage is "${landingPage}")`, fix: "run `npm run doctor` on your machine: it checks config.json's clients itself and names them" };
  return [status === "fail" ? fail(check.id, check.message, check.fix) : warn(check.id, check.message, check.fix)];
}
