/**
 * Serves the client's admin API on `webServer.addr:webServer.port` with
 * `Deno.serve` (`DfrpClient` itself stays free of HTTP).
 *
 * @example
 * ```ts
 * import { serveClientAdmin } from "./serve.ts";
 * import type { ConfigManager } from "./config_manager.ts";
 * declare const manager: ConfigManager;
 * const admin = serveClientAdmin(manager, { addr: "127.0.0.1", port: 7400, user: "", password: "" });
 * await admin.close();
 * ```
 *
 * @module
 */

import { log } from "../../log.ts";
import { type AdminAuth, clientAdminApp } from "./app.ts";
import type { ConfigManager } from "./config_manager.ts";

/** The `webServer` keys the admin API uses. */
export interface AdminListen extends AdminAuth {
  addr: string;
  port: number;
}

/** A running admin API. */
export interface AdminServer {
  /** `host:port` it listens on. */
  addr: string;
  /** Stops listening and ends open requests. */
  close(): Promise<void>;
}

/**
 * Starts listening; throws if the address cannot be bound (dfrpc then
 * exits, as frpc does).
 */
export function serveClientAdmin(manager: ConfigManager, listen: AdminListen): AdminServer {
  const app = clientAdminApp(manager, listen);
  const server = Deno.serve({
    hostname: listen.addr,
    port: listen.port,
    onListen: () => {},
  }, app.fetch);
  const { hostname, port } = server.addr;
  const addr = `${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`;
  log.info(`admin server listen on ${addr}`);
  return {
    addr,
    close: async () => {
      await server.shutdown();
    },
  };
}
