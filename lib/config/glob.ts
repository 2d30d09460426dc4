/**
 * File globbing for frpc `includes` (Go `filepath.Glob` semantics: `*`, `?`
 * and `[...]` within one path segment; results sorted).
 *
 * @module
 */

/**
 * Paths matching `pattern`, sorted; a pattern without wildcards matches
 * itself only if the file exists. Synchronous because parseClientConfig is.
 *
 * @example
 * ```ts
 * import { globSync } from "./glob.ts";
 * globSync("/etc/*.conf");
 * ```
 */
export function globSync(pattern: string): string[] {
  const absolute = pattern.startsWith("/");
  const segs = pattern.split("/").filter((s, i) => s !== "" || i === 0);
  let bases = [absolute ? "/" : ""];
  for (const seg of segs) {
    if (seg === "") continue;
    const next: string[] = [];
    for (const base of bases) {
      if (!hasMeta(seg)) {
        next.push(join(base, seg));
        continue;
      }
      const re = segmentRegExp(seg);
      let entries: Deno.DirEntry[];
      try {
        entries = [...Deno.readDirSync(base === "" ? "." : base)];
      } catch {
        continue;
      }
      for (const e of entries) {
        // Like Go: wildcards do not match a leading dot unless the pattern has one.
        if (e.name.startsWith(".") && !seg.startsWith(".")) continue;
        if (re.test(e.name)) next.push(join(base, e.name));
      }
    }
    bases = next;
  }
  return bases.filter(exists).sort();
}

function join(base: string, name: string): string {
  if (base === "") return name;
  return base.endsWith("/") ? base + name : `${base}/${name}`;
}

function exists(p: string): boolean {
  try {
    Deno.statSync(p);
    return true;
  } catch {
    return false;
  }
}

function hasMeta(seg: string): boolean {
  return /[*?[]/.test(seg);
}

function segmentRegExp(seg: string): RegExp {
  let re = "";
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i];
    if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else if (c === "[") {
      const end = seg.indexOf("]", i + 1);
      if (end < 0) re += "\\[";
      else {
        let cls = seg.slice(i + 1, end);
        if (cls.startsWith("^")) cls = "!" + cls.slice(1);
        re += "[" + (cls.startsWith("!") ? "^" + cls.slice(1) : cls).replace(/\\/g, "\\\\") + "]";
        i = end;
      }
    } else if (c === "\\" && i + 1 < seg.length) {
      re += seg[++i].replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    } else re += c.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}
