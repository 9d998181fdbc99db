// Bad input of any kind gets a 4xx in the protocol's format, never a 5xx or a stack trace; every
// response, good or bad, carries X-Content-Type-Options: nosniff.
import { describe, expect, it } from "vitest";
import { accessBasic, accessParams, authorizeUrl, call, callback, discordCode, redeem, startLogin } from "../helpers/bridge";

const paths = ["/", "/authorize", "/callback", "/token", "/userinfo", "/jwks.json", "/.well-known/openid-configuration", "/x", "//authorize", "/authorize/", "/%", "/authorize/__proto__", "/authorize/constructor", "/authorize/toString"];
const methods = ["GET", "POST", "DELETE", "HEAD"];
const bodies: [string, string | Uint8Array][] = [
  ["application/x-www-form-urlencoded", "%%%&&&==="],
  ["application/x-www-form-urlencoded", "a=%E0%A4%A"],
  ["application/x-www-form-urlencoded", new Uint8Array([0xff, 0xfe, 0x00, 0x41])],
  ["application/json", '{"grant_type":"authorization_code"}'],
  ["text/plain", "hello"],
  ["application/x-www-form-urlencoded", "x=".padEnd(70_000, "a")],
];
const queries = ["", "?state=%ZZ", "?client_id=access&redirect_uri=%00", "?code=&state=", "?state=a.b.c.d.e", "?client_id[]=x", `?state=${"x".repeat(5000)}`];

function expectClean(res: Response, label: string): Promise<string> {
  expect(res.status, label).toBeGreaterThanOrEqual(200);
  expect(res.status, label).toBeLessThan(500);
  expect(res.headers.get("X-Content-Type-Options"), label).toBe("nosniff");
  return res.text().then((text) => {
    expect(text, label).not.toMatch(/at .*\.(ts|js):\d+|Error:|stack/);
    return text;
  });
}

describe("every response says nosniff", () => {
  it("success responses of every endpoint: pages, JSON, redirects", async () => {
    const started = await startLogin();
    const login = await callback(started, { code: discordCode("alice") });
    const code = new URL(login.headers.get("Location")!).searchParams.get("code")!;
    const token = await redeem(code);
    const { access_token } = await token.clone().json<{ access_token: string }>();
    const responses: [string, Response][] = [
      ["landing", await call("/")],
      ["discovery", await call("/.well-known/openid-configuration")],
      ["jwks", await call("/jwks.json")],
      ["authorize", await call(authorizeUrl(accessParams()))],
      ["callback", login],
      ["token", token],
      ["userinfo", await call("/userinfo", { headers: { Authorization: `Bearer ${access_token}` } })],
    ];
    for (const [label, res] of responses) {
      expect(res.status, label).toBeLessThan(400);
      expect(res.headers.get("X-Content-Type-Options"), label).toBe("nosniff");
    }
  });
});

describe("no bad input yields a 5xx", () => {
  it("any method on any path, with any query", async () => {
    for (const path of paths) {
      await Promise.all(
        methods.flatMap((method) => queries.map(async (query) => expectClean(await call(`${path}${query}`, { method }), `${method} ${path}${query}`))),
      );
    }
  }, 120_000); // 392 requests: a guard against a hang, generous for a loaded machine

  it("malformed bodies on every POST endpoint", async () => {
    for (const path of ["/authorize", "/token", "/userinfo", "/callback"]) {
      for (const [type, body] of bodies) {
        const res = await call(path, { method: "POST", headers: { "Content-Type": type, Authorization: accessBasic() }, body });
        await expectClean(res, `POST ${path} ${type}`);
      }
    }
  });

  it("odd headers", async () => {
    for (const header of ["Basic", "Basic ", "Basic =", `Basic ${btoa("\u00ff:\u00ff")}`, "Bearer", "Bearer ", "Digest x", "Basic ".padEnd(10_000, "A")]) {
      await expectClean(await call("/token", { method: "POST", headers: { Authorization: header, "Content-Type": "application/x-www-form-urlencoded" }, body: "grant_type=authorization_code&code=x&redirect_uri=y" }), header.slice(0, 20));
      await expectClean(await call("/userinfo", { headers: { Authorization: header } }), header.slice(0, 20));
    }
    const started = await startLogin();
    for (const cookie of ["", ";;;", "__Host-dob_bind", "__Host-dob_bind=", `__Host-dob_bind=${"x".repeat(4000)}`, "a=b; __Host-dob_bind=%%%"]) {
      const url = `/callback?state=${encodeURIComponent(started.state)}&code=alice~x`;
      await expectClean(await call(url, { headers: { Cookie: cookie } }), `cookie ${cookie.slice(0, 20)}`);
    }
  }, 60_000);
});
