/**
 * A server with its dashboard (`webServer.*`: the admin API, the web page,
 * `/metrics`) on a free port, started once the dashboard listens.
 *
 * @example
 * ```ts
 * import { startDashboardServer } from "./_dashboard.ts";
 * await using server = await startDashboardServer({ webUser: "admin", webPassword: "s3cret" });
 * const res = await fetch(`http://127.0.0.1:${server.webPort}/healthz`);
 * console.log(res.status);
 * ```
 *
 * @module
 */

import { serverConf, type ServerConfOptions } from "./_config.ts";
import { freePort, type ServerHandle, startServer } from "./_harness.ts";

/** A running server and the port of its dashboard. */
export interface DashboardServer extends ServerHandle {
  /** `webServer.port`. */
  webPort: number;
}

/**
 * Starts `server.ts` with {@linkcode serverConf}`(options)` and the dashboard on a free port
 * (`options.webPort` is set here), and waits until the dashboard listens.
 *
 * @example
 * ```ts
 * import { startDashboardServer } from "./_dashboard.ts";
 * await using server = await startDashboardServer({ token: "t", extra: "enablePrometheus = true" });
 * console.log(server.port, server.webPort);
 * ```
 */
export async function startDashboardServer(
  options: Omit<ServerConfOptions, "webPort"> = {},
): Promise<DashboardServer> {
  const webPort = freePort();
  const server = await startServer(serverConf({ ...options, webPort }));
  try {
    await server.waitFor(/dashboard listen on/);
  } catch (err) {
    await server[Symbol.asyncDispose]();
    throw err;
  }
  return Object.assign(server, { webPort });
}
