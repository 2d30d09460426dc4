/**
 * The "webServer" server feature: serves the admin app on
 * `webServer.addr:webServer.port` with `Deno.serve` when `webServer.port` is
 * set, and rolls the per-day traffic history once a minute.
 *
 * @example
 * ```ts
 * import "./feature.ts"; // registers "webServer"; the server starts it
 * ```
 *
 * @module
 */

import { registerServerFeature, type ServerFeature } from "../../server/feature.ts";
import type { ServerServices } from "../../server/services.ts";
import { adminApp } from "./app.ts";
import { AdminViews } from "./views.ts";

/** The feature's name in `ServerServices.features`. */
export const WEB_SERVER = "webServer";

/** See the module doc. */
export class AdminServer implements ServerFeature {
  readonly views: AdminViews;
  #server: Deno.HttpServer<Deno.NetAddr>;
  #roll: ReturnType<typeof setInterval>;

  /**
   * Binds and starts serving; throws when the address cannot be bound.
   *
   * @param services the server's shared state
   */
  constructor(services: ServerServices) {
    const { addr, port } = services.config.webServer;
    const log = services.log.with("admin");
    this.views = new AdminViews(services);
    const app = adminApp(this.views);
    try {
      this.#server = Deno.serve({
        hostname: addr,
        port,
        onListen: () => {},
        onError: (err) => {
          log.error(`admin request failed: ${(err as Error).message}`);
          return new Response("internal error", { status: 500 });
        },
      }, app.fetch);
    } catch (err) {
      throw new Error(`webServer ${addr}:${port}: ${(err as Error).message}`);
    }
    const bound = this.#server.addr;
    log.info(`dashboard listen on ${bound.hostname}:${bound.port}`);
    this.#roll = setInterval(() => this.views.history.rollAll(services.stats.values()), 60_000);
  }

  /** The bound port. */
  get port(): number {
    return this.#server.addr.port;
  }

  /** Stops serving (in-flight requests finish first). */
  async close(): Promise<void> {
    clearInterval(this.#roll);
    await this.#server.shutdown();
  }
}

registerServerFeature(WEB_SERVER, (services) => {
  if (!services.config.webServer.port) return Promise.resolve(null);
  return Promise.resolve(new AdminServer(services));
});
