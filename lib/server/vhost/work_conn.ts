/**
 * The work connection an HTTP vhost user connection is using: opened for a
 * route on the first request, kept for the next keep-alive request to the
 * same route, replaced when the route changes, and counted in the proxy's
 * stats while open.
 *
 * @example
 * ```ts
 * import { WorkSlot } from "./work_conn.ts";
 * import type { HttpRoute } from "./http_route.ts";
 * import type { ConnEnds } from "../proxy/proxy.ts";
 * declare const route: HttpRoute, ends: ConnEnds;
 * const slot = new WorkSlot(ends);
 * const work = await slot.for(route); // a new work connection, or the kept one
 * slot.drop(); // closes it
 * ```
 *
 * @module
 */

import type { Duplex } from "../../net/duplex.ts";
import type { ConnEnds } from "../proxy/proxy.ts";
import { HttpError } from "./http_parser.ts";
import { HttpReader } from "./http_reader.ts";
import type { HttpRoute } from "./http_route.ts";

/**
 * No work connection could be opened for a route (its client or its node is
 * gone): nothing of the request was read yet, so another member of its group
 * may take it.
 *
 * @example
 * ```ts
 * import { NoWorkConn } from "./work_conn.ts";
 * const err: Error = new NoWorkConn(502, "no connection to the backend: refused");
 * console.log(err instanceof NoWorkConn);
 * ```
 */
export class NoWorkConn extends HttpError {}

/** An open work connection and the reader of its responses. */
export interface Work {
  route: HttpRoute;
  conn: Duplex;
  reader: HttpReader;
  /** Whether a request was sent on it already (a kept connection may have gone stale). */
  used: boolean;
}

/** See the module doc. */
export class WorkSlot {
  #work: Work | null = null;

  /** @param ends the user connection's addresses, sent with each new work connection */
  constructor(readonly ends: ConnEnds) {}

  /** The open work connection, if any. */
  get current(): Work | null {
    return this.#work;
  }

  /**
   * The kept work connection for `route` (at once: no promise per
   * keep-alive request), or a new one. Rejects with {@linkcode NoWorkConn} (502).
   */
  for(route: HttpRoute): Work | Promise<Work> {
    if (this.#work?.route === route) return this.#work;
    return this.#open(route);
  }

  async #open(route: HttpRoute): Promise<Work> {
    this.drop();
    let conn: Duplex;
    try {
      conn = await route.ctx.openWorkConn(this.ends);
    } catch (err) {
      route.ctx.log.warn(`no work connection: ${(err as Error).message}`);
      throw new NoWorkConn(502, `no connection to the backend: ${(err as Error).message}`);
    }
    route.conns.add(conn);
    route.ctx.stats.curConns++;
    route.ctx.stats.totalConns++;
    this.#work = { route, conn, reader: new HttpReader(conn), used: false };
    return this.#work;
  }

  /** Closes the work connection, if any. */
  drop(): void {
    const work = this.#work;
    if (!work) return;
    this.#work = null;
    work.conn.close();
    if (work.route.conns.delete(work.conn)) work.route.ctx.stats.curConns--;
  }
}
