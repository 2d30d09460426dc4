/**
 * The cluster's admin routes (Hono), over any source of the cluster view: a
 * node's placement (`/api/cluster` on every node's admin server) or Redis
 * alone (the standalone `admin.ts`).
 *
 * | route                        | answer                                     |
 * | ---------------------------- | ------------------------------------------ |
 * | `GET /`                      | `{nodes, clients, proxies, running}`       |
 * | `GET /nodes`                 | `{nodes}`: name, addresses, lease left     |
 * | `GET /clients`               | `{clients}`: run id, node, user, host...   |
 * | `GET /proxies`               | `{proxies}`: name, type, node, route       |
 * | `GET /running`               | `{running}`: every proxy of any type, node |
 * | `DELETE /clients/:id`        | disconnects the client on its node; 404 if no node has it |
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { clusterRoutes } from "./routes.ts";
 * import type { ClusterSource } from "./routes.ts";
 * declare const source: ClusterSource;
 * const app = new Hono().route("/api/cluster", clusterRoutes(() => source));
 * ```
 *
 * @module
 */

import { Hono } from "hono";
import type { ClusterView } from "../../server/placement.ts";

/** Where the routes read the cluster and send kicks. */
export interface ClusterSource {
  view(): Promise<ClusterView>;
  kick(runId: string): Promise<boolean>;
}

/**
 * The routes of the module doc; `source()` is undefined while cluster mode
 * is not running (503).
 *
 * @example
 * ```ts
 * import { clusterRoutes } from "./routes.ts";
 * const app = clusterRoutes(() => undefined);
 * const res = await app.request("/nodes"); // 503
 * ```
 */
export function clusterRoutes(source: () => ClusterSource | undefined): Hono {
  const app = new Hono();
  const read = async () => {
    const s = source();
    if (!s) return undefined;
    return await s.view();
  };
  const unavailable = { error: "cluster mode is not running" };
  app.get("/", async (c) => {
    const view = await read();
    return view ? c.json(view) : c.json(unavailable, 503);
  });
  for (const part of ["nodes", "clients", "proxies", "running"] as const) {
    app.get(`/${part}`, async (c) => {
      const view = await read();
      return view ? c.json({ [part]: view[part] }) : c.json(unavailable, 503);
    });
  }
  app.delete("/clients/:id", async (c) => {
    const s = source();
    if (!s) return c.json(unavailable, 503);
    const id = c.req.param("id");
    if (!/^[\w.-]{1,64}$/.test(id)) return c.json({ error: "not a run id" }, 400);
    if (!await s.kick(id)) return c.json({ error: `no node holds client ${id}` }, 404);
    return c.json({ ok: true });
  });
  return app;
}
