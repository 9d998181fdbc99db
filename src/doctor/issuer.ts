// issuer: the bridge answers as its configured issuer, and this request reached it there. A bridge
// reached at another origin (workers.dev beside a custom domain) works, but clients must use the issuer.
import type { Settings } from "../config";
import { ok, warn, type Check } from "./check";

export function checkIssuer(settings: Settings, issuer: string, request: Request): Check {
  const origin = new URL(request.url).origin;
  if (settings.issuer === undefined) return ok("issuer", `no issuer in config.json: this local run answers as ${issuer}, the request's origin (set one before deploying)`);
  if (origin === issuer) return ok("issuer", `discovery and every token name ${issuer}, where this bridge answers`);
  return warn(
    "issuer",
    `this bridge was reached at ${origin}, but its issuer is ${issuer}: clients must use ${issuer} (discovery, Auth URL, Token URL) and Discord sends users back to ${issuer}/callback`,
    `make sure ${issuer} reaches this Worker (Workers, Settings, Domains & Routes: add it as a Custom Domain), then run \`npm run doctor -- --remote\`, which checks ${issuer}/.well-known/openid-configuration`,
  );
}
