/**
 * The admin JSON API under frp's paths (`/api/serverinfo`, `/api/proxy/...`,
 * `/api/traffic/:name`, `/api/clients`, `DELETE /api/proxies?status=offline`)
 * plus dfrp's `DELETE /api/clients/:id`, which disconnects a client. Every
 * parameter is validated; bad ones get 400 with the reason. In cluster mode
 * `/api/clients` and `/api/proxy/:type` list every node's, each with its
 * `node`, one proxy and its traffic are found on any node, and the
 * disconnect reaches a client on any node (`cluster_views.ts`).
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { apiRoutes } from "./api.ts";
 * import { AdminViews } from "./views.ts";
 * import type { ServerServices } from "../../server/services.ts";
 * declare const services: ServerServices;
 * const app = new Hono().route("/api", apiRoutes(new AdminViews(services), services.log));
 * ```
 *
 * @module
 */

import { Hono } from "hono";
import { z } from "zod";
import type { Logger } from "../../log.ts";
import { fail, validate } from "./middleware.ts";
import { type AdminViews, PROXY_TYPES } from "./views.ts";
import { ClusterAdminViews } from "./cluster_views.ts";

// frp accepts any proxy name the client sends; bound it to keep logs sane.
const proxyName = z.string().min(1).max(256);
const runId = z.string().regex(/^[0-9a-f]{16}$/, "expected a run id (16 hex digits)");

/**
 * Builds the `/api` routes over `views`.
 *
 * @example
 * ```ts
 * import { apiRoutes } from "./api.ts";
 * import type { AdminViews } from "./views.ts";
 * import { log } from "../../log.ts";
 * declare const views: AdminViews;
 * const api = apiRoutes(views, log);
 * ```
 */
export function apiRoutes(views: AdminViews, log: Logger): Hono {
  const api = new Hono();
  const cluster = new ClusterAdminViews(views);
  const typeParam = validate("param", z.object({ type: z.enum(PROXY_TYPES) }), log);
  const typeNameParam = validate(
    "param",
    z.object({ type: z.enum(PROXY_TYPES), name: proxyName }),
    log,
  );
  const nameParam = validate("param", z.object({ name: proxyName }), log);
  const idParam = validate("param", z.object({ id: runId }), log);

  api.get("/serverinfo", (c) => c.json(views.serverInfo()));

  api.get("/proxy/:type", typeParam, async (c) => {
    return c.json({ proxies: await cluster.proxiesByType(c.req.valid("param").type) });
  });

  api.get("/proxy/:type/:name", typeNameParam, async (c) => {
    const { type, name } = c.req.valid("param");
    const proxy = await cluster.proxy(name);
    if (!proxy || proxy.type !== type) return fail(c, 404, "no proxy info found", log);
    return c.json(proxy);
  });

  api.get("/proxies/:name", nameParam, async (c) => {
    const proxy = await cluster.proxy(c.req.valid("param").name);
    if (!proxy) return fail(c, 404, "no proxy info found", log);
    return c.json(proxy);
  });

  api.get("/traffic/:name", nameParam, async (c) => {
    const name = c.req.valid("param").name;
    const days = await cluster.traffic(name);
    if (!days) return fail(c, 404, "no proxy info found", log);
    return c.json({ name, ...days });
  });

  api.delete(
    "/proxies",
    validate(
      "query",
      z.object({ status: z.literal("offline", { error: "status only supports offline" }) }),
      log,
    ),
    (c) => {
      const { cleared, total } = views.clearOfflineProxies();
      log.info(`cleared [${cleared}] offline proxies, total [${total}] proxies`);
      return c.json({ code: 200, msg: "success", cleared });
    },
  );

  api.get(
    "/clients",
    validate(
      "query",
      z.object({
        user: z.string().optional(),
        clientId: z.string().optional(),
        runId: z.string().optional(),
        status: z.enum(["", "all", "online", "offline"]).optional(),
      }),
      log,
    ),
    async (c) => {
      const q = c.req.valid("query");
      const list = (await cluster.clients()).filter((info) =>
        (q.user === undefined || info.user === q.user) &&
        (!q.clientId || info.clientID === q.clientId) &&
        (!q.runId || info.runID === q.runId) &&
        (q.status !== "online" || info.online) &&
        (q.status !== "offline" || !info.online)
      );
      return c.json(list);
    },
  );

  api.get("/clients/:id", idParam, async (c) => {
    const info = await cluster.client(c.req.valid("param").id);
    if (!info) return fail(c, 404, `client ${c.req.valid("param").id} not found`, log);
    return c.json(info);
  });

  api.delete("/clients/:id", idParam, async (c) => {
    const id = c.req.valid("param").id;
    const info = views.clientInfo(id);
    if (!info?.online && await cluster.disconnectElsewhere(id)) {
      log.info(`admin API disconnects client ${id} on another node`);
      return c.json({ code: 200, msg: "success" });
    }
    if (!info) return fail(c, 404, `client ${id} not found`, log);
    if (!info.online || !info.disconnect) return fail(c, 409, `client ${id} is offline`, log);
    log.info(`admin API disconnects client ${id} (${info.address})`);
    info.disconnect("disconnected by the admin API");
    return c.json({ code: 200, msg: "success" });
  });

  return api;
}
