// Reading wrangler.toml for `npm run check` without a TOML dependency: tables, arrays of tables, dotted and
// quoted keys, all four string forms, arrays and inline tables; numbers, booleans and dates are kept as null.

/** A TOML value as far as the check needs it: strings, tables and arrays; other scalars are null. */
export type TomlValue = string | null | TomlValue[] | TomlTable;
export interface TomlTable {
  [key: string]: TomlValue;
}

export class TomlProblem extends Error {}

const BARE_KEY = /[A-Za-z0-9_-]/;
const ESCAPES: Readonly<Record<string, string>> = { b: "\b", t: "\t", n: "\n", f: "\f", r: "\r", '"': '"', "\\": "\\" };

function isTable(value: TomlValue | undefined): value is TomlTable {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

class Reader {
  private i = 0;
  constructor(private readonly text: string) {}

  fail(what: string): never {
    const line = this.text.slice(0, this.i).split("\n").length;
    throw new TomlProblem(`line ${line}: ${what}`);
  }

  peek(n = 1): string {
    return this.text.slice(this.i, this.i + n);
  }

  done(): boolean {
    return this.i >= this.text.length;
  }

  /** Spaces and tabs; with `lines`, also newlines and comments (inside arrays, between statements). */
  skip(lines = false): void {
    for (;;) {
      const c = this.peek();
      if (c === " " || c === "\t" || (lines && (c === "\n" || c === "\r"))) this.i++;
      else if (lines && c === "#") while (!this.done() && this.peek() !== "\n") this.i++;
      else return;
    }
  }

  /** After a statement: only a comment may follow on its line. */
  endOfLine(): void {
    this.skip();
    if (this.peek() === "#") while (!this.done() && this.peek() !== "\n") this.i++;
    if (this.done()) return;
    if (this.peek() === "\n" || this.peek(2) === "\r\n") return;
    this.fail(`unexpected "${this.peek()}"`);
  }

  expect(s: string): void {
    if (this.peek(s.length) !== s) this.fail(`expected "${s}"`);
    this.i += s.length;
  }

  key(): string[] {
    const parts: string[] = [];
    for (;;) {
      this.skip();
      const c = this.peek();
      if (c === '"' || c === "'") parts.push(this.string());
      else {
        const start = this.i;
        while (BARE_KEY.test(this.peek())) this.i++;
        if (this.i === start) this.fail("expected a key");
        parts.push(this.text.slice(start, this.i));
      }
      this.skip();
      if (this.peek() !== ".") return parts;
      this.i++;
    }
  }

  string(): string {
    const multi = this.peek(3);
    if (multi === '"""' || multi === "'''") {
      this.i += 3;
      if (this.peek() === "\n") this.i++;
      else if (this.peek(2) === "\r\n") this.i += 2;
      const end = this.text.indexOf(multi, this.i);
      if (end < 0) this.fail(`unterminated ${multi} string`);
      const raw = this.text.slice(this.i, end);
      this.i = end + 3;
      return multi === "'''" ? raw : unescapeBasic(raw.replace(/\\\r?\n[\s]*/g, ""), this);
    }
    const quote = this.peek();
    this.i++;
    const start = this.i;
    while (!this.done() && this.peek() !== quote && this.peek() !== "\n") {
      if (quote === '"' && this.peek() === "\\") this.i++;
      this.i++;
    }
    if (this.peek() !== quote) this.fail("unterminated string");
    const raw = this.text.slice(start, this.i);
    this.i++;
    return quote === "'" ? raw : unescapeBasic(raw, this);
  }

  value(): TomlValue {
    const c = this.peek();
    if (c === '"' || c === "'") return this.string();
    if (c === "[") {
      this.i++;
      const items: TomlValue[] = [];
      for (;;) {
        this.skip(true);
        if (this.peek() === "]") break;
        items.push(this.value());
        this.skip(true);
        if (this.peek() === ",") this.i++;
        else if (this.peek() !== "]") this.fail('expected "," or "]" in an array');
      }
      this.i++;
      return items;
    }
    if (c === "{") {
      this.i++;
      const table: TomlTable = {};
      this.skip();
      if (this.peek() === "}") {
        this.i++;
        return table;
      }
      for (;;) {
        this.assignment(table);
        this.skip();
        if (this.peek() === "}") break;
        this.expect(",");
      }
      this.i++;
      return table;
    }
    // A number, boolean or date: read to the end of the value, not interpreted.
    const start = this.i;
    while (!this.done() && !/[,\]}#\n]/.test(this.peek())) this.i++;
    if (this.text.slice(start, this.i).trim() === "") this.fail("expected a value");
    return null;
  }

  /** `key = value` into `table` (dotted keys make nested tables). */
  assignment(table: TomlTable): void {
    const path = this.key();
    this.expect("=");
    this.skip();
    const last = path.pop() as string;
    const target = descend(table, path, this);
    if (last in target) this.fail(`"${last}" is defined twice`);
    target[last] = this.value();
  }
}

function unescapeBasic(raw: string, reader: Reader): string {
  return raw.replace(/\\(u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)/g, (_, e: string) => {
    if (e.length > 1) return String.fromCodePoint(parseInt(e.slice(1), 16));
    const out = ESCAPES[e];
    if (out === undefined) reader.fail(`unknown escape "\\${e}"`);
    return out;
  });
}

/** The table at `path` below `table`, created when missing; through an array of tables, its last element. */
function descend(table: TomlTable, path: readonly string[], reader: Reader): TomlTable {
  let here = table;
  for (const part of path) {
    let next = here[part];
    if (next === undefined) here[part] = next = {};
    if (Array.isArray(next)) next = next.at(-1);
    if (!isTable(next)) reader.fail(`"${part}" is not a table`);
    here = next;
  }
  return here;
}

/** Parse the subset of TOML that wrangler.toml files use; throws TomlProblem naming the line. */
export function parseToml(text: string): TomlTable {
  const root: TomlTable = {};
  const reader: Reader = new Reader(text);
  let current = root;
  for (;;) {
    reader.skip(true);
    if (reader.done()) return root;
    if (reader.peek(2) === "[[") {
      reader.expect("[[");
      const path = reader.key();
      reader.expect("]]");
      const last = path.pop() as string;
      const parent = descend(root, path, reader);
      const list = parent[last] ?? (parent[last] = []);
      if (!Array.isArray(list)) reader.fail(`"${last}" is not an array of tables`);
      const table: TomlTable = {};
      list.push(table);
      current = table;
    } else if (reader.peek() === "[") {
      reader.expect("[");
      const path = reader.key();
      reader.expect("]");
      current = descend(root, path, reader);
    } else {
      reader.assignment(current);
    }
    reader.endOfLine();
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
