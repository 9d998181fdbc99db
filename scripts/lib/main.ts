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

/**
 * Run a command's main function and exit with its code. Whatever it did not expect becomes one line
 * naming the command, not a stack (BRIDGE_DEBUG=1 prints the stack too).
 */
export function runMain(command: string, main: () => number | Promise<number>): void {
  void (async () => {
    try {
      process.exitCode = await main();
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const [first, ...rest] = message.split("\n").filter((l) => l.trim() !== "");
      console.error(`✘ ${command} failed: ${first ?? "(no message)"}`);
      for (const line of rest.slice(0, 2)) console.error(`  ${line.trim()}`);
      if (process.env.BRIDGE_DEBUG) console.error(err instanceof Error ? err.stack : err);
      else console.error("  (BRIDGE_DEBUG=1 prints the stack)");
      process.exitCode = 1;
    }
  })();
}
