/**
 * Checks a parsed document against a schema: collects every problem (never
 * stops at the first), canonicalises key spelling, and fills defaults.
 *
 * @module
 */

import type { Issue, PathSeg } from "./errors.ts";
import { defaultValue, type Fields, type Node, type TaggedNode } from "./schema.ts";
import { suggest } from "./suggest.ts";

/**
 * How warnings propagate: inside an unsupported object each present leaf is
 * named; inside an unsupported list/map/tagged object the one warning already
 * given covers everything.
 */
type Mode = "normal" | "warnLeaves" | "quiet";

const UNSUPPORTED = "not supported yet, ignored";

/**
 * Validates `value` against `node`, returning the canonical value with
 * defaults filled in and the problems found (paths use the keys as written).
 *
 * @example
 * ```ts
 * import { validate } from "./validate.ts";
 * import { obj, port } from "./schema.ts";
 * const { value, issues } = validate(obj({ bindPort: port(7000) }), { BINDPORT: 7001 });
 * // value is { bindPort: 7001 }, issues is []
 * ```
 */
export function validate(
  node: Node,
  value: unknown,
  path: PathSeg[] = [],
): { value: unknown; issues: Issue[] } {
  // Untyped on purpose: inferring over the generic Node union is too deep for tsc.
  const issues: Issue[] = [];
  return { value: check(node, value, path, "normal", issues), issues };
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (v instanceof Date) return "date";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "float";
  if (typeof v === "object") return "table";
  return typeof v;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

function check(node: Node, raw: unknown, path: PathSeg[], mode: Mode, issues: Issue[]): unknown {
  const err = (message: string, at = path) => issues.push({ path: at, message });
  const warn = (message: string, at = path) => issues.push({ path: at, message, warning: true });

  // YAML `key:` with nothing after it is null; frp (via JSON) treats it as unset.
  if (raw === undefined || raw === null) {
    if (node.required) err("required");
    return defaultValue(node);
  }

  let childMode = mode;
  if (mode !== "quiet" && (node.unsupported || mode === "warnLeaves")) {
    if (node.kind === "obj") childMode = "warnLeaves";
    else {
      childMode = "quiet";
      if (node.kind === "tagged") {
        const t = findKey(isPlainObject(raw) ? raw : {}, "type");
        warn(UNSUPPORTED, [...path, t ?? "type"]);
      } else warn(node.unsupportedWhy ?? UNSUPPORTED);
    }
  }

  switch (node.kind) {
    case "str": {
      if (typeof raw !== "string") {
        err(`expected string, got ${describe(raw)}`);
        return node.def;
      }
      if (node.required && raw === "") err("must not be empty");
      if (node.values && raw !== "" && !node.values.includes(raw)) {
        err(badValue(raw, node.values));
        return node.def;
      }
      if (node.values && raw === "" && !node.values.includes("") && node.def === "") {
        err(badValue(raw, node.values));
      }
      if (node.rejected?.includes(raw)) err(`"${raw}" is not supported yet`);
      if (node.pattern && raw !== "" && !node.pattern.re.test(raw)) {
        err(`invalid value "${raw}" (expected ${node.pattern.desc})`);
      }
      // frp fills defaults with EmptyOr: an explicit "" also means "use the default".
      return raw === "" ? node.def : raw;
    }
    case "int": {
      if (typeof raw === "bigint") raw = Number(raw);
      if (typeof raw !== "number" || !Number.isInteger(raw)) {
        err(`expected integer, got ${describe(raw)}`);
        return node.def;
      }
      const n = raw as number;
      if ((node.min !== undefined && n < node.min) || (node.max !== undefined && n > node.max)) {
        const range = node.min !== undefined && node.max !== undefined
          ? `${node.min}..${node.max}`
          : node.min !== undefined
          ? `>= ${node.min}`
          : `<= ${node.max}`;
        err(`value ${n} out of range ${range}`);
        return node.def;
      }
      // Same EmptyOr rule as strings: 0 means "use the default".
      return n === 0 ? node.def : n;
    }
    case "bool":
      if (typeof raw !== "boolean") {
        err(`expected boolean, got ${describe(raw)}`);
        return node.def;
      }
      return raw;
    case "list": {
      if (!Array.isArray(raw)) {
        err(`expected array, got ${describe(raw)}`);
        return [];
      }
      return raw.map((v, i) => check(node.item, v, [...path, i], childMode, issues));
    }
    case "map": {
      if (!isPlainObject(raw)) {
        err(`expected table, got ${describe(raw)}`);
        return {};
      }
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(raw)) {
        out[k] = check(node.value, v, [...path, k], childMode, issues);
      }
      return out;
    }
    case "obj":
      if (!isPlainObject(raw)) {
        err(`expected table, got ${describe(raw)}`);
        return defaultValue(node);
      }
      return checkFields(node.fields, raw, path, childMode, issues, (key) => {
        const s = suggest(key, Object.keys(node.fields));
        return s ? `did you mean ${s}?` : node.hint;
      });
    case "tagged":
      if (!isPlainObject(raw)) {
        err(`expected table, got ${describe(raw)}`);
        return undefined;
      }
      return checkTagged(node, raw, path, childMode, issues);
  }
}

