/**
 * A tiny declarative schema DSL for frp-style configuration. A schema node
 * describes the type, default and limits of one key; the TypeScript type of a
 * loaded config is derived from the schema with {@linkcode Infer}, so adding a
 * key is a one-line change.
 *
 * @example
 * ```ts
 * import { bool, type Infer, obj, port, str, unsupported } from "./schema.ts";
 * const s = obj({ addr: str("0.0.0.0"), port: port(7000), tls: unsupported(bool(false)) });
 * type S = Infer<typeof s>; // { addr: string; port: number; tls: boolean }
 * ```
 *
 * @module
 */

/** Options every node accepts. */
export interface NodeOpts {
  /** Known key that dfrp ignores for now: present → warning, not error. */
  unsupported?: boolean;
  /** With `unsupported`: the warning's text instead of "not supported yet, ignored". */
  unsupportedWhy?: string;
  /** Missing (or empty string) → error. */
  required?: boolean;
}

/** A string key; `T` narrows it for enums. */
export interface StrNode<T extends string = string> extends NodeOpts {
  kind: "str";
  def: T;
  /** Allowed values; compared exactly, like frp. */
  values?: readonly string[];
  /** Values frp accepts but dfrp rejects with "not supported yet". */
  rejected?: readonly string[];
  /** Format check, with a human description used in the error. */
  pattern?: { re: RegExp; desc: string };
}

/** An integer key. */
export interface IntNode extends NodeOpts {
  kind: "int";
  def: number;
  min?: number;
  max?: number;
}

/** A boolean key. */
export interface BoolNode extends NodeOpts {
  kind: "bool";
  def: boolean;
}

/** An array of `I`. */
export interface ListNode<I extends Node = Node> extends NodeOpts {
  kind: "list";
  item: I;
}

/** A free-form string-keyed map (keys are kept as written, not case-folded). */
export interface MapNode<V extends Node = Node> extends NodeOpts {
  kind: "map";
  value: V;
}

/** Field schemas of an object, by canonical (frp) key spelling. */
export type Fields = { [key: string]: Node };

/** A fixed-key object; keys match case-insensitively. */
export interface ObjNode<F extends Fields = Fields> extends NodeOpts {
  kind: "obj";
  fields: F;
  /** Appended to "unknown key" errors, e.g. to explain what a file may hold. */
  hint?: string;
}

/**
 * An object whose `type` key selects extra fields (frp's proxies, visitors,
 * plugins): `base` applies to every type, `variants[type]` only to that type.
 */
export interface TaggedNode<
  B extends Fields = Fields,
  V extends { [type: string]: Fields } = { [type: string]: Fields },
> extends NodeOpts {
  kind: "tagged";
  base: B;
  variants: V;
  /** Types frp has but dfrp does not run yet: accepted with a warning. */
  unsupportedTypes?: readonly string[];
  /** Used in messages: "tcp proxy". */
  noun: string;
}

/** Any schema node. */
export type Node =
  | StrNode<string>
  | IntNode
  | BoolNode
  | ListNode<any>
  | MapNode<any>
  | ObjNode<any>
  | TaggedNode<any, any>;

type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends
  (x: infer I) => void ? I : never;

/** Object type of a field map; tagged objects (plugins) exist only when configured. */
export type InferFields<F> =
  & { -readonly [K in keyof F as F[K] extends TaggedNode<any, any> ? never : K]: Infer<F[K]> }
  & { -readonly [K in keyof F as F[K] extends TaggedNode<any, any> ? K : never]?: Infer<F[K]> };

/**
 * The loaded value type of a schema node. Tagged nodes give the base fields
 * plus every variant's fields as optional (present only for their types).
 *
 * @example
 * ```ts
 * import { type Infer, int, list } from "./schema.ts";
 * const ports = list(int(0));
 * const p: Infer<typeof ports> = [1, 2];
 * ```
 */
export type Infer<N> = N extends StrNode<infer T> ? T
  : N extends IntNode ? number
  : N extends BoolNode ? boolean
  : N extends ListNode<infer I> ? Infer<I>[]
  : N extends MapNode<infer V> ? Record<string, Infer<V>>
  : N extends ObjNode<infer F> ? InferFields<F>
  : N extends TaggedNode<infer B, infer V> ?
      & InferFields<B>
      & { type: keyof V & string }
      & Partial<InferFields<UnionToIntersection<V[keyof V]>>>
  : never;

/**
 * A string with a default (`""` when omitted).
 *
 * @example
 * ```ts
 * import { str } from "./schema.ts";
 * const bindAddr = str("0.0.0.0");
 * ```
 */
export function str(
  def = "",
  opts: NodeOpts & { pattern?: StrNode["pattern"] } = {},
): StrNode<string> {
  return { kind: "str", def, ...opts };
}

