// discord-oidc-bridge/policy: check the bridge's Discord guild and role claims inside the apps that
// Cloudflare Access (or the bridge itself) protects. Depends on jose only; runs in Workers, Node,
// Deno and Bun. README "Policy helper" has the guide.
export { AuthError, PolicyConfigError, type AuthFailure } from "./errors.js";
export { toIdentity, type DiscordIdentity } from "./identity.js";
export { liveMembership, type LiveCheck, type LiveOptions, type LiveReason, type LiveResult } from "./live.js";
export { discordAuth, forbidden, guard, unauthorized, withDiscord, type GuardOptions, type GuardResult, type Outcome } from "./middleware.js";
export { evaluate, parsePolicy, type Decision, type DecisionReason, type Policy, type Predicate } from "./rules.js";
export { accessVerifier, bridgeVerifier, cookieValue, type AccessVerifierOptions, type BridgeVerifierOptions, type Verifier } from "./verify.js";
