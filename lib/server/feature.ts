/**
 * Server-wide features that proxy types share: the HTTP vhost listener on
 * `vhostHTTPPort`, the SNI router on `vhostHTTPSPort`, the tcpmux listener.
 * Each lives in its own file, registers a factory here, and is started with
 * the server when its config asks for it. Proxy types find them by name in
 * `ServerServices.features`.
 *
 * @example
 * ```ts
 * import { registerServerFeature } from "./feature.ts";
 * registerServerFeature("hello", (services) => {
 *   if (!services.config.vhostHTTPPort) return Promise.resolve(null);
 *   return Promise.resolve({ close() {} });
 * });
 * ```
 *
 * @module
 */

import type { ServerFeature, ServerServices } from "./services.ts";

// What a feature is, and its typed keys, live in `services.ts` beside what the
// server shares with it; this file is the registry of feature factories.
export { type FeatureKey, featureOf, type ServerFeature } from "./services.ts";

/** Starts a feature, or resolves to null when the config does not enable it. */
export type ServerFeatureFactory = (services: ServerServices) => Promise<ServerFeature | null>;

const factories = new Map<string, ServerFeatureFactory>();

/**
 * Makes a feature start with every server.
 *
 * @example
 * ```ts
 * import { registerServerFeature } from "./feature.ts";
 * registerServerFeature("nothing", () => Promise.resolve(null));
 * ```
 */
export function registerServerFeature(name: string, factory: ServerFeatureFactory): void {
  factories.set(name, factory);
}

/**
 * Every registered feature factory, by name.
 *
 * @example
 * ```ts
 * import { serverFeatureFactories } from "./feature.ts";
 * for (const [name] of serverFeatureFactories()) console.log(name);
 * ```
 */
export function serverFeatureFactories(): ReadonlyMap<string, ServerFeatureFactory> {
  return factories;
}
