/**
 * The client side of a visitor type (stcp, sudp; later xtcp): something that
 * takes local connections or datagrams and carries them to a secret proxy of
 * another client through the server. One file per type behind this
 * interface, found through the registry in `registry.ts`.
 *
 * @example
 * ```ts
 * import type { VisitorFactory } from "./visitor.ts";
 * const factory: VisitorFactory = (config, ctx) => ({
 *   name: config.name,
 *   start: () => Promise.resolve(),
 *   close: () => ctx.log.info("closed"),
 * });
 * ```
 *
 * @module
 */

import type { ClientConfig, VisitorConfig } from "../../config/mod.ts";
import type { Logger } from "../../log.ts";
import type { Duplex } from "../../net/duplex.ts";

/**
 * A fresh channel to the server for one visitor connection, before its
 * `NewVisitorConn`: a new mux stream (tcpMux on) or a new connection
 * (tcpMux off), with the nonce of the `ServerHello` it began with.
 */
export interface ServerChannel {
  conn: Duplex;
  /** The server's fresh nonce for this channel; the visitor's proof is bound to it. */
  nonce: string;
  /** tcpMux off: which logged-in client this connection belongs to, and its token proof. */
  auth?: { runId: string; authProof: string };
}

/** What a visitor gets from the client. */
export interface VisitorContext {
  readonly clientConfig: ClientConfig;
  /** Logger with the `[name]` prefix. */
  readonly log: Logger;
  /** Opens a channel to the server; rejects when the client is not logged in. */
  openChannel(): Promise<ServerChannel>;
  /**
   * Hands a connection to another visitor by name (e.g. xtcp falling back
   * to stcp); false if there is no such visitor taking connections.
   */
  handOver(name: string, conn: Duplex): boolean;
}

/** A running visitor. */
export interface Visitor {
  readonly name: string;
  /** Binds `bindAddr:bindPort` when `bindPort` > 0. Throws a user-facing Error. */
  start(): Promise<void>;
  /**
   * Serves a connection some other part of the client accepted, as if it
   * had arrived on `bindPort` (a negative `bindPort` takes only these).
   * Absent on visitors that carry datagrams.
   */
  handOver?(conn: Duplex): void;
  /** Stops listening and closes its connections. */
  close(): void;
}

/** Builds a visitor of one type from its config. */
export type VisitorFactory = (config: VisitorConfig, ctx: VisitorContext) => Visitor;