function badValue(raw: string, values: readonly string[]): string {
  const s = suggest(raw, values);
  const hint = s ? `; did you mean ${s}?` : "";
  return `invalid value "${raw}" (expected one of ${values.join(", ")}${hint})`;
}

/** The key of `raw` that matches `canonical` case-insensitively. */
function findKey(raw: Record<string, unknown>, canonical: string): string | undefined {
  const lc = canonical.toLowerCase();
  return Object.keys(raw).find((k) => k.toLowerCase() === lc);
}

function checkFields(
  fields: Fields,
  raw: Record<string, unknown>,
  path: PathSeg[],
  mode: Mode,
  issues: Issue[],
  unknownHint: (key: string) => string | undefined,
  skip?: string,
  tolerated?: Set<string>,
): Record<string, unknown> {
  const byLower = new Map<string, string>();
  for (const k of Object.keys(fields)) byLower.set(k.toLowerCase(), k);
  const given = new Map<string, string>(); // canonical -> key as written
  for (const key of Object.keys(raw)) {
    if (key === skip || tolerated?.has(key.toLowerCase())) continue;
    const canonical = byLower.get(key.toLowerCase());
    if (canonical === undefined) {
      const hint = unknownHint(key);
      issues.push({ path: [...path, key], message: `unknown key${hint ? ` (${hint})` : ""}` });
    } else if (given.has(canonical)) {
      issues.push({
        path: [...path, key],
        message: `duplicate key (already set as ${given.get(canonical)})`,
      });
    } else given.set(canonical, key);
  }
  const out: Record<string, unknown> = {};
  for (const [k, f] of Object.entries(fields)) {
    const written = given.get(k);
    const v = written === undefined ? undefined : raw[written];
    out[k] = check(f, v, [...path, written ?? k], mode, issues);
  }
  return out;
}

function checkTagged(
  node: TaggedNode,
  raw: Record<string, unknown>,
  path: PathSeg[],
  mode: Mode,
  issues: Issue[],
): Record<string, unknown> {
  const types = Object.keys(node.variants);
  const typeKey = findKey(raw, "type");
  const t = typeKey === undefined ? undefined : raw[typeKey];
  let variant: Fields | undefined;
  if (typeKey === undefined) {
    issues.push({ path: [...path, "type"], message: "required" });
  } else if (typeof t !== "string") {
    issues.push({ path: [...path, typeKey], message: `expected string, got ${describe(t)}` });
  } else if (!Object.hasOwn(node.variants, t)) {
    issues.push({ path: [...path, typeKey], message: badValue(t, types) });
  } else {
    variant = node.variants[t];
    if (mode === "normal" && node.unsupportedTypes?.includes(t)) {
      issues.push({
        path: [...path, typeKey],
        message: `${node.noun} type "${t}" is not supported yet`,
        warning: true,
      });
    }
  }
  const fields: Fields = { ...node.base, ...variant };
  // Without a valid type, any variant's keys pass silently so only the type is reported.
  const tolerated = variant ? undefined : new Set(
    types.flatMap((ty) => Object.keys(node.variants[ty]).map((k) => k.toLowerCase())),
  );
  const out = checkFields(
    fields,
    raw,
    path,
    mode,
    issues,
    (key) => {
      const lc = key.toLowerCase();
      const owners = types.filter((ty) =>
        Object.keys(node.variants[ty]).some((f) => f.toLowerCase() === lc)
      );
      if (owners.length > 0) return `only valid for ${node.noun} type ${owners.join(", ")}`;
      const s = suggest(key, Object.keys(fields));
      return s ? `did you mean ${s}?` : undefined;
    },
    typeKey,
    tolerated,
  );
  return { type: typeof t === "string" ? t : "", ...out };
}
