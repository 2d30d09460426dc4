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

import type { TransportConn } from "../transport/transport.ts";
import type { ServerServices } from "./services.ts";

/** A running server-wide feature. */
export interface ServerFeature {
  /**
   * Offered every connection to `bindPort` that does not start with dfrp's
   * magic (`head` holds its first bytes; `conn` replays them). Returns true
   * to take it, e.g. an HTTP request when `vhostHTTPPort` equals `bindPort`.
   */
  takeConnection?(conn: TransportConn, head: Uint8Array): boolean;
  /** Stops the feature's listeners. */
  close(): void | Promise<void>;
}

/**
 * A feature's name that also carries the feature's type: `featureOf` then
 * returns that type without a cast. At run time it is the plain name.
 *
 * @example
 * ```ts
 * import type { FeatureKey, ServerFeature } from "./feature.ts";
 * interface Clock extends ServerFeature { now(): number }
 * const CLOCK: FeatureKey<Clock> = "clock";
 * ```
 */
export type FeatureKey<T extends ServerFeature> = string & { readonly __feature?: T };

/**
 * The running feature registered under `key`, typed, or `undefined` when the
 * config did not start it.
 *
 * @example
 * ```ts
 * import { featureOf, type FeatureKey, type ServerFeature } from "./feature.ts";
 * interface Clock extends ServerFeature { now(): number }
 * const CLOCK: FeatureKey<Clock> = "clock";
 * declare const features: Map<string, ServerFeature>;
 * featureOf(features, CLOCK)?.now();
 * ```
 */
export function featureOf<T extends ServerFeature>(
  features: ReadonlyMap<string, ServerFeature>,
  key: FeatureKey<T>,
): T | undefined {
  return features.get(key) as T | undefined;
}

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
