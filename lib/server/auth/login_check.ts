/**
 * Everything the server decides about a `Login` before accepting it, in
 * order: the address is not cooling down after failed logins; the user may
 * log in and its proof was made with its token (the `[[auth.users]]` entry's,
 * else `auth.token`); the `Login` server plugins agree (and may change the
 * user and metas). Failed proofs count against the address.
 *
 * @example
 * ```ts
 * import { checkLogin } from "./login_check.ts";
 * import type { ServerServices } from "../session.ts";
 * import type { Login } from "../../protocol/messages.ts";
 * declare const services: ServerServices;
 * declare const login: Login;
 * const { error, token } = await checkLogin(services, login, "nonce", "1.2.3.4:5555");
 * ```
 *
 * @module
 */

import type { ServerConfig } from "../../config/mod.ts";
import type { Logger } from "../../log.ts";
import { verifyProof } from "../../protocol/auth.ts";
import type { Login, NewWorkConn } from "../../protocol/messages.ts";
import { httpPluginsOf, PluginRejected } from "../plugin/http_plugins.ts";
import { FailedLogins, hostOf } from "./rate_limit.ts";
import { loginToken, sessionToken } from "./users.ts";

/** The outcome: `error` is "" when the login may proceed with `token`. */
export interface LoginVerdict {
  error: string;
  token: string;
}

const guards = new WeakMap<object, FailedLogins>();

function guardOf(config: ServerConfig): FailedLogins {
  let guard = guards.get(config);
  if (!guard) guards.set(config, guard = new FailedLogins(config.auth.maxFailedLogins ?? 5));
  return guard;
}

/** See the module doc. Mutates `login.user` / `login.metas` when a plugin changed them. */
export async function checkLogin(
  services: { readonly config: ServerConfig; readonly log: Logger },
  login: Login,
  nonce: string,
  remoteAddr: string,
): Promise<LoginVerdict> {
  const { config } = services;
  const guard = guardOf(config);
  const host = hostOf(remoteAddr);
  const wait = guard.blockedFor(host);
  if (wait > 0) {
    return {
      error: `too many failed logins from ${host}; try again in ${Math.ceil(wait / 1000)} s`,
      token: "",
    };
  }
  const { user, clientNonce } = login;
  const fail = (error: string): LoginVerdict => {
    if (guard.record(host)) error += ` (too many failed logins from ${host}: cooling down)`;
    return { error, token: "" };
  };
  const token = loginToken(config, user);
  if (token === null) return fail(`authorization failed: unknown user [${user}]`);
  const context = ["login", nonce, clientNonce, user, String(login.tcpMux)];
  if (!await verifyProof(token, context, login.proof)) {
    return fail("authorization failed: token mismatch");
  }
  const plugins = httpPluginsOf(services);
  if (plugins.has("Login")) {
    try {
      const content = await plugins.run("Login", {
        version: login.software,
        hostname: login.hostname,
        os: login.os,
        arch: login.arch,
        user,
        timestamp: Math.floor(Date.now() / 1000),
        run_id: login.runId,
        metas: login.metas ?? {},
        pool_count: login.poolCount,
        client_address: remoteAddr,
      });
      if (typeof content.user === "string" && content.user !== user) {
        // Later proofs and encryption keys follow the user's token, so it must not change.
        if (loginToken(config, content.user) !== token) {
          return {
            error:
              `a Login plugin renamed user [${user}] to [${content.user}], whose token differs`,
            token: "",
          };
        }
        login.user = content.user;
      }
      if (content.metas && typeof content.metas === "object") login.metas = content.metas;
    } catch (err) {
      if (err instanceof PluginRejected) return { error: err.message, token: "" };
      throw err;
    }
  }
  return { error: "", token };
}

/**
 * Checks a pooled work connection (tcpMux off) of a logged-in client: its
 * proof uses the token the client logged in with, and the `NewWorkConn`
 * plugins agree. Resolves to "" or the reason to drop it.
 *
 * @example
 * ```ts
 * import { checkWorkConn } from "./login_check.ts";
 * import type { ServerServices } from "../session.ts";
 * import type { Login, NewWorkConn } from "../../protocol/messages.ts";
 * declare const services: ServerServices, login: Login, msg: NewWorkConn;
 * const denied = await checkWorkConn(services, login, msg, "nonce");
 * ```
 */
export async function checkWorkConn(
  services: { readonly config: ServerConfig; readonly log: Logger },
  login: Login,
  msg: NewWorkConn,
  nonce: string,
): Promise<string> {
  const user = login.user;
  const token = sessionToken(services, { login });
  if (!await verifyProof(token, ["work", nonce, msg.runId], msg.proof)) {
    return "work connection authorization failed";
  }
  const plugins = httpPluginsOf(services);
  if (!plugins.has("NewWorkConn")) return "";
  try {
    await plugins.run("NewWorkConn", {
      user: { user, metas: login.metas ?? {}, run_id: msg.runId },
      run_id: msg.runId,
      timestamp: Math.floor(Date.now() / 1000),
    });
    return "";
  } catch (err) {
    if (err instanceof PluginRejected) return `work connection rejected: ${err.message}`;
    throw err;
  }
}
