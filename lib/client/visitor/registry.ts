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
