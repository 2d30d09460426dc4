/**
 * Proxy types the client knows, keyed by `type`.
 *
 * @example
 * ```ts
 * import { clientProxyFactory, registerClientProxy } from "./registry.ts";
 * registerClientProxy("noop", () => ({ handleWorkConn: (c) => Promise.resolve(c.close()), close() {} }));
 * console.log(clientProxyFactory("noop") !== undefined); // true
 * ```
 *
 * @module
 */

import type { ClientProxyFactory } from "./proxy.ts";

const factories = new Map<string, ClientProxyFactory>();

/**
 * Makes a proxy type available on the client.
 *
 * @example
 * ```ts
 * import { registerClientProxy } from "./registry.ts";
 * registerClientProxy("noop", () => ({ handleWorkConn: (c) => Promise.resolve(c.close()), close() {} }));
 * ```
 */
export function registerClientProxy(type: string, factory: ClientProxyFactory): void {
  factories.set(type, factory);
}

/**
 * The factory for `type`, if any.
 *
 * @example
 * ```ts
 * import { clientProxyFactory } from "./registry.ts";
 * clientProxyFactory("tcp");
 * ```
 */
export function clientProxyFactory(type: string): ClientProxyFactory | undefined {
  return factories.get(type);
}
