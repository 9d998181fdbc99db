// Bodies and echoes are bounded before they cost CPU: every endpoint that reads a body reads it as a
// stream and refuses (413) the moment it passes 64 KiB, with or without Content-Length; nothing from
// the request comes back without a length limit.
import { env } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { MAX_BODY_BYTES } from "../../src/checks/params";
import { createWorker } from "../../src/worker";
import fixture from "../fixtures/config.json";
import { ACCESS, ISSUER, accessBasic, accessParams, authorizeUrl, call, codeFor, redeem } from "../helpers/bridge";

/** The Worker called in this isolate, so a streamed body reaches it as it is (no socket in between). */
const worker = createWorker(fixture);
function direct(path: string, init: RequestInit): Promise<Response> {
  return Promise.resolve(worker.fetch!(new Request(new URL(path, ISSUER), { ...init, duplex: "half" } as RequestInit) as Request<unknown, IncomingRequestCfProperties>, env, createExecutionContext()));
}

const CHUNK = 16 * 1024;

/** A form body of `total` bytes that counts how much of it was read. */
function countedBody(total: number): { stream: ReadableStream<Uint8Array>; pulled(): number } {
  const chunk = new TextEncoder().encode(`a=${"x".repeat(CHUNK - 3)}&`);
  let pulled = 0;
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (pulled >= total) return controller.close();
        pulled += chunk.byteLength;
        controller.enqueue(chunk);
      },
    },
    { highWaterMark: 0 },
  );
  return { stream, pulled: () => pulled };
}

const FORM = { "Content-Type": "application/x-www-form-urlencoded" };
const ENDPOINTS: [path: string, headers: Record<string, string>, kind: "page" | "json"][] = [
  ["/authorize", {}, "page"],
  ["/authorize/email", {}, "page"],
  ["/authorize/guilds", {}, "page"],
  ["/authorize/roles", {}, "page"],
  ["/token", { Authorization: accessBasic() }, "json"],
  ["/userinfo", {}, "json"],
];

async function expectTooLarge(res: Response, kind: "page" | "json"): Promise<void> {
  expect(res.status).toBe(413);
  expect(res.headers.get("Location")).toBeNull();
  if (kind === "json") expect(await res.json()).toEqual({ error: "invalid_request", error_description: `the request body is larger than ${MAX_BODY_BYTES} bytes`, request_id: expect.stringMatching(/^[\w-]{8}$/) });
  else {
    expect(res.headers.get("Content-Type")).toMatch(/^text\/html/);
    expect(await res.text()).toContain(`larger than ${MAX_BODY_BYTES} bytes`);
  }
}

describe("request bodies are read with a cap", () => {
  it.each(ENDPOINTS)("POST %s: a 10 MB chunked body with no Content-Length is refused after at most the cap plus one chunk", async (path, headers, kind) => {
    const body = countedBody(10 * 1024 * 1024);
    const res = await direct(path, { method: "POST", headers: { ...FORM, ...headers }, body: body.stream });
    await expectTooLarge(res, kind);
    expect(body.pulled()).toBeLessThanOrEqual(MAX_BODY_BYTES + 2 * CHUNK);
  });

  it.each(ENDPOINTS)("POST %s: a declared Content-Length over the cap is refused without reading the body", async (path, headers, kind) => {
    const body = countedBody(1024 * 1024);
    const res = await direct(path, { method: "POST", headers: { ...FORM, ...headers, "Content-Length": String(1024 * 1024) }, body: body.stream });
    await expectTooLarge(res, kind);
    expect(body.pulled()).toBeLessThanOrEqual(CHUNK);
  });

  it.each(ENDPOINTS)("POST %s: a 1 MB body with its true Content-Length is refused", async (path, headers, kind) => {
    const res = await call(path, { method: "POST", headers: { ...FORM, ...headers }, body: `a=${"x".repeat(1024 * 1024)}` });
    await expectTooLarge(res, kind);
  });

  it("a body just under the cap still works: /token with padding", async () => {
    const code = await codeFor("alice");
    const form = new URLSearchParams({ grant_type: "authorization_code", code, redirect_uri: ACCESS.redirectUri, code_verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk" });
    const padded = `${form.toString()}&pad=${"p".repeat(MAX_BODY_BYTES - form.toString().length - 5)}`;
    expect(padded.length).toBe(MAX_BODY_BYTES);
    const res = await call("/token", { method: "POST", headers: { ...FORM, Authorization: accessBasic() }, body: padded });
    expect(res.status).toBe(200);
  });

  it("POST /authorize/email with a small form still logs in (the body is read once, through the cap)", async () => {
    const body = new URLSearchParams(accessParams({ scope: "openid" }) as Record<string, string>);
    const res = await call("/authorize/email", { method: "POST", headers: FORM, body });
    expect(res.status).toBe(302);
    expect(new URL(res.headers.get("Location")!).searchParams.get("scope")).toBe("identify email");
  });
});

describe("nothing is echoed without a bound", () => {
  it("a 60 KB state is not reflected in the error redirect", async () => {
    const state = "s".repeat(60_000);
    const res = await call(authorizeUrl(accessParams({ state })));
    expect(res.status).toBe(302);
    const location = res.headers.get("Location")!;
    expect(location.length).toBeLessThan(1000);
    const params = new URL(location).searchParams;
    expect(params.get("error")).toBe("invalid_request");
    expect(params.get("state")).toBeNull();
  });

  it("a state within the limit is echoed in an error redirect as RFC 6749 asks", async () => {
    const res = await call(authorizeUrl(accessParams({ state: "s".repeat(1024), response_type: "token" })));
    expect(new URL(res.headers.get("Location")!).searchParams.get("state")).toBe("s".repeat(1024));
  });

  it("a repeated parameter with an outlandish name is not named back", async () => {
    const name = `<x>${"n".repeat(5000)}`;
    const url = `${authorizeUrl(accessParams())}&${encodeURIComponent(name)}=1&${encodeURIComponent(name)}=2`;
    const location = (await call(url)).headers.get("Location")!;
    expect(location.length).toBeLessThan(1000);
    expect(new URL(location).searchParams.get("error_description")).toBe("a parameter is repeated");
    const res = await redeem("x", { [name]: "1" }, { Authorization: accessBasic() });
    expect(JSON.stringify(await res.json()).length).toBeLessThan(300);
  });
});
