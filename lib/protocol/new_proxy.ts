/**
 * The two ends of a `NewProxy`: what a client sends for one proxy of its
 * config ({@linkcode newProxyMessage}: only the fields the server needs,
 * never `secretKey`, plugin options or the local address; the group key only
 * as a proof), and what a server may show of a registered proxy
 * ({@linkcode newProxyView}: the same fields without any password or key).
 *
 * @example
 * ```ts
 * import { newProxyMessage } from "./new_proxy.ts";
 * import type { ProxyConfig } from "../config/mod.ts";
 * declare const proxy: ProxyConfig;
 * const msg = await newProxyMessage(proxy); // { type: "NewProxy", proxyName: ..., ... }
 * ```
 *
 * @module
 */

import type { ProxyConfig } from "../config/mod.ts";
import { prove } from "./auth.ts";
import { NEW_PROXY_TYPE_FIELDS, type NewProxy, type NewProxyInit } from "./messages.ts";

/**
 * What a group member sends instead of its `groupKey`: HMAC-SHA256 under
 * the key over the group's name, hex; "" for an empty key. Members with the
 * same key send the same proof, so the server can compare them without
 * learning the key.
 *
 * @example
 * ```ts
 * import { groupKeyProof } from "./new_proxy.ts";
 * const proof = await groupKeyProof("s3cret", "web"); // 64 hex digits
 * ```
 */
export function groupKeyProof(groupKey: string, group: string): Promise<string> {
  return groupKey ? prove(groupKey, ["group", group]) : Promise.resolve("");
}

/**
 * The `NewProxy` for one proxy of a client's config.
 *
 * @example
 * ```ts
 * import { newProxyMessage } from "./new_proxy.ts";
 * import type { ProxyConfig } from "../config/mod.ts";
 * declare const proxy: ProxyConfig;
 * const msg = await newProxyMessage(proxy);
 * ```
 */
export async function newProxyMessage(proxy: ProxyConfig): Promise<NewProxyInit> {
  const t = proxy.transport;
  const lb = proxy.loadBalancer;
  const msg: NewProxyInit = {
    type: "NewProxy",
    proxyName: proxy.name,
    proxyType: proxy.type,
    transport: {
      useEncryption: t?.useEncryption ?? false,
      useCompression: t?.useCompression ?? false,
      bandwidthLimit: t?.bandwidthLimit ?? "",
      bandwidthLimitMode: t?.bandwidthLimitMode || "client",
    },
    loadBalancer: {
      group: lb?.group ?? "",
      groupKey: await groupKeyProof(lb?.groupKey ?? "", lb?.group ?? ""),
    },
    metadatas: proxy.metadatas ?? {},
    annotations: proxy.annotations ?? {},
  };
  const source = proxy as unknown as Record<string, unknown>;
  const target = msg as Record<string, unknown>;
  for (const field of NEW_PROXY_TYPE_FIELDS[proxy.type] ?? []) {
    if (source[field] !== undefined) target[field] = source[field];
  }
  return msg;
}

// The fields are strings, numbers, string lists or `{ set: {...} }`: a two-level copy is a deep one.
function copy(value: unknown): unknown {
  if (Array.isArray(value)) return [...value];
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = v !== null && typeof v === "object" ? { ...v } : v;
    }
    return out;
  }
  return value;
}

/** Fields a view never shows: passwords and keys (also proofs of keys). */
const SECRET_FIELDS: ReadonlySet<string> = new Set(["httpPassword"]);

/**
 * What the server shows of a registered proxy (the admin API's `conf`): the
 * config's names and nesting, only the fields of the proxy's type, and no
 * password, key or key proof. `httpUser` stays; `httpPassword` and
 * `loadBalancer.groupKey` go.
 *
 * @example
 * ```ts
 * import { newProxyView } from "./new_proxy.ts";
 * import type { NewProxy } from "./messages.ts";
 * declare const msg: NewProxy;
 * const conf = newProxyView(msg); // { name, type, transport, loadBalancer: { group }, ... }
 * ```
 */
export function newProxyView(msg: NewProxy): Record<string, unknown> {
  const t = msg.transport;
  const view: Record<string, unknown> = {
    name: msg.proxyName,
    type: msg.proxyType,
    transport: {
      useEncryption: t.useEncryption,
      useCompression: t.useCompression,
      bandwidthLimit: t.bandwidthLimit,
      bandwidthLimitMode: t.bandwidthLimitMode,
    },
    loadBalancer: { group: msg.loadBalancer.group },
    metadatas: { ...msg.metadatas },
    annotations: { ...msg.annotations },
  };
  for (const field of NEW_PROXY_TYPE_FIELDS[msg.proxyType] ?? []) {
    if (SECRET_FIELDS.has(field)) continue;
    view[field] = copy(msg[field]);
  }
  return view;
}
