/**
 * Client plugins known by `plugin.type`.
 *
 * @example
 * ```ts
 * import { pluginFactory, registerPlugin } from "./registry.ts";
 * registerPlugin("noop", () => ({ handle: (c) => Promise.resolve(c.close()), close() {} }));
 * console.log(pluginFactory("noop") !== undefined); // true
 * ```
 *
 * @module
 */

import type { ClientPluginFactory } from "./plugin.ts";

const factories = new Map<string, ClientPluginFactory>();

/**
 * Makes a plugin type available.
 *
 * @example
 * ```ts
 * import { registerPlugin } from "./registry.ts";
 * registerPlugin("noop", () => ({ handle: (c) => Promise.resolve(c.close()), close() {} }));
 * ```
 */
export function registerPlugin(type: string, factory: ClientPluginFactory): void {
  factories.set(type, factory);
}

/**
 * The factory for `type`, if any.
 *
 * @example
 * ```ts
 * import { pluginFactory } from "./registry.ts";
 * import "./mod.ts";
 * pluginFactory("socks5");
 * ```
 */
export function pluginFactory(type: string): ClientPluginFactory | undefined {
  return factories.get(type);
}
