// One issuer per deployment: without a configured issuer the Worker answers only on this machine
// (loopback), never as whatever host a request names; with one, every host gets that issuer.
import { env } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { createWorker } from "../../src/worker";
import fixture from "../fixtures/config.json";
import { ACCESS, accessParams } from "../helpers/bridge";

const { issuer: _configured, ...withoutIssuer } = fixture;

function fetchFrom(worker: ExportedHandler<Env>, url: string): Promise<Response> {
  return Promise.resolve(worker.fetch!(new Request(url, { redirect: "manual" }) as Request<unknown, IncomingRequestCfProperties>, env, createExecutionContext()));
}

describe("issuer", () => {
  it("with no issuer configured, a request on another host is refused (503), not answered as that host's issuer", async () => {
    const worker = createWorker(withoutIssuer);
    const log = vi.spyOn(console, "error").mockImplementation(() => {});
    for (const origin of ["https://evil.example", "https://bridge.you.workers.dev", "https://auth.example.com"]) {
      const doc = await fetchFrom(worker, `${origin}/.well-known/openid-configuration`);
      expect(doc.status).toBe(503);
      expect(await doc.json()).toMatchObject({ error: "server_error" });
      const params = new URLSearchParams(accessParams() as Record<string, string>);
      const authorize = await fetchFrom(worker, `${origin}/authorize?${params}`);
      expect(authorize.status).toBe(503);
      expect(authorize.headers.get("Location")).toBeNull();
      expect(await authorize.text()).toMatch(/not set up correctly\. Its operator has been told/);
    }
    expect(log.mock.calls.map((c) => JSON.parse(String(c[0])).event)).toContain("issuer_missing");
    expect(log.mock.calls.map((c) => JSON.parse(String(c[0])))).toContainEqual(expect.objectContaining({ event: "request_refused", reason: "issuer_missing", status: 503 }));
    log.mockRestore();
  });

  it("with no issuer configured, a local run defaults to its own origin", async () => {
    const worker = createWorker(withoutIssuer);
    for (const origin of ["http://127.0.0.1:8787", "http://localhost:8787", "http://[::1]:8787"]) {
      const doc = await (await fetchFrom(worker, `${origin}/.well-known/openid-configuration`)).json<{ issuer: string }>();
      expect(doc.issuer).toBe(origin);
    }
  });

  it("with an issuer configured, every host answers as that issuer and sends Discord that issuer's callback", async () => {
    const worker = createWorker(fixture);
    for (const origin of ["https://evil.example", "https://bridge.you.workers.dev"]) {
      const doc = await (await fetchFrom(worker, `${origin}/.well-known/openid-configuration`)).json<{ issuer: string; token_endpoint: string }>();
      expect(doc).toMatchObject({ issuer: fixture.issuer, token_endpoint: `${fixture.issuer}/token` });
      const params = new URLSearchParams(accessParams({ client_id: ACCESS.clientId }) as Record<string, string>);
      const res = await fetchFrom(worker, `${origin}/authorize?${params}`);
      expect(new URL(res.headers.get("Location")!).searchParams.get("redirect_uri")).toBe(`${fixture.issuer}/callback`);
    }
  });
});
