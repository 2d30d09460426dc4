/**
 * Line numbers of key paths in a TOML document. smol-toml keeps no
 * positions, so this re-scans the (already validated) source: `[table]` and
 * `[[array]]` headers with their running index, dotted keys, quoted keys,
 * inline tables and arrays (also spanning lines), strings of all four kinds.
 *
 * @module
 */

import type { PathSeg } from "./errors.ts";
import { LineMap } from "./locate.ts";

/**
 * Scans `text` (valid TOML) and records the line of every key, table header
 * and array element.
 *
 * @example
 * ```ts
 * import { tomlLines } from "./locate_toml.ts";
 * const m = tomlLines('[[proxies]]\nname = "a"\n[[proxies]]\ntransport.useEncryption = true\n');
 * m.lookup(["proxies", 1, "transport", "useEncryption"]); // 4
 * ```
 */
export function tomlLines(text: string): LineMap {
  const lines = new LineMap();
  try {
    new TomlScanner(text, lines).document();
  } catch {
    // Positions are a convenience; a scanner hiccup must not hide the real error.
  }
  return lines;
}

class TomlScanner {
  pos = 0;
  line = 1;
  /** Current index of each array of tables, by its resolved path. */
  arrays = new Map<string, number>();

  constructor(private text: string, private lines: LineMap) {}

  document(): void {
    let table: PathSeg[] = [];
    for (;;) {
      this.skipSpaceAndComments(true);
      if (this.pos >= this.text.length) return;
      if (this.text[this.pos] === "[") {
        const isArray = this.text[this.pos + 1] === "[";
        this.pos += isArray ? 2 : 1;
        const parts = this.key();
        this.pos += isArray ? 2 : 1;
        table = this.resolve(parts, isArray);
        // The first [[name]] also marks where the array itself starts.
        if (isArray) this.lines.add(table.slice(0, -1), this.line);
        this.lines.add(table, this.line);
      } else {
        this.keyValue(table);
      }
    }
  }

  /** Turns header key parts into a path, inserting array-of-tables indices. */
  resolve(parts: string[], isArray: boolean): PathSeg[] {
    const path: PathSeg[] = [];
    parts.forEach((part, i) => {
      path.push(part);
      const id = idOf(path);
      if (isArray && i === parts.length - 1) {
        const next = (this.arrays.get(id) ?? -1) + 1;
        this.arrays.set(id, next);
        path.push(next);
      } else if (this.arrays.has(id)) {
        path.push(this.arrays.get(id)!);
      }
    });
    return path;
  }

  keyValue(base: PathSeg[]): void {
    const line = this.line;
    const parts = this.key();
    const path = [...base];
    for (const p of parts) {
      path.push(p);
      this.lines.add(path, line);
    }
    this.skipInlineSpace();
    this.pos++; // '='
    this.value(path);
  }

  value(path: PathSeg[]): void {
    this.skipInlineSpace();
    const c = this.text[this.pos];
    if (c === '"' || c === "'") {
      this.string();
    } else if (c === "[") {
      this.pos++;
      let i = 0;
      for (;;) {
        this.skipSpaceAndComments(true);
        const d = this.text[this.pos];
        if (d === undefined) return;
        if (d === "]") {
          this.pos++;
          return;
        }
        if (d === ",") {
          this.pos++;
          i++;
          continue;
        }
        this.lines.add([...path, i], this.line);
        this.value([...path, i]);
      }
    } else if (c === "{") {
      this.pos++;
      for (;;) {
        this.skipSpaceAndComments(true);
        const d = this.text[this.pos];
        if (d === undefined) return;
        if (d === "}") {
          this.pos++;
          return;
        }
        if (d === ",") {
          this.pos++;
          continue;
        }
        this.keyValue(path);
      }
    } else {
      while (this.pos < this.text.length && !/[,\]}\n#]/.test(this.text[this.pos])) this.pos++;
    }
  }

  /** A dotted key: bare or quoted parts separated by dots. */
  key(): string[] {
    const parts: string[] = [];
    for (;;) {
      this.skipInlineSpace();
      const c = this.text[this.pos];
      if (c === '"' || c === "'") {
        parts.push(this.string());
      } else {
        const start = this.pos;
        while (this.pos < this.text.length && /[A-Za-z0-9_-]/.test(this.text[this.pos])) {
          this.pos++;
        }
        if (this.pos === start) throw new Error("bad key");
        parts.push(this.text.slice(start, this.pos));
      }
      this.skipInlineSpace();
      if (this.text[this.pos] !== ".") return parts;
      this.pos++;
    }
  }

  /** Skips a string of any kind; returns its (roughly unescaped) content. */
  string(): string {
    const q = this.text[this.pos];
    const triple = this.text.startsWith(q.repeat(3), this.pos);
    const delim = triple ? q.repeat(3) : q;
    this.pos += delim.length;
    let out = "";
    while (this.pos < this.text.length) {
      if (this.text.startsWith(delim, this.pos)) {
        this.pos += delim.length;
        // A multi-line string may end with up to two extra quotes.
        while (triple && this.text[this.pos] === q) this.pos++;
        return q === '"' && !triple ? unescapeBasic(out) : out;
      }
      const ch = this.text[this.pos];
      if (ch === "\n") this.line++;
      if (ch === "\\" && q === '"') {
        out += ch + (this.text[this.pos + 1] ?? "");
        if (this.text[this.pos + 1] === "\n") this.line++;
        this.pos += 2;
        continue;
      }
      out += ch;
      this.pos++;
    }
    return out;
  }

  skipInlineSpace(): void {
    while (this.text[this.pos] === " " || this.text[this.pos] === "\t") this.pos++;
  }

  skipSpaceAndComments(newlines: boolean): void {
    for (;;) {
      const c = this.text[this.pos];
      if (c === " " || c === "\t" || c === "\r") this.pos++;
      else if (c === "\n" && newlines) {
        this.line++;
        this.pos++;
      } else if (c === "#") {
        while (this.pos < this.text.length && this.text[this.pos] !== "\n") this.pos++;
      } else return;
    }
  }
}

function idOf(path: PathSeg[]): string {
  return path.map((s) => String(s).toLowerCase()).join("\0");
}

function unescapeBasic(s: string): string {
  try {
    return JSON.parse(
      `"${s.replace(/\\U([0-9a-fA-F]{8})/g, (_, h) => String.fromCodePoint(parseInt(h, 16)))}"`,
    );
  } catch {
    return s;
  }
}
