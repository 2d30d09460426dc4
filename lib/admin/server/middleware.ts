/**
 * The admin server's Hono middlewares, each small and on its own: JSON
 * errors (`{ code, msg }`, logged), basic auth when `webServer.user` or
 * `.password` is set, and validation that answers 400 with zod's reason.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { z } from "zod";
 * import { basicAuthIfSet, installJsonErrors, validate } from "./middleware.ts";
 * import { log } from "../../log.ts";
 * const app = new Hono();
 * installJsonErrors(app, log);
 * app.use("*", basicAuthIfSet("admin", "secret", log));
 * app.get("/x/:n", validate("param", z.object({ n: z.string() })), (c) => c.text("ok"));
 * ```
 *
 * @module
 */

import type { Context, Hono, MiddlewareHandler, ValidationTargets } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { zValidator } from "@hono/zod-validator";
import type { z } from "zod";
import type { Logger } from "../../log.ts";
import { limitedBasicAuth } from "../limited_basic_auth.ts";

/**
 * Answers `{ code, msg }` with `status`, and logs the reason: a refused
 * admin request is worth a line in the server's log.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { fail } from "./middleware.ts";
 * import { log } from "../../log.ts";
 * new Hono().get("/gone", (c) => fail(c, 404, "no such thing", log));
 * ```
 */
export function fail(c: Context, status: ContentfulStatusCode, msg: string, log: Logger): Response {
  log.warn(`${c.req.method} ${c.req.path}: ${status} ${msg}`);
  return c.json({ code: status, msg }, status);
}

/**
 * Makes unknown paths and thrown errors answer JSON, logged.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { installJsonErrors } from "./middleware.ts";
 * import { log } from "../../log.ts";
 * installJsonErrors(new Hono(), log);
 * ```
 */
export function installJsonErrors(app: Hono, log: Logger): void {
  app.notFound((c) => fail(c, 404, "not found", log));
  app.onError((err, c) => {
    // basicAuth throws its own 401 with the WWW-Authenticate challenge: keep it.
    if (err instanceof HTTPException) {
      log.warn(`${c.req.method} ${c.req.path}: ${err.status} ${err.message}`);
      return err.getResponse();
    }
    log.error(`${c.req.method} ${c.req.path}: ${err.stack ?? err.message}`);
    return c.json({ code: 500, msg: "internal error" }, 500);
  });
}

/**
 * Basic auth on every request when `user` or `password` is non-empty (as
 * frp: either one turns it on); a pass-through otherwise. Wrong passwords
 * are counted per address: after `maxFailures` in a minute, 429 for a
 * minute (`../limited_basic_auth.ts`).
 *
 * @example
 * ```ts
 * import { basicAuthIfSet } from "./middleware.ts";
 * import { log } from "../../log.ts";
 * const auth = basicAuthIfSet("", "", log); // lets everything through
 * ```
 */
export function basicAuthIfSet(
  user: string,
  password: string,
  log: Logger,
  maxFailures = 5,
): MiddlewareHandler {
  if (!user && !password) return (_c, next) => next();
  return limitedBasicAuth({
    user,
    password,
    realm: "dfrps",
    maxFailures,
    log,
    refuse: (c, status, msg, headers) => c.json({ code: status, msg }, status, headers),
  });
}

/**
 * A zod validator for one part of the request that answers 400 with the
 * first issue, e.g. `query.status: Invalid option: expected "offline"`.
 *
 * @example
 * ```ts
 * import { z } from "zod";
 * import { validate } from "./middleware.ts";
 * const byId = validate("param", z.object({ id: z.string().regex(/^[0-9a-f]{16}$/) }));
 * ```
 */
export function validate<T extends z.ZodType, Target extends keyof ValidationTargets>(
  target: Target,
  schema: T,
  log?: Logger,
) {
  return zValidator(target, schema, (result, c) => {
    if (result.success) return;
    const issue = result.error.issues[0];
    const where = [target, ...(issue?.path ?? [])].join(".");
    const msg = `${where}: ${issue?.message ?? "invalid"}`;
    if (log) return fail(c, 400, msg, log);
    return c.json({ code: 400, msg }, 400);
  });
}
