/**
 * The body of the store API, frp's `ProxyDefinition`: `{name, type, <type>: {...}}`
 * with exactly one block named after the type. The block is checked with the
 * same schema as a config file's `[[proxies]]` entry, so the store accepts
 * exactly what a file would.
 *
 * @example
 * ```ts
 * import { proxyDefinitionSchema, toProxyConfig } from "./proxy_definition.ts";
 * const def = proxyDefinitionSchema.parse({ name: "ssh", type: "tcp", tcp: { localPort: 22 } });
 * const { config } = toProxyConfig(def);
 * config.localIP; // "127.0.0.1"
 * ```
 *
 * @module
 */

import { z } from "zod";
import { ConfigError, parseClientConfig, type ProxyConfig } from "../../config/mod.ts";
import { PROXY_TYPES } from "../../config/mod.ts";

/** Proxy types the store takes: every type the config knows. */
export { PROXY_TYPES };

const block = z.record(z.string(), z.unknown()).optional();

/**
 * Shape check of a store body; the block's keys are checked by
 * {@linkcode toProxyConfig}.
 *
 * @example
 * ```ts
 * import { proxyDefinitionSchema } from "./proxy_definition.ts";
 * proxyDefinitionSchema.safeParse({ name: "a", type: "tcp", udp: {} }).success; // false
 * ```
 */
export const proxyDefinitionSchema = z.strictObject({
  name: z.string().trim().min(1, "proxy name is required"),
  type: z.enum(PROXY_TYPES, { error: `type must be one of ${PROXY_TYPES.join(", ")}` }),
  tcp: block,
  udp: block,
  http: block,
  https: block,
  tcpmux: block,
  stcp: block,
  sudp: block,
  xtcp: block,
}).superRefine((def, ctx) => {
  const blocks = PROXY_TYPES.filter((t) => def[t] !== undefined);
  if (blocks.length !== 1) {
    ctx.addIssue({ code: "custom", message: "exactly one proxy type block is required" });
  } else if (blocks[0] !== def.type) {
    ctx.addIssue({
      code: "custom",
      path: [blocks[0]],
      message: `proxy type block "${blocks[0]}" does not match type "${def.type}"`,
    });
  }
});

/**
 * A checked store body.
 *
 * @example
 * ```ts
 * import type { ProxyDefinition } from "./proxy_definition.ts";
 * const def: ProxyDefinition = { name: "ssh", type: "tcp", tcp: { localPort: 22 } };
 * ```
 */
export type ProxyDefinition = z.infer<typeof proxyDefinitionSchema>;

/** A store entry: the keys as given (what is persisted) and the full config. */
export interface StoredProxy {
  /** Flat `[[proxies]]` keys, `name` and `type` included. */
  raw: Record<string, unknown>;
  config: ProxyConfig;
}

/**
 * Turns a definition into a proxy config, checked like a config file entry.
 * Throws {@linkcode ConfigError} listing every problem.
 *
 * @example
 * ```ts
 * import { toProxyConfig } from "./proxy_definition.ts";
 * toProxyConfig({ name: "web", type: "http", http: { localPort: 80, subdomain: "w" } });
 * ```
 */
export function toProxyConfig(def: ProxyDefinition): StoredProxy & { warnings: string[] } {
  const fields = def[def.type] ?? {};
  const errors: string[] = [];
  for (const key of ["name", "type"] as const) {
    if (fields[key] !== undefined && fields[key] !== def[key]) {
      errors.push(`${def.type}.${key}: "${fields[key]}" disagrees with ${key} "${def[key]}"`);
    }
  }
  if (errors.length > 0) throw new ConfigError(errors);
  return checkRawProxy({ name: def.name, type: def.type, ...fields });
}

/**
 * Checks flat `[[proxies]]` keys (as kept in the store file). Throws
 * {@linkcode ConfigError}.
 *
 * @example
 * ```ts
 * import { checkRawProxy } from "./proxy_definition.ts";
 * checkRawProxy({ name: "ssh", type: "tcp", localPort: 22 }).config.localIP; // "127.0.0.1"
 * ```
 */
export function checkRawProxy(
  raw: Record<string, unknown>,
): StoredProxy & { warnings: string[] } {
  let loaded;
  try {
    loaded = parseClientConfig(JSON.stringify({ proxies: [raw] }), "proxy");
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(err.errors.map(unprefix));
    throw err;
  }
  return { raw, config: loaded.config.proxies[0], warnings: loaded.warnings.map(unprefix) };
}

/**
 * Back to frp's wire shape: the stored keys in the type's block.
 *
 * @example
 * ```ts
 * import { toDefinition } from "./proxy_definition.ts";
 * toDefinition({ name: "ssh", type: "tcp", localPort: 22 }).tcp; // { name, type, localPort }
 * ```
 */
export function toDefinition(raw: Record<string, unknown>): Record<string, unknown> {
  return { name: raw.name, type: raw.type, [String(raw.type)]: raw };
}

/** The synthetic document's `proxy: proxies[0].` prefix means nothing to the caller. */
function unprefix(line: string): string {
  return line.replace(/^proxy(:\d+)?: /, "").replace(/^proxies\[0\](\.|: )/, "");
}
