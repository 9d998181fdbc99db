// The policy helper as an app gets it: `npm pack` (which builds lib/policy through `prepare`), install
// the tarball into a fresh ESM project, and use "discord-oidc-bridge/policy" from plain Node, Bun and
// Deno against a local HTTP server publishing a JWKS where Access publishes its certs. Also
// type-checks a consumer against the packed declarations.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..", "..");
const rootPackage = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { dependencies: Record<string, string> };

let tmp: string;
let app: string;
let installed: string;

/** The parent npm's description of this repository must not leak into the app's npm (local_prefix would point it here). */
const childEnv = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !/^npm_(package_|lifecycle_|command$|config_local_prefix$)/i.test(k)),
);

/** Runs a command; on failure, throws with everything it printed (tsc prints its errors on stdout). */
function run(command: string, args: string[], cwd: string): string {
  try {
    return execFileSync(command, args, { cwd, env: childEnv, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 45_000 });
  } catch (err) {
    const { stdout, stderr } = err as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(" ")} failed in ${cwd}:\n${stdout ?? ""}${stderr ?? ""}`);
  }
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "policy-package-"));
  run("npm", ["pack", "--pack-destination", tmp], ROOT);
  const tarball = readdirSync(tmp).find((f) => f.endsWith(".tgz"));
  if (!tarball) throw new Error(`npm pack left no tarball in ${tmp}`);

  app = join(tmp, "app");
  mkdirSync(app);
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "policy-consumer", private: true, type: "module" }));
  run("npm", ["install", join(tmp, tarball), "--no-audit", "--no-fund", "--prefer-offline"], app);
  installed = join(app, "node_modules", "discord-oidc-bridge");
}, 60_000);

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe("the packed package", () => {
  it("holds the built helper (and its sources), not the Worker", () => {
    const files = filesUnder(installed).map((f) => relative(installed, f));
    expect(files).toContain("lib/policy/index.js");
    expect(files).toContain("lib/policy/index.d.ts");
    expect(existsSync(join(installed, "src", "endpoints"))).toBe(false);
    const outside = files.filter((f) => !/^(lib\/policy\/\w+\.(js|d\.ts)|src\/policy\/\w+\.ts|package\.json|README\.md|LICENSE)$/.test(f));
    expect(outside).toEqual([]);
    // Every module of src/policy is built.
    const modules = readdirSync(join(ROOT, "src", "policy")).filter((f) => f.endsWith(".ts")).map((f) => f.replace(/\.ts$/, ".js"));
    expect(modules.length).toBeGreaterThan(0);
    expect(readdirSync(join(installed, "lib", "policy")).filter((f) => f.endsWith(".js")).sort()).toEqual(modules.sort());
  });

  it("depends on jose only, and installs nothing else", () => {
    const pkg = JSON.parse(readFileSync(join(installed, "package.json"), "utf8")) as Record<string, unknown>;
    expect(pkg.dependencies).toEqual({ jose: rootPackage.dependencies.jose });
    expect(pkg.peerDependencies).toBeUndefined();
    expect(pkg.optionalDependencies).toBeUndefined();
    expect(readdirSync(join(app, "node_modules")).filter((f) => !f.startsWith(".")).sort()).toEqual(["discord-oidc-bridge", "jose"]);
  });

  it("type-checks a consumer against the packed declarations (NodeNext)", () => {
    writeFileSync(join(app, "consumer.ts"), CONSUMER_TS);
    writeFileSync(
      join(app, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", lib: ["ES2022", "DOM"], types: [], strict: true, noEmit: true, skipLibCheck: false },
        files: ["consumer.ts"],
      }),
    );
    expect(run(process.execPath, [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"], app)).toBe("");
  });
});

describe("discord-oidc-bridge/policy in plain Node", () => {
  let result: ScriptResult;

  beforeAll(() => {
    writeFileSync(join(app, "check.mjs"), CHECK_MJS);
    const out = run(process.execPath, ["check.mjs"], app);
    result = JSON.parse(out) as ScriptResult;
  }, 30_000);

  it("resolves to the built ESM in lib/policy", () => {
    expect(result.resolved).toBe(pathToFileURL(join(realpathSync(installed), "lib", "policy", "index.js")).href);
  });

  it("verifies a valid Access token, from the header and from the cookie", () => {
    const alice = {
      ok: true,
      source: "access",
      userId: "80351110224678912",
      username: "alice",
      email: "alice@example.com",
      emailVerified: true,
      guilds: ["300000000000000001"],
      roles: { "300000000000000001": ["400000000000000001"] },
      groups: ["300000000000000001", "moderators"],
    };
    expect(result.verify.valid).toEqual(alice);
    expect(result.verify.cookie).toEqual(alice);
  });

  it.each([
    ["expired", "token_expired"],
    ["notYetValid", "token_not_yet_valid"],
    ["wrongIssuer", "wrong_issuer"],
    ["wrongAudience", "wrong_audience"],
    ["wrongKey", "bad_signature"],
    ["algNone", "alg_not_allowed"],
    ["algHs256", "alg_not_allowed"],
    ["tampered", "bad_signature"],
    ["missingHeader", "token_missing"],
    ["malformedHeader", "token_malformed"],
  ])("refuses %s with AuthError %s", (name, code) => {
    expect(result.verify[name]).toEqual({ ok: false, error: "AuthError", code });
  });

  it("fetched the JWKS once for all of it", () => {
    expect(result.certRequests).toBe(1);
  });

  it("decides with a parsed policy, and names a bad rule", () => {
    expect(result.decisions.alice).toEqual({ allow: true, reason: "allowed", rule: "include[0]" });
    expect(result.decisions.bob).toEqual({ allow: false, reason: "require_failed", rule: "require[0]" });
    expect(result.decisions.badPolicy).toEqual({ name: "PolicyConfigError", path: "policy.include[0].role" });
  });

  it("withDiscord answers 401, 403 and 200", () => {
    const refusal = { contentType: "application/json; charset=utf-8", cacheControl: "no-store" };
    expect(result.withDiscord.none).toEqual({ status: 401, body: { error: { code: "UNAUTHORIZED", message: expect.any(String) } }, ...refusal });
    expect(result.withDiscord.bob).toEqual({ status: 403, body: { error: { code: "FORBIDDEN", message: expect.any(String) } }, ...refusal });
    expect(result.withDiscord.alice).toMatchObject({ status: 200, body: { hello: "alice", extra: "from-caller" } });
  });
});

/**
 * The same script under Bun and Deno, from the same fresh project: their Linux x64 builds come from
 * the npm registry as plain packages (installed beside the app, not into it).
 */
const RUNTIMES = { bun: ["@oven/bun-linux-x64@1.4.5", "bin/bun"], deno: ["@deno/linux-x64-glibc@2.9.6", "deno"] } as const;

describe("discord-oidc-bridge/policy in Bun and Deno", () => {
  let nodeResult: Omit<ScriptResult, "resolved">;
  let tools: string;

  beforeAll(() => {
    const { resolved: _, ...rest } = JSON.parse(run(process.execPath, ["check.mjs"], app)) as ScriptResult;
    nodeResult = rest;
    tools = join(tmp, "runtimes");
    mkdirSync(tools);
    writeFileSync(join(tools, "package.json"), JSON.stringify({ name: "runtimes", private: true }));
    run("npm", ["install", ...Object.values(RUNTIMES).map(([pkg]) => pkg), "--no-audit", "--no-fund", "--prefer-offline"], tools);
  }, 60_000);

  /** The runtimes' own Response.json differs in its Content-Type spelling; the 200 body is the script's, not ours. */
  const comparable = (r: Omit<ScriptResult, "resolved">) => {
    const alice = { ...(r.withDiscord.alice as Record<string, unknown>) };
    delete alice.contentType;
    return { ...r, withDiscord: { ...r.withDiscord, alice } };
  };

  const binary = (name: keyof typeof RUNTIMES) => join(tools, "node_modules", RUNTIMES[name][0].replace(/@[^@]+$/, ""), RUNTIMES[name][1]);

  it("Bun gives the same results as Node", () => {
    const out = JSON.parse(run(binary("bun"), ["check.mjs"], app)) as ScriptResult;
    expect(out.resolved).toContain("/node_modules/discord-oidc-bridge/lib/policy/index.js");
    const { resolved: _, ...rest } = out;
    expect(comparable(rest)).toEqual(comparable(nodeResult));
  });

  it("Deno gives the same results as Node", () => {
    const out = JSON.parse(run(binary("deno"), ["run", "--allow-all", "--quiet", "check.mjs"], app)) as ScriptResult;
    expect(out.resolved).toContain("/node_modules/discord-oidc-bridge/lib/policy/index.js");
    const { resolved: _, ...rest } = out;
    expect(comparable(rest)).toEqual(comparable(nodeResult));
  });
});

interface ScriptResult {
  resolved: string;
  verify: Record<string, unknown>;
  certRequests: number;
  decisions: Record<string, unknown>;
  withDiscord: Record<string, unknown>;
}

/** Compiled against lib/policy/*.d.ts; `@ts-expect-error` fails the build if the types went loose (any). */
const CONSUMER_TS = `import { accessVerifier, parsePolicy, withDiscord, type Decision, type DiscordIdentity } from "discord-oidc-bridge/policy";

const verifier = accessVerifier({ team: "testteam", audience: "aud" });
const policy = parsePolicy({ include: [{ group: "moderators" }] });
export const handler = withDiscord({ verifier, policy }, (_request: Request, who: DiscordIdentity) => Response.json({ id: who.userId }));
export const reason: Decision["reason"] = "allowed";
// @ts-expect-error: the audience is required
accessVerifier({ team: "testteam" });
// @ts-expect-error: userId is a string or undefined
export const n: number = ({} as DiscordIdentity).userId;
`;

/** Runs in the fresh project with plain \`node\`; prints one JSON result. */
const CHECK_MJS = `import { createServer } from "node:http";
import { SignJWT, UnsecuredJWT, exportJWK, generateKeyPair } from "jose";
import { AuthError, accessVerifier, evaluate, parsePolicy, withDiscord } from "discord-oidc-bridge/policy";

const TEAM = "https://testteam.cloudflareaccess.com";
const AUD = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";
const G = "300000000000000001";

const { publicKey, privateKey } = await generateKeyPair("RS256", { extractable: true });
const stranger = await generateKeyPair("RS256");
const jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "RS256", use: "sig" };

