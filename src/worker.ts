// The Worker, built from a raw configuration object: validate it (with the environment) once per
// isolate, then hand each request to the router. Anything unexpected becomes a plain `server_error`,
// never a stack trace. Entry modules (src/index.ts, dev/, tests) choose which config.json to bundle.
import { loadSettings, type Settings } from "./config";
import { issuerFor, newRequestId, type RequestContext } from "./context";
import { doctorNotSetUp } from "./endpoints/doctor";
import { ConfigError, OAuthError } from "./errors";
import { errorPage, oauthErrorResponse } from "./http";
import { rotateKeys } from "./keys/scheduled";
import { logRefused, logUnexpected } from "./log";
import { router } from "./router";
import { configWarnings } from "./warnings";

function wantsHtml(request: Request): boolean {
  const path = new URL(request.url).pathname;
  return path === "/" || path === "/callback" || path === "/authorize" || path.startsWith("/authorize/");
}

/**
 * A 503 for a bridge that is not set up correctly: a page for browser URLs, an OAuth error elsewhere.
 * Members see only that the operator has been told; what is wrong is in the log (and `npm run check`).
 */
function notSetUp(request: Request, requestId: string, reason: "config_invalid" | "issuer_missing"): Response {
  logRefused(requestId, new URL(request.url).pathname, 503, reason, "server_error");
  // The self-check says what is wrong in general, and where to find the details; never the field.
  if (new URL(request.url).pathname === "/doctor" && request.method === "GET") return doctorNotSetUp(reason, requestId);
  const message = "This login service is not set up correctly. Its operator has been told, in the service's log.";
  if (wantsHtml(request)) return errorPage("This login service is not available", message, requestId, 503, "Try again later, or ask the people who run the application you came from.");
  return oauthErrorResponse(new OAuthError("server_error", message, { status: 503, detail: reason }), requestId);
}

export function createWorker(rawConfig: unknown): ExportedHandler<Env> {
  const settingsByEnv = new WeakMap<Env, Settings | ConfigError>();

  function settingsFor(env: Env): Settings | ConfigError {
    let settings = settingsByEnv.get(env);
    if (!settings) {
      try {
        settings = loadSettings(rawConfig, env);
        const warnings = configWarnings(settings);
        if (warnings.length > 0) console.warn(JSON.stringify({ event: "config_warning", warnings }));
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        settings = err;
        console.error(JSON.stringify({ event: "config_invalid", problems: err.problems }));
      }
      settingsByEnv.set(env, settings);
    }
    return settings;
  }

  return {
    async fetch(request, env, exec): Promise<Response> {
      const requestId = newRequestId();
      const settings = settingsFor(env);
      if (settings instanceof ConfigError) return notSetUp(request, requestId, "config_invalid");
      const issuer = issuerFor(settings, request);
      if (issuer === undefined) {
        console.error(JSON.stringify({ event: "issuer_missing", host: new URL(request.url).host.slice(0, 100), request_id: requestId }));
        return notSetUp(request, requestId, "issuer_missing");
      }
      const ctx: RequestContext = { env, exec, settings, issuer, requestId };
      try {
        return await router.fetch(request, ctx);
      } catch (err) {
        const path = new URL(request.url).pathname;
        // An OAuthError that no endpoint answered (a key store that is down, say) keeps its status.
        if (err instanceof OAuthError) {
          logRefused(requestId, path, err.status, err.detail, err.error);
          return wantsHtml(request) ? errorPage("The login service is not available", err.description, requestId, err.status, "Try again in a minute.") : oauthErrorResponse(err, requestId);
        }
        logUnexpected(path, err, requestId);
        const unexpected = new OAuthError("server_error", "unexpected error", { status: 500, detail: "unexpected_error" });
        if (wantsHtml(request)) return errorPage("Something went wrong", "The login service had an unexpected problem.", requestId, 500, "Try again in a minute.");
        return oauthErrorResponse(unexpected, requestId);
      }
    },

    /** Cron trigger (wrangler.toml [triggers]): rotate the signing keys. */
    async scheduled(controller, env): Promise<void> {
      const settings = settingsFor(env);
      if (settings instanceof ConfigError) return;
      await rotateKeys(env, settings, controller.scheduledTime);
    },
  };
}
