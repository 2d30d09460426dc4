/**
 * What the server shares with everything it runs: its config, the port
 * manager, the logger, proxy counters, the running features (and what a
 * feature is: {@linkcode ServerFeature}, found by a typed
 * {@linkcode FeatureKey}), the clients and, in cluster mode, the placement. Sessions, proxies, features and the admin
 * layer depend on this small interface only, not on the control or the
 * server classes.
 *
 * @example
 * ```ts
 * import type { ServerServices } from "./services.ts";
 * function describe(services: ServerServices): string {
 *   return `${services.features.size} features on port ${services.config.bindPort}`;
 * }
 * ```
 *
 * @module
 */

import type { ServerConfig } from "../config/mod.ts";
import type { Logger } from "../log.ts";
import type { TransportConn } from "../transport/transport.ts";
import type { Placement } from "./placement.ts";
import type { PortManager } from "./ports.ts";
import type { ClientInfo, ProxyStats } from "./stats.ts";
import type { TrafficHistory } from "./traffic_history.ts";

/** What every client control, proxy and feature shares with the server. */
export interface ServerServices {
  readonly config: ServerConfig;
  readonly ports: PortManager;
  readonly log: Logger;
  /** Counters of every proxy ever registered, by name. */
  readonly stats: Map<string, ProxyStats>;
  /** Those counters split by day (the admin API's "today" and a cluster node's published figures). */
  readonly history: TrafficHistory;
  /** Running server-wide features (vhost listeners...), by name; see `feature.ts`. */
  readonly features: Map<string, ServerFeature>;
  /** Every client that logged in since start, online or not, by run id (absent in hand-built services). */
  readonly clients?: Map<string, ClientInfo>;
  /** Cluster mode: routes claimed and served cluster-wide (`placement.ts`); absent on one node. */
  placement?: Placement;
}

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
 * import type { FeatureKey, ServerFeature } from "./services.ts";
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
 * import { featureOf, type FeatureKey, type ServerFeature } from "./services.ts";
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
