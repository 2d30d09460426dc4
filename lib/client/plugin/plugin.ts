/**
 * A client plugin (`plugin.type` on a proxy): it answers the work connection
 * itself instead of the proxy dialing `localIP:localPort`. One file per
 * plugin behind this interface, found through `registry.ts`.
 *
 * @example
 * ```ts
 * import type { ClientPluginFactory } from "./plugin.ts";
 * const factory: ClientPluginFactory = (_options, ctx) => ({
 *   handle: (conn) => Promise.resolve(conn.close()),
 *   close: () => ctx.log.info("closed"),
 * });
 * ```
 *
 * @module
 */

import type { ClientConfig, ProxyConfig } from "../../config/mod.ts";
import type { Logger } from "../../log.ts";
import type { Duplex } from "../../net/duplex.ts";
import type { StartWorkConn } from "../../protocol/messages.ts";

/** The loaded `plugin` table of a proxy: `type` plus that type's keys. */
export type PluginOptions = NonNullable<ProxyConfig["plugin"]>;

/** What a plugin gets from its proxy. */
export interface PluginContext {
  /** The whole proxy config (`transport.proxyProtocolVersion` and such). */
  readonly proxy: ProxyConfig;
  /** Logger with the proxy's `[name]` prefix. */
  readonly log: Logger;
  /** The client's config (`virtualNet.address` and such), when the plugin runs in a client. */
  readonly client?: ClientConfig;
}

/** A running plugin instance, one per proxy. */
export interface ClientPlugin {
  /**
   * Serves one user connection: `conn` carries the user's bytes, `start`
   * says who the user is. Closes `conn` when done. Never rejects.
   */
  handle(conn: Duplex, start: StartWorkConn): Promise<void>;
  /** Frees what the plugin holds (internal listeners); open connections may finish. */
  close(): void;
}

/**
 * Builds a plugin from its options. Throws (with a message for the log) when
 * the options are unusable, e.g. a certificate file that cannot be read.
 */
export type ClientPluginFactory = (options: PluginOptions, ctx: PluginContext) => ClientPlugin;

/**
 * A plugin option that must be set; throws naming it otherwise.
 *
 * @example
 * ```ts
 * import { requireOption } from "./plugin.ts";
 * requireOption({ type: "unix_domain_socket", unixPath: "/run/app.sock" }, "unixPath");
 * ```
 */
export function requireOption(options: PluginOptions, key: keyof PluginOptions): string {
  const value = options[key];
  if (typeof value !== "string" || value === "") {
    throw new Error(`plugin ${options.type}: ${String(key)} is required`);
  }
  return value;
}
