// The route table, nothing else.
import { Router } from "itty-router";
import type { RequestContext } from "./context";
import { authorize, authorizeCompat } from "./endpoints/authorize";
import { callback } from "./endpoints/callback";
import { discovery } from "./endpoints/discovery";
import { doctor } from "./endpoints/doctor";
import { jwks } from "./endpoints/jwks";
import { landing } from "./endpoints/landing";
import { token } from "./endpoints/token";
import { userinfo } from "./endpoints/userinfo";
import { OAuthError } from "./errors";
import { oauthErrorResponse } from "./http";
import { logRefused } from "./log";

type Handler = (request: Request, ctx: RequestContext) => Response | Promise<Response>;

/** An OAuth error JSON for a request no endpoint takes, with its one log line. */
function refuse(request: Request, ctx: RequestContext, err: OAuthError): Response {
  logRefused(ctx.requestId, new URL(request.url).pathname, err.status, err.detail, err.error);
  return oauthErrorResponse(err, ctx.requestId);
}

function methodNotAllowed(allowed: string): Handler {
  return (request, ctx) => {
    const res = refuse(request, ctx, new OAuthError("invalid_request", `use ${allowed}`, { status: 405, detail: "method_not_allowed" }));
    res.headers.set("Allow", allowed);
    return res;
  };
}

const notFound: Handler = (request, ctx) => refuse(request, ctx, new OAuthError("invalid_request", "no such endpoint", { status: 404, detail: "no_such_endpoint" }));

export const router = Router<Request, [RequestContext], Response>()
  .get("/", landing)
  .get("/.well-known/openid-configuration", discovery)
  .get("/jwks.json", jwks)
  .get("/doctor", doctor)
  .all("/doctor", methodNotAllowed("GET"))
  .get("/authorize", authorize)
  .post("/authorize", authorize)
  .all("/authorize", methodNotAllowed("GET, POST"))
  .get("/authorize/:mode", authorizeCompat)
  .post("/authorize/:mode", authorizeCompat)
  .get("/callback", callback)
  .all("/callback", methodNotAllowed("GET"))
  .post("/token", token)
  .all("/token", methodNotAllowed("POST"))
  .get("/userinfo", userinfo)
  .post("/userinfo", userinfo)
  .all("/userinfo", methodNotAllowed("GET, POST"))
  .all("*", notFound);