let certRequests = 0;
const server = createServer((req, res) => {
  if (req.method === "GET" && req.url === "/cdn-cgi/access/certs") {
    certRequests++;
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end(JSON.stringify({ keys: [jwk], public_cert: { kid: "k1", cert: "(placeholder)" }, public_certs: [{ kid: "k1", cert: "(placeholder)" }] }));
    return;
  }
  res.writeHead(404).end();
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const certsUrl = \`http://127.0.0.1:\${server.address().port}/cdn-cgi/access/certs\`;

const verifier = accessVerifier({ team: "testteam", audience: AUD, certsUrl });

const now = Math.floor(Date.now() / 1000);
const ALICE = { id: "80351110224678912", preferred_username: "alice", email_verified: true, guilds: [G], groups: [G, "moderators"], [\`roles:\${G}\`]: ["400000000000000001"] };
const BOB = { id: "175928847299117063", preferred_username: "bob", guilds: ["300000000000000004"], groups: ["300000000000000004", "moderators"] };

/** An Access application token: Access's claims at top level, the bridge's under "custom". */
function sign(custom, email, o = {}) {
  return new SignJWT({ type: "app", email, custom })
    .setProtectedHeader({ alg: "RS256", kid: "k1" })
    .setIssuer(o.iss ?? TEAM)
    .setAudience([o.aud ?? AUD])
    .setSubject("6c1ab5a4-0f3c-4c43-9c1f-1d1e1f202122")
    .setIssuedAt(now)
    .setNotBefore(o.nbf ?? now)
    .setExpirationTime(o.exp ?? now + 600)
    .sign(o.key ?? privateKey);
}

const request = (headers = {}) => new Request("http://app.local/", { headers });
const viaHeader = (token) => request({ "Cf-Access-Jwt-Assertion": token });

async function outcome(req) {
  try {
    const { claims, ...id } = await verifier.verify(req);
    return { ok: true, ...id };
  } catch (err) {
    return { ok: false, error: err instanceof AuthError ? "AuthError" : String(err), code: err.code };
  }
}

const valid = await sign(ALICE, "alice@example.com");
const [h, p, s] = valid.split(".");
const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, "base64url").toString()), custom: { ...ALICE, id: BOB.id } })).toString("base64url");
const hmacSecret = Buffer.from(jwk.n, "base64url");
const unsigned = new UnsecuredJWT({ type: "app", email: "alice@example.com", custom: ALICE })
  .setIssuer(TEAM).setAudience([AUD]).setIssuedAt(now).setExpirationTime(now + 600).encode();

const verify = {
  valid: await outcome(viaHeader(valid)),
  cookie: await outcome(request({ Cookie: \`lang=en; CF_Authorization=\${valid}\` })),
  expired: await outcome(viaHeader(await sign(ALICE, "alice@example.com", { exp: now - 600 }))),
  notYetValid: await outcome(viaHeader(await sign(ALICE, "alice@example.com", { nbf: now + 600 }))),
  wrongIssuer: await outcome(viaHeader(await sign(ALICE, "alice@example.com", { iss: "https://otherteam.cloudflareaccess.com" }))),
  wrongAudience: await outcome(viaHeader(await sign(ALICE, "alice@example.com", { aud: "another-application" }))),
  wrongKey: await outcome(viaHeader(await sign(ALICE, "alice@example.com", { key: stranger.privateKey }))),
  algNone: await outcome(viaHeader(unsigned)),
  algHs256: await outcome(viaHeader(await new SignJWT({ custom: ALICE }).setProtectedHeader({ alg: "HS256", kid: "k1" })
    .setIssuer(TEAM).setAudience([AUD]).setExpirationTime(now + 600).sign(hmacSecret))),
  tampered: await outcome(viaHeader(\`\${h}.\${forged}.\${s}\`)),
  missingHeader: await outcome(request()),
  malformedHeader: await outcome(viaHeader("Bearer not-a-token")),
};

const policy = parsePolicy({ include: [{ group: "moderators" }], require: [{ guild: G }] });
const bobIdentity = await verifier.verifyToken(await sign(BOB, "bob@example.net"));
let badPolicy;
try {
  parsePolicy({ include: [{ role: "moderators" }] });
} catch (err) {
  badPolicy = { name: err.name, path: err.path };
}
const decisions = { alice: evaluate(policy, await verifier.verifyToken(valid)), bob: evaluate(policy, bobIdentity), badPolicy };

const handler = withDiscord({ verifier, policy }, (_req, who, extra) => Response.json({ hello: who.username, extra }));
async function answer(req) {
  const res = await handler(req, "from-caller");
  return { status: res.status, contentType: res.headers.get("Content-Type"), cacheControl: res.headers.get("Cache-Control"), body: await res.json() };
}
const withDiscordResults = {
  none: await answer(request()),
  bob: await answer(viaHeader(await sign(BOB, "bob@example.net"))),
  alice: await answer(viaHeader(valid)),
};

server.close();
console.log(JSON.stringify({ resolved: import.meta.resolve("discord-oidc-bridge/policy"), verify, certRequests, decisions, withDiscord: withDiscordResults }));
`;
