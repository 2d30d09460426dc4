/**
 * Line numbers of key paths in a config source, for error messages. Keys
 * are compared case-insensitively, and a path that is not found falls back
 * to its nearest recorded ancestor (a missing key reports its table's line).
 *
 * @module
 */

import { isMap, isScalar, isSeq, LineCounter, type Node as YamlNode, parseDocument } from "yaml";
import type { PathSeg } from "./errors.ts";

/** Key path → 1-based line. */
export class LineMap {
  #exact = new Map<string, number>();
  #folded = new Map<string, number>();

  /** Records the line of `path` unless already known (first mention wins). */
  add(path: readonly PathSeg[], line: number): void {
    const k = key(path);
    if (!this.#exact.has(k)) this.#exact.set(k, line);
    const f = k.toLowerCase();
    if (!this.#folded.has(f)) this.#folded.set(f, line);
  }

  /**
   * The line of `path` or of its nearest recorded ancestor.
   *
   * @example
   * ```ts
   * import { LineMap } from "./locate.ts";
   * const m = new LineMap();
   * m.add(["proxies", 0], 3);
   * m.lookup(["proxies", 0, "name"]); // 3
   * ```
   */
  lookup(path: readonly PathSeg[]): number | undefined {
    for (let n = path.length; n > 0; n--) {
      // Exact spelling first, so `bindPort` and `BINDPORT` in one file stay apart.
      const k = key(path.slice(0, n));
      const line = this.#exact.get(k) ?? this.#folded.get(k.toLowerCase());
      if (line !== undefined) return line;
    }
    return undefined;
  }
}

function key(path: readonly PathSeg[]): string {
  return path.map(String).join("\0");
}

/**
 * Lines of every key and array element of a YAML document.
 *
 * @example
 * ```ts
 * import { yamlLines } from "./locate.ts";
 * yamlLines("a:\n  b: 1\n").lookup(["a", "b"]); // 2
 * ```
 */
export function yamlLines(text: string): LineMap {
  const lines = new LineMap();
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter });
  const lineAt = (offset: number) => counter.linePos(offset).line;
  const walk = (node: unknown, path: PathSeg[]) => {
    if (isMap(node)) {
      for (const pair of node.items) {
        const k = pair.key;
        const name = isScalar(k) ? String(k.value) : String(k);
        const at = [...path, name];
        const range = (k as YamlNode | null)?.range;
        if (range) lines.add(at, lineAt(range[0]));
        walk(pair.value, at);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => {
        const range = (item as YamlNode | null)?.range;
        if (range) lines.add([...path, i], lineAt(range[0]));
        walk(item, [...path, i]);
      });
    }
  };
  walk(doc.contents, []);
  return lines;
}

/**
 * Lines of every key and array element of a (valid) JSON document.
 *
 * @example
 * ```ts
 * import { jsonLines } from "./locate.ts";
 * jsonLines('{\n  "proxies": [\n    {"name": "a"}\n  ]\n}').lookup(["proxies", 0, "name"]); // 3
 * ```
 */
export function jsonLines(text: string): LineMap {
  const lines = new LineMap();
  let pos = 0;
  let line = 1;
  const ws = () => {
    while (pos < text.length && /\s/.test(text[pos])) {
      if (text[pos] === "\n") line++;
      pos++;
    }
  };
  const str = (): string => {
    const start = pos;
    pos++;
    while (pos < text.length && text[pos] !== '"') pos += text[pos] === "\\" ? 2 : 1;
    pos++;
    return JSON.parse(text.slice(start, pos));
  };
  const value = (path: PathSeg[]): void => {
    ws();
    const c = text[pos];
    if (c === "{") {
      pos++;
      for (;;) {
        ws();
        if (text[pos] === "}" || pos >= text.length) break;
        if (text[pos] === ",") {
          pos++;
          continue;
        }
        const keyLine = line;
        const k = str();
        lines.add([...path, k], keyLine);
        ws();
        pos++; // ':'
        value([...path, k]);
      }
      pos++;
    } else if (c === "[") {
      pos++;
      for (let i = 0;;) {
        ws();
        if (text[pos] === "]" || pos >= text.length) break;
        if (text[pos] === ",") {
          pos++;
          i++;
          continue;
        }
        lines.add([...path, i], line);
        value([...path, i]);
      }
      pos++;
    } else if (c === '"') {
      str();
    } else {
      while (pos < text.length && !/[\s,\]}]/.test(text[pos])) pos++;
    }
  };
  try {
    value([]);
  } catch {
    // Positions are a convenience; a scanner hiccup must not hide the real error.
  }
  return lines;
}
