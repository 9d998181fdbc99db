// The log's reasons are one list (src/reasons.ts), and README's "Reasons in the log" table documents
// exactly that list: every code has a cause and a fix, and the table names no code the bridge lacks.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { REASONS } from "../../src/reasons.ts";

const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");

/** The rows of the table under "### Reasons in the log": [codes in the first cell, cause, fix]. */
function reasonRows(): [string[], string, string][] {
  const section = readme.split("### Reasons in the log")[1]?.split("\n### ")[0] ?? "";
  return section
    .split("\n")
    .filter((line) => line.startsWith("| `"))
    .map((line) => {
      const [codes = "", cause = "", fix = ""] = line.split(" | ").map((c) => c.replace(/^\| /, "").replace(/ \|$/, "").trim());
      return [[...codes.matchAll(/`([^`]+)`/g)].map((m) => m[1]!), cause, fix];
    });
}

describe("README documents every log reason", () => {
  it("each code of src/reasons.ts is in the table once, with a cause and a fix", () => {
    const rows = reasonRows();
    const documented = rows.flatMap(([codes]) => codes);
    expect([...documented].sort()).toEqual([...REASONS].sort());
    expect(new Set(documented).size).toBe(documented.length);
    for (const [codes, cause, fix] of rows) {
      expect(cause.length, codes.join(", ")).toBeGreaterThan(10);
      expect(fix.length, codes.join(", ")).toBeGreaterThan(5);
    }
  });
});
