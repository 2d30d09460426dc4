/**
 * The client's admin API as a Hono app (frpc's routes): `/healthz` without
 * auth; the web UI at `/` (`./ui.ts`; frpc's `/static/` redirects there),
 * `/api/status`, `/api/reload`, `/api/stop`, `/api/config`,
 * `/api/config/validate` (dfrp's: checks a config text without saving it) and
 * `/api/store/proxies[/:name]` behind basic auth when `webServer.user` or
 * `webServer.password` is set (wrong passwords counted per address, see
 * `../limited_basic_auth.ts`), and behind `../request_guard.ts`, which keeps
 * web pages out (foreign `Host`, cross-site state changes). Errors are
 * answered as text with the reason (frp does the same), and bodies are
 * checked before anything changes.
 *
 * @example
 * ```ts
 * import { clientAdminApp } from "./app.ts";
 * import type { ConfigManager } from "./config_manager.ts";
 * declare const manager: ConfigManager;
 * const app = clientAdminApp(manager, { user: "admin", password: "secret" });
 * Deno.serve({ port: 7400 }, app.fetch);
 * ```
 *
 * @module
 */

import { Hono } from "hono";
import { createMiddleware } from "hono/factory";
import { zValidator } from "@hono/zod-validator";
import { z } from "zod";
import { AdminError, type ConfigManager } from "./config_manager.ts";
import { proxyDefinitionSchema, toDefinition } from "./proxy_definition.ts";
import { log } from "../../log.ts";
import { limitedBasicAuth } from "../limited_basic_auth.ts";
import { requestGuard } from "../request_guard.ts";
import { CLIENT_UI_HTML } from "./ui.ts";

/** Basic auth credentials (both empty means no auth, as in frp) and the guard's keys. */
export interface AdminAuth {
  user: string;
  password: string;
  /** `webServer.addr`; loopback (the default) turns the `Host` check on. */
  addr?: string;
  /** `webServer.allowedHosts`. */
  allowedHosts?: readonly string[];
  /** `webServer.maxFailedLogins` (default 5). */
  maxFailedLogins?: number;
}

/** Turns a failed zod check into a 400 that says what is wrong. */
function reject(
  result: { success: boolean; error?: { issues: readonly z.core.$ZodIssue[] } },
  c: { text: (t: string, s: 400) => Response },
) {
  if (result.success || !result.error) return;
  const lines = result.error.issues.map((i) =>
    i.path.length > 0 ? `${i.path.join(".")}: ${i.message}` : i.message
  );
  return c.text(lines.join("\n"), 400);
}

const jsonBody = [
  createMiddleware(async (c, next) => {
    // Hono's json validator sees a non-JSON body as {}; say what is wrong instead.
    if (!/^application\/(.+\+)?json\b/i.test(c.req.header("content-type") ?? "")) {
      return c.text("the body must be JSON (Content-Type: application/json)", 400);
    }
    await next();
  }),
  zValidator("json", proxyDefinitionSchema, reject),
] as const;
const reloadQuery = zValidator(
  "query",
  z.object({ strictConfig: z.enum(["true", "false", "1", "0", ""]).optional() }),
  reject,
);

/** See the module doc. */
export function clientAdminApp(manager: ConfigManager, auth: AdminAuth): Hono {
  const app = new Hono();
  app.onError((err, c) => {
    if (err instanceof AdminError) return c.text(err.message, err.status);
    // Hono's own errors (bad JSON, failed auth) carry their response.
    const res = (err as { getResponse?: () => Response }).getResponse?.();
    if (res) return res;
    log.error(`admin API: ${c.req.method} ${c.req.path}: ${(err as Error).message}`);
    return c.text(`internal error: ${(err as Error).message}`, 500);
  });
  app.get("/healthz", (c) => c.body(null, 200));
  app.use(
    "*",
    requestGuard({
      addr: auth.addr ?? "127.0.0.1",
      allowedHosts: auth.allowedHosts ?? [],
      stateChangingGets: ["/api/reload"],
      refuse: (c, status, msg) => {
        log.warn(`admin API: ${c.req.method} ${c.req.path}: ${status} ${msg}`);
        return c.text(`${msg}\n`, status);
      },
    }),
  );

  // One instance for the page and the API, so failures count together.
  const login = auth.user !== "" || auth.password !== ""
    ? limitedBasicAuth({
      user: auth.user,
      password: auth.password,
      realm: "dfrpc",
      maxFailures: auth.maxFailedLogins ?? 5,
      log: log.with("admin API"),
    })
    : undefined;
  if (login) app.use("/", login);
  app.get("/", (c) => c.html(CLIENT_UI_HTML));
  // frpc serves its UI under /static/; old bookmarks land on the page.
  app.get("/static", (c) => c.redirect("/"));
  app.get("/static/*", (c) => c.redirect("/"));

  const api = new Hono();
  if (login) api.use(login);
  api.use("/store/*", async (_c, next) => {
    if (!manager.sources.store) throw new AdminError(404, "the store is disabled (set store.path)");
    await next();
  });
  api.get("/status", (c) => c.json(manager.status()));
  api.get("/reload", reloadQuery, async (c) => {
    const strict = ["true", "1"].includes(c.req.valid("query").strictConfig ?? "");
    return c.json(await manager.reload(strict));
  });
  api.post("/stop", (c) => {
    manager.stop();
    return c.body(null, 200);
  });
  api.get("/config", async (c) => c.text(await manager.readConfig()));
  api.post("/config/validate", async (c) => c.json(manager.validateConfig(await c.req.text())));
  api.put("/config", async (c) => {
    await manager.writeConfig(await c.req.text());
    return c.body(null, 200);
  });
  api.get("/store/proxies", (c) => c.json({ proxies: manager.listStore().map(toDefinition) }));
  api.post("/store/proxies", ...jsonBody, async (c) => {
    return c.json(toDefinition(await manager.createStore(c.req.valid("json"))));
  });
  api.get(
    "/store/proxies/:name",
    (c) => c.json(toDefinition(manager.getStore(c.req.param("name")))),
  );
  api.put("/store/proxies/:name", ...jsonBody, async (c) => {
    const raw = await manager.updateStore(c.req.param("name"), c.req.valid("json"));
    return c.json(toDefinition(raw));
  });
  api.delete("/store/proxies/:name", async (c) => {
    await manager.deleteStore(c.req.param("name"));
    return c.body(null, 200);
  });
  app.route("/api", api);
  return app;
}
