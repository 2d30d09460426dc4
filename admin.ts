/**
 * The cluster's admin API and dashboard from Redis alone, with no dfrps
 * beside it (docs/cluster.md): `export default { fetch }` is a Hono app, so
 *
 *     DFRP_REDIS_URL=redis://127.0.0.1:6379/0 deno serve -A --port 7500 admin.ts
 *
 * (or a serverless Deno host) runs it. Configured by environment:
 * `DFRP_REDIS_URL` (required), `DFRP_ADMIN_USER` / `DFRP_ADMIN_PASSWORD`
 * (basic auth; none when both are empty). Kicks go through Redis to the node
 * that holds the client.
 *
 * | route                          | answer                                  |
 * | ------------------------------ | --------------------------------------- |
 * | `GET /healthz`                 | 200 without auth                        |
 * | `GET /`                        | the dashboard (HTML)                    |
 * | `GET /api/cluster[/nodes|/clients|/proxies]` | the cluster view (JSON)   |
 * | `DELETE /api/clients/:id`      | disconnects the client on its node      |
 *
 * @example
 * ```ts
 * import admin from "./admin.ts";
 * const res = await admin.fetch(new Request("http://localhost/healthz")); // 200
 * ```
 *
 * @module
 */

import { Hono } from "hono";
import { log } from "./lib/log.ts";
import { basicAuthIfSet, installJsonErrors } from "./lib/admin/server/middleware.ts";
import { clusterRoutes, type ClusterSource } from "./lib/admin/cluster/routes.ts";
import { CLUSTER_DASHBOARD_HTML } from "./lib/admin/cluster/dashboard.ts";

const env = (name: string) => {
  try {
    return Deno.env.get(name) ?? "";
  } catch {
    return "";
  }
};

let redis: Promise<import("./lib/cluster/redis.ts").Redis> | undefined;
/** Connects on first use, so the module loads (and `/healthz` answers) without Redis. */
function connection() {
  redis ??= (async () => {
    const url = env("DFRP_REDIS_URL");
    if (!url) throw new Error("DFRP_REDIS_URL is not set");
    const { connectRedis } = await import("./lib/cluster/redis.ts");
    return await connectRedis(url);
  })();
  redis.catch(() => redis = undefined);
  return redis;
}

const source: ClusterSource = {
  view: async () => (await import("./lib/cluster/view.ts")).readClusterView(await connection()),
  kick: async (runId) =>
    (await import("./lib/cluster/view.ts")).kickClient(await connection(), runId),
};

const adminLog = log.with("admin");
const app = new Hono();
installJsonErrors(app, adminLog);
app.get("/healthz", (c) => c.body(null, 200));
app.use("*", basicAuthIfSet(env("DFRP_ADMIN_USER"), env("DFRP_ADMIN_PASSWORD"), adminLog));
const routes = clusterRoutes(() => source);
app.route("/api/cluster", routes);
app.delete(
  "/api/clients/:id",
  (c) => routes.request(`/clients/${encodeURIComponent(c.req.param("id"))}`, { method: "DELETE" }),
);
app.get("/", (c) => c.html(CLUSTER_DASHBOARD_HTML));

/** The Hono app's fetch, for `deno serve` or a serverless Deno host. */
export default { fetch: app.fetch };
