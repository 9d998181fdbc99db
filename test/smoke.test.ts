import { exports } from "cloudflare:workers";
import { expect, it } from "vitest";
it("serves discovery", async () => {
  const r = await exports.default.fetch("https://bridge.test/.well-known/openid-configuration");
  expect(r.status).toBe(200);
  const j = await r.json<any>();
  expect(j.issuer).toBe("https://bridge.test");
  const k = await exports.default.fetch("https://bridge.test/jwks.json");
  console.log(await k.text());
});
