// The route table, nothing else.
import { Router } from "itty-router";
import type { RequestContext } from "./context";
import { authorize, authorizeCompat } from "./endpoints/authorize";
import { callback } from "./endpoints/callback";
import { discovery } from "./endpoints/discovery";
import { jwks } from "./endpoints/jwks";
import { landing } from "./endpoints/landing";
import { token } from "./endpoints/token";
import { userinfo } from "./endpoints/userinfo";
import { OAuthError } from "./errors";
import { jsonResponse, oauthErrorResponse } from "./http";

type Handler = (request: Request, ctx: RequestContext) => Response | Promise<Response>;

function methodNotAllowed(allowed: string): Handler {
  return () =>
    jsonResponse(
      { error: "invalid_request", error_description: `use ${allowed}` },
      { status: 405, headers: { Allow: allowed } },
    );
}

const notFound: Handler = () => oauthErrorResponse(new OAuthError("invalid_request", "no such endpoint", { status: 404 }));

export const router = Router<Request, [RequestContext], Response>()
  .get("/", landing)
  .get("/.well-known/openid-configuration", discovery)
  .get("/jwks.json", jwks)
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
