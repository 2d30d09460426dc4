/**
 * Proxy types the server knows, keyed by `type`. A new type registers itself
 * in its own file; nothing else changes.
 *
 * @example
 * ```ts
 * import { registerServerProxy, serverProxyFactory } from "./registry.ts";
 * registerServerProxy("echo", (_config, _ctx) => ({ start: () => Promise.resolve(""), close() {} }));
 * console.log(serverProxyFactory("echo") !== undefined); // true
 * ```
 *
 * @module
 */

import type { ServerProxyFactory } from "./proxy.ts";

const factories = new Map<string, ServerProxyFactory>();

/**
 * Makes a proxy type available.
 *
 * @example
 * ```ts
 * import { registerServerProxy } from "./registry.ts";
 * registerServerProxy("noop", () => ({ start: () => Promise.resolve(""), close() {} }));
 * ```
 */
export function registerServerProxy(type: string, factory: ServerProxyFactory): void {
  factories.set(type, factory);
}

/**
 * The factory for `type`, if any.
 *
 * @example
 * ```ts
 * import { serverProxyFactory } from "./registry.ts";
 * serverProxyFactory("tcp");
 * ```
 */
export function serverProxyFactory(type: string): ServerProxyFactory | undefined {
  return factories.get(type);
}
