// Reading wrangler.toml for `npm run check`, with smol-toml: what the checks need is its tables, arrays of
// tables and strings; a file that does not parse is a TomlProblem naming the line.
import { parse, TomlError } from "smol-toml";

/** A TOML table as the checks read it: fields of any type, looked into with tableAt and tablesAt. */
export type TomlTable = Readonly<Record<string, unknown>>;

export class TomlProblem extends Error {}

function isTable(value: unknown): value is TomlTable {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/** Parse a wrangler.toml; throws TomlProblem("line N: ...") when it is not TOML. */
export function parseToml(text: string): TomlTable {
  try {
    return parse(text);
  } catch (err) {
    if (!(err instanceof TomlError)) throw err;
    throw new TomlProblem(`line ${err.line}: ${err.message.split("\n")[0] ?? "not TOML"}`);
  }
}

/** A table's field, if it is a table. */
export function tableAt(table: TomlTable, key: string): TomlTable | undefined {
  const value = table[key];
  return isTable(value) ? value : undefined;
}

/** A table's field as a list of tables (an array of tables or an inline array of inline tables). */
export function tablesAt(table: TomlTable, key: string): TomlTable[] {
  const value = table[key];
  return Array.isArray(value) ? value.filter(isTable) : [];
}
