// Whether a module is the script Node was asked to run, also when the script was reached through a symlink.
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** `import.meta.url` is the real path; `process.argv[1]` is the path as typed: compare the files, not the names. */
export function isMain(moduleUrl: string): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(moduleUrl));
  } catch {
    return false;
  }
}
