/**
 * The server side of a proxy type: one file per type behind this interface,
 * found through the registry in `registry.ts`.
 *
 * @example
 * ```ts
 * import type { ServerProxy, ServerProxyFactory } from "./proxy.ts";
 * const factory: ServerProxyFactory = (_msg, ctx) => ({
 *   start: () => Promise.resolve(":0"),
 *   close: () => ctx.log.info("closed"),
 * });
 * ```
 *
 * @module
 */

import type { Logger } from "../../log.ts";
import type { Duplex } from "../../net/duplex.ts";
import type { ServerConfig } from "../../config/mod.ts";
import type { NewProxy } from "../../protocol/messages.ts";
import type { PortManager } from "../ports.ts";
import type { ProxyStats } from "../stats.ts";
import type { ServerServices } from "../services.ts";

/** Where a user connection came from and went to, for the client and PROXY headers. */
export interface ConnEnds {
  srcAddr: string;
  srcPort: number;
  dstAddr: string;
  dstPort: number;
}

/** What a proxy gets from the server and the client control that owns it. */
export interface ProxyContext {
  readonly name: string;
  /** Server-wide state, e.g. `featureOf(services.features, HTTP_VHOST)` (`feature.ts`). */
  readonly services: ServerServices;
  readonly serverConfig: ServerConfig;
  readonly ports: PortManager;
  /** The owning client's run id. */
  readonly clientId: string;
  readonly user: string;
  /** The client's `metadatas` (server plugins get them as `metas`). */
  readonly metas?: Record<string, string>;
  /** Logger with the `[name]` prefix. */
  readonly log: Logger;
  readonly stats: ProxyStats;
  /**
   * A connection to the client for one user connection, already told which
   * proxy it serves. Rejects after `userConnTimeout` if none can be had.
   */
  openWorkConn(ends: ConnEnds): Promise<Duplex>;
  /**
   * {@linkcode openWorkConn} with the user's first bytes sent in the same
   * write as the `StartWorkConn` (where the work connection is the client's
   * own: not through a cluster peer or the SSH gateway).
   */
  openWorkConnWith?(ends: ConnEnds, head: Uint8Array): Promise<Duplex>;
}

/** A running proxy on the server. */
export interface ServerProxy {
  /** Starts listening; resolves to the address users reach, e.g. ":6000". Throws a user-facing Error. */
  start(): Promise<string>;
  /** Stops listening and closes its user connections. */
  close(): void;
}

/**
 * Builds a proxy of one type from the client's `NewProxy` (validated by the
 * codec: typed fields, defaults filled in).
 */
export type ServerProxyFactory = (
  config: NewProxy,
  ctx: ProxyContext,
) => ServerProxy;
