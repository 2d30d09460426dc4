/**
 * Basic auth for an admin API that counts wrong passwords per client
 * address, like failed logins on the control port: after `maxFailures`
 * wrong credentials within a minute, that address gets 429 (with
 * `Retry-After`) for a minute after its last failure, whatever it sends.
 * Other addresses are not affected, so the owner can still log in from
 * elsewhere. A request without credentials (a browser's first try before
 * it prompts) is answered 401 and not counted.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { limitedBasicAuth } from "./limited_basic_auth.ts";
 * const app = new Hono();
 * app.use("*", limitedBasicAuth({ user: "admin", password: "secret", realm: "dfrpc", maxFailures: 5 }));
 * ```
 *
 * @module
 */

import type { Context, MiddlewareHandler } from "hono";
import { basicAuth } from "hono/basic-auth";
import { HTTPException } from "hono/http-exception";
import { FailedLogins } from "../server/auth/rate_limit.ts";
import type { Logger } from "../log.ts";

/** Options of {@linkcode limitedBasicAuth}. */
export interface LimitedBasicAuthOptions {
  user: string;
  password: string;
  realm: string;
  /** `webServer.maxFailedLogins`: wrong tries per minute per address; 0 = no limit. */
  maxFailures: number;
  log?: Logger;
  /** Answers a refusal (401 keeps `challenge`); plain text by default. */
  refuse?: (
    c: Context,
    status: 401 | 429,
    msg: string,
    headers: Record<string, string>,
  ) => Response;
}

/**
 * The middleware; see the module doc.
 *
 * @example
 * ```ts
 * import { limitedBasicAuth } from "./limited_basic_auth.ts";
 * const auth = limitedBasicAuth({ user: "u", password: "p", realm: "dfrps", maxFailures: 0 });
 * ```
 */
export function limitedBasicAuth(opts: LimitedBasicAuthOptions): MiddlewareHandler {
  const check = basicAuth({ username: opts.user, password: opts.password, realm: opts.realm });
  const failures = new FailedLogins(opts.maxFailures);
  const refuse = opts.refuse ??
    ((c, status, msg, headers) => c.text(`${msg}\n`, status, headers));
  return async (c, next) => {
    const addr = remoteHost(c);
    const wait = failures.blockedFor(addr);
    if (wait > 0) {
      const seconds = Math.ceil(wait / 1000);
      opts.log?.warn(`${c.req.method} ${c.req.path}: 429 too many failed logins (from ${addr})`);
      return refuse(c, 429, `too many failed logins from ${addr}, retry in ${seconds} s`, {
        "retry-after": String(seconds),
      });
    }
    try {
      await check(c, next);
    } catch (err) {
      if (!(err instanceof HTTPException) || err.status !== 401) throw err;
      const given = c.req.header("authorization") !== undefined;
      const msg = given ? "wrong credentials" : "no credentials";
      if (given) failures.record(addr);
      opts.log?.warn(`${c.req.method} ${c.req.path}: 401 ${msg} (from ${addr})`);
      // Keep the challenge so browsers prompt for a login.
      const challenge = err.getResponse().headers.get("www-authenticate") ?? "Basic";
      return refuse(c, 401, msg, { "www-authenticate": challenge });
    }
  };
}

/** The peer's IP as Deno.serve reports it (Hono passes the serve info as `env`). */
function remoteHost(c: Context): string {
  const info = c.env as { remoteAddr?: { hostname?: string } } | undefined;
  return info?.remoteAddr?.hostname ?? "unknown";
}