/**
 * A string restricted to `values`. `rejected` values are frp-valid but
 * refused by dfrp with "not supported yet".
 *
 * @example
 * ```ts
 * import { enumOf } from "./schema.ts";
 * const level = enumOf(["trace", "debug", "info", "warn", "error"] as const, "info");
 * ```
 */
export function enumOf<const T extends string>(
  values: readonly T[],
  def: T | "",
  opts: NodeOpts & { rejected?: readonly T[] } = {},
): StrNode<T> {
  return { kind: "str", def: def as T, values, ...opts };
}

/**
 * An integer with a default and optional bounds.
 *
 * @example
 * ```ts
 * import { int } from "./schema.ts";
 * const poolCount = int(1, { min: 0 });
 * ```
 */
export function int(def = 0, opts: NodeOpts & { min?: number; max?: number } = {}): IntNode {
  return { kind: "int", def, ...opts };
}

/**
 * A TCP/UDP port number, 0..65535 (0 usually means "disabled" or "random").
 *
 * @example
 * ```ts
 * import { port } from "./schema.ts";
 * const bindPort = port(7000);
 * ```
 */
export function port(def = 0, opts: NodeOpts = {}): IntNode {
  return { kind: "int", def, min: 0, max: 65535, ...opts };
}

/**
 * A boolean with a default.
 *
 * @example
 * ```ts
 * import { bool } from "./schema.ts";
 * const tcpMux = bool(true);
 * ```
 */
export function bool(def = false, opts: NodeOpts = {}): BoolNode {
  return { kind: "bool", def, ...opts };
}

/**
 * An array; defaults to `[]`.
 *
 * @example
 * ```ts
 * import { list, str } from "./schema.ts";
 * const customDomains = list(str());
 * ```
 */
export function list<I extends Node>(item: I, opts: NodeOpts = {}): ListNode<I> {
  return { kind: "list", item, ...opts };
}

/**
 * A map with free keys; defaults to `{}`.
 *
 * @example
 * ```ts
 * import { map, str } from "./schema.ts";
 * const metadatas = map(str());
 * ```
 */
export function map<V extends Node>(value: V, opts: NodeOpts = {}): MapNode<V> {
  return { kind: "map", value, ...opts };
}

/**
 * A fixed-key object; always present in the output, filled with defaults.
 *
 * @example
 * ```ts
 * import { int, obj } from "./schema.ts";
 * const quic = obj({ keepalivePeriod: int(10) });
 * ```
 */
export function obj<const F extends Fields>(
  fields: F,
  opts: NodeOpts & { hint?: string } = {},
): ObjNode<F> {
  return { kind: "obj", fields, ...opts };
}

/**
 * An object whose `type` key selects per-type fields.
 *
 * @example
 * ```ts
 * import { port, str, tagged } from "./schema.ts";
 * const proxy = tagged("proxy", { name: str("", { required: true }) }, {
 *   tcp: { remotePort: port() },
 *   http: { subdomain: str() },
 * });
 * ```
 */
export function tagged<const B extends Fields, const V extends { [type: string]: Fields }>(
  noun: string,
  base: B,
  variants: V,
  opts: NodeOpts & { unsupportedTypes?: readonly (keyof V & string)[] } = {},
): TaggedNode<B, V> {
  return { kind: "tagged", noun, base, variants, ...opts };
}

/**
 * Marks a node as known-but-unsupported: loading it succeeds and yields a
 * warning naming the key (with `why` as its text when given, for a key that
 * can never be supported). On an object, each key present is named.
 *
 * @example
 * ```ts
 * import { str, unsupported } from "./schema.ts";
 * const dnsServer = unsupported(str());
 * ```
 */
export function unsupported<N extends Node>(node: N, why?: string): N {
  return why === undefined ? { ...node, unsupported: true } : {
    ...node,
    unsupported: true,
    unsupportedWhy: why,
  };
}

/**
 * The value a node takes when the key is absent.
 *
 * @example
 * ```ts
 * import { defaultOf, obj, port } from "./schema.ts";
 * defaultOf(obj({ bindPort: port(7000) })); // { bindPort: 7000 }
 * ```
 */
export function defaultOf<N extends Node>(node: N): Infer<N> {
  return defaultValue(node) as Infer<N>;
}

/**
 * Untyped {@linkcode defaultOf}, for generic code over any node.
 *
 * @example
 * ```ts
 * import { defaultValue, int } from "./schema.ts";
 * defaultValue(int(5)); // 5
 * ```
 */
export function defaultValue(node: Node): unknown {
  switch (node.kind) {
    case "str":
    case "int":
    case "bool":
      return node.def;
    case "list":
      return [];
    case "map":
      return {};
    case "obj": {
      const out: Record<string, unknown> = {};
      for (const [k, f] of Object.entries(node.fields as Fields)) out[k] = defaultValue(f);
      return out;
    }
    case "tagged":
      // A tagged object cannot exist without its type; callers only meet it inside lists.
      return undefined;
  }
}
