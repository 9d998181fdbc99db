// The Worker, built from a raw configuration object: validate it (with the environment) once per
// isolate, then hand each request to the router. Anything unexpected becomes a plain `server_error`,
// never a stack trace. Entry modules (src/index.ts, dev/, tests) choose which config.json to bundle.
import { loadSettings, type Settings } from "./config";
import { issuerFor, type RequestContext } from "./context";
import { ConfigError, OAuthError } from "./errors";
import { errorPage, jsonResponse, oauthErrorResponse } from "./http";
import { rotateKeys } from "./keys/scheduled";
import { logUnexpected } from "./log";
import { router } from "./router";
import { configWarnings } from "./warnings";

function wantsHtml(request: Request): boolean {
  const path = new URL(request.url).pathname;
  return path === "/" || path === "/callback" || path === "/authorize" || path.startsWith("/authorize/");
}

/** A 503 for a bridge that is not set up correctly: a page for browser URLs, an OAuth error elsewhere. */
function notSetUp(request: Request, message: string): Response {
  if (wantsHtml(request)) return errorPage("This login service is not set up correctly", message, 503);
  return jsonResponse({ error: "server_error", error_description: message }, { status: 503 });
}

function misconfigured(request: Request, err: ConfigError): Response {
  return notSetUp(request, `The login service is misconfigured. The operator should run \`npm run check\`. Problems: ${err.problems.join("; ")}`);
}

/** A bridge with no configured issuer, reached on a host that is not this machine. */
function noIssuer(request: Request): Response {
  return notSetUp(request, "This login service has no fixed address configured yet. The operator must set issuer in config.json and deploy again (npm run check says how).");
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
      const settings = settingsFor(env);
      if (settings instanceof ConfigError) return misconfigured(request, settings);
      const issuer = issuerFor(settings, request);
      if (issuer === undefined) {
        console.error(JSON.stringify({ event: "issuer_missing", host: new URL(request.url).host.slice(0, 100) }));
        return noIssuer(request);
      }
      const ctx: RequestContext = { env, exec, settings, issuer };
      try {
        return await router.fetch(request, ctx);
      } catch (err) {
        // An OAuthError that no endpoint answered (a key store that is down, say) keeps its status.
        if (err instanceof OAuthError) {
          logUnexpected(new URL(request.url).pathname, err);
          return wantsHtml(request) ? errorPage("The login service is not available", err.description, err.status) : oauthErrorResponse(err);
        }
        logUnexpected(new URL(request.url).pathname, err);
        if (wantsHtml(request)) return errorPage("Something went wrong", "The login service had an unexpected problem. Try again in a minute.", 500);
        return jsonResponse({ error: "server_error", error_description: "unexpected error" }, { status: 500 });
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
