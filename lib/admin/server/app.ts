/**
 * The admin web app (Hono): `/healthz` without auth, then the request guard
 * (`../request_guard.ts`: no foreign `Host`, no cross-site state change) and
 * basic auth (failures counted per address) in front of `/metrics` (when
 * `enablePrometheus`), the `/api` routes and the dashboard at `/`.
 *
 * @example
 * ```ts
 * import { adminApp } from "./app.ts";
 * import { AdminViews } from "./views.ts";
 * import type { ServerServices } from "../../server/services.ts";
 * declare const services: ServerServices;
 * Deno.serve({ port: 7500 }, adminApp(new AdminViews(services)).fetch);
 * ```
 *
 * @module
 */

import { Hono } from "hono";
import { apiRoutes } from "./api.ts";
import { clusterRoutes } from "../cluster/routes.ts";
import { DASHBOARD_HTML } from "./dashboard.ts";
import { PROMETHEUS_CONTENT_TYPE, prometheusText } from "./metrics.ts";
import { basicAuthIfSet, fail, installJsonErrors } from "./middleware.ts";
import { requestGuard } from "../request_guard.ts";
import type { AdminViews } from "./views.ts";

/**
 * Builds the app over `views`; config comes from `views.services.config`.
 *
 * @example
 * ```ts
 * import { adminApp } from "./app.ts";
 * import type { AdminViews } from "./views.ts";
 * declare const views: AdminViews;
 * const res = await adminApp(views).request("/healthz"); // 200
 * ```
 */
export function adminApp(views: AdminViews): Hono {
  const { config, log } = views.services;
  const adminLog = log.with("admin");
  const app = new Hono();
  installJsonErrors(app, adminLog);
  // Load balancers probe this without credentials.
  app.get("/healthz", (c) => c.body(null, 200));
  const web = config.webServer;
  app.use(
    "*",
    requestGuard({
      addr: web.addr,
      allowedHosts: web.allowedHosts ?? [],
      refuse: (c, status, msg) => fail(c, status, msg, adminLog),
    }),
  );
  app.use("*", basicAuthIfSet(web.user, web.password, adminLog, web.maxFailedLogins ?? 5));
  app.use("*", async (c, next) => {
    await next();
    adminLog.debug(`${c.req.method} ${c.req.path} ${c.res.status}`);
  });
  if (config.enablePrometheus) {
    app.get(
      "/metrics",
      (c) =>
        c.body(prometheusText(views.services), 200, { "content-type": PROMETHEUS_CONTENT_TYPE }),
    );
  }
  if (config.cluster?.redisURL) {
    // Cluster mode (docs/cluster.md): the whole cluster, read from Redis through this node.
    app.route("/api/cluster", clusterRoutes(() => views.services.placement));
  }
  app.route("/api", apiRoutes(views, adminLog));
  app.get("/", (c) => c.html(DASHBOARD_HTML));
  return app;
}
