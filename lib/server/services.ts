/**
 * What the server shares with everything it runs: its config, the port
 * manager, the logger, proxy counters, the running features, the clients and,
 * in cluster mode, the placement. Sessions, proxies, features and the admin
 * layer depend on this small interface only, not on the session or the
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
import type { ServerFeature } from "./feature.ts";
import type { Placement } from "./placement.ts";
import type { PortManager } from "./ports.ts";
import type { ClientInfo, ProxyStats } from "./stats.ts";

/** What every session, proxy and feature shares with the server. */
export interface ServerServices {
  readonly config: ServerConfig;
  readonly ports: PortManager;
  readonly log: Logger;
  /** Counters of every proxy ever registered, by name. */
  readonly stats: Map<string, ProxyStats>;
  /** Running server-wide features (vhost listeners...), by name; see `feature.ts`. */
  readonly features: Map<string, ServerFeature>;
  /** Every client that logged in since start, online or not, by run id (absent in hand-built services). */
  readonly clients?: Map<string, ClientInfo>;
  /** Cluster mode: routes claimed and served cluster-wide (`placement.ts`); absent on one node. */
  placement?: Placement;
}
