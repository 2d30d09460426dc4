/**
 * Visitor types the client knows, keyed by `type`. A new type (xtcp)
 * registers itself in its own file and is imported from `mod.ts`.
 *
 * @example
 * ```ts
 * import { registerVisitor, visitorFactory } from "./registry.ts";
 * registerVisitor("noop", (c) => ({ name: c.name, start: () => Promise.resolve(), close() {} }));
 * console.log(visitorFactory("noop") !== undefined); // true
 * ```
 *
 * @module
 */

import type { VisitorFactory } from "./visitor.ts";

const factories = new Map<string, VisitorFactory>();

/**
 * Makes a visitor type available.
 *
 * @example
 * ```ts
 * import { registerVisitor } from "./registry.ts";
 * registerVisitor("noop", (c) => ({ name: c.name, start: () => Promise.resolve(), close() {} }));
 * ```
 */
export function registerVisitor(type: string, factory: VisitorFactory): void {
  factories.set(type, factory);
}

/**
 * The factory for `type`, if any.
 *
 * @example
 * ```ts
 * import { visitorFactory } from "./registry.ts";
 * visitorFactory("stcp");
 * ```
 */
export function visitorFactory(type: string): VisitorFactory | undefined {
  return factories.get(type);
}

const pluginFactories = new Map<string, VisitorFactory>();

/**
 * Makes a visitor plugin available: a visitor whose `plugin.type` is set is
 * built by the plugin's factory instead of its type's (frp's `virtual_net`).
 *
 * @example
 * ```ts
 * import { registerVisitorPlugin } from "./registry.ts";
 * registerVisitorPlugin("noop", (c) => ({ name: c.name, start: () => Promise.resolve(), close() {} }));
 * ```
 */
export function registerVisitorPlugin(type: string, factory: VisitorFactory): void {
  pluginFactories.set(type, factory);
}

/**
 * The factory for a visitor with `config`: its plugin's when it has one, else its type's.
 *
 * @example
 * ```ts
 * import { factoryForVisitor } from "./registry.ts";
 * import type { VisitorConfig } from "../../config/mod.ts";
 * declare const config: VisitorConfig;
 * factoryForVisitor(config);
 * ```
 */
export function factoryForVisitor(
  config: { type: string; plugin?: { type: string } },
): VisitorFactory | undefined {
  return config.plugin?.type ? pluginFactories.get(config.plugin.type) : factories.get(config.type);
}
