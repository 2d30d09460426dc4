/**
 * `serve()`: run a dfrp server inside a Deno program.
 *
 * @example
 * ```ts
 * import { serve } from "./serve.ts";
 * const server = await serve({ bindPort: 7000, token: "secret" });
 * console.log(`clients connect to port ${server.port}`);
 * await server.close();
 * ```
 *
 * @module
 */

import { DfrpServer } from "../server/server.ts";
import "../admin/server/feature.ts"; // the admin API and dashboard, when webServer asks for them
import "../cluster/register.ts"; // cluster mode, loaded only when [cluster] asks for it
import { type ServeOptions, toServerConfig } from "./options.ts";

/** A running embedded server. */
export interface TunnelServer {
  /** The bound `bindPort` (the real one when 0 was asked for). */
  readonly port: number;
  /** Stops accepting, disconnects every client, frees every port. */
  close(): Promise<void>;
  /** The server underneath. */
  readonly server: DfrpServer;
}

/**
 * Validates the options (the same keys, defaults and errors as `frps.toml`)
 * and starts listening. `bindPort: 0` picks a free port; note that, as in
 * frp, a bindPort of 0 in a file means the default 7000, so the library maps
 * an explicit 0 to "any free port" itself.
 */
export async function serve(opts: ServeOptions = {}): Promise<TunnelServer> {
  const config = toServerConfig(opts);
  if (opts.bindPort === 0) config.bindPort = 0;
  const server = new DfrpServer(config);
  await server.start();
  return {
    server,
    get port() {
      return server.port;
    },
    close: () => server.close(),
  };
}
