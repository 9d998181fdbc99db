// Reading and writing config.json for the operator commands: JSON errors name the file and position,
// writes are atomic, and client secrets are hashed exactly as the Worker compares them.
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";

export const DEFAULT_CONFIG = "config.json";
export const EXAMPLE_CONFIG = "config.example.json";

export class FileProblem extends Error {}

/** Parse a JSON file; a syntax error names the file, line and column. */
export function readJsonFile(path: string): unknown {
  if (!existsSync(path)) throw new FileProblem(`${path} not found`);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    // A directory, a file without read permission: the system's reason, without a stack.
    const code = (err as { code?: unknown }).code;
    throw new FileProblem(`${path} could not be read${typeof code === "string" ? ` (${code})` : ""}: ${err instanceof Error ? err.message.replace(/^\w+: /, "") : String(err)}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const position = /position (\d+)/.exec(message);
    if (position?.[1]) {
      const offset = Number(position[1]);
      const before = text.slice(0, offset).split("\n");
      throw new FileProblem(`${path} is not valid JSON at line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1}: ${message}`);
    }
    throw new FileProblem(`${path} is not valid JSON: ${message}`);
  }
}

export function writeJsonFileAtomic(path: string, value: unknown): void {
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  renameSync(temp, path);
}

/** A new client secret: 32 random bytes, base64url (43 characters). */
export function newClientSecret(): string {
  return randomBytes(32).toString("base64url");
}

/** `sha256:` + base64url(SHA-256(UTF-8 secret)), as src/checks/client-auth.ts compares it. */
export function hashClientSecret(secret: string): string {
  return `sha256:${createHash("sha256").update(secret, "utf8").digest("base64url")}`;
}
