/**
 * The small server-plugin hooks outside login and proxy admission: `Ping`
 * (a rejection goes back in the `Pong`), `CloseProxy` (notified only) and
 * `NewUserConn` (a rejection closes the user's connection). Each costs
 * nothing when no plugin subscribed to its operation.
 *
 * @example
 * ```ts
 * import { pongFor } from "./ops.ts";
 * import type { ServerServices } from "../services.ts";
 * import type { Login } from "../../protocol/messages.ts";
 * declare const services: ServerServices, login: Login;
 * const pong = await pongFor(services, login, "0123456789abcdef"); // { type: "Pong" }
 * ```
 *
 * @module
 */

import type { ServerConfig } from "../../config/mod.ts";
import type { Logger } from "../../log.ts";
import type { Login } from "../../protocol/messages.ts";
import { httpPluginsOf, PluginRejected } from "./http_plugins.ts";

type Services = { readonly config: ServerConfig; readonly log: Logger };

function userInfo(login: Pick<Login, "user" | "metas">, runId: string) {
  return {
    user: login.user,
    metas: login.metas ?? {},
    run_id: runId,
  };
}

/** The answer to a client's `Ping`, with the `Ping` plugins' rejection if any. */
export async function pongFor(
  services: Services,
  login: Login,
  runId: string,
): Promise<{ type: "Pong"; error?: string }> {
  const plugins = httpPluginsOf(services);
  if (!plugins.has("Ping")) return { type: "Pong" };
  try {
    await plugins.run("Ping", {
      user: userInfo(login, runId),
      timestamp: Math.floor(Date.now() / 1000),
    });
    return { type: "Pong" };
  } catch (err) {
    if (err instanceof PluginRejected) return { type: "Pong", error: err.message };
    throw err;
  }
}

/**
 * Tells the `CloseProxy` plugins that a proxy went away; never rejects.
 *
 * @example
 * ```ts
 * import { notifyCloseProxy } from "./ops.ts";
 * import type { ServerServices } from "../services.ts";
 * import type { Login } from "../../protocol/messages.ts";
 * declare const services: ServerServices, login: Login;
 * notifyCloseProxy(services, login, "0123456789abcdef", "ssh");
 * ```
 */
export function notifyCloseProxy(
  services: Services,
  login: Login,
  runId: string,
  proxyName: string,
): void {
  const plugins = httpPluginsOf(services);
  if (!plugins.has("CloseProxy")) return;
  plugins.notify("CloseProxy", { user: userInfo(login, runId), proxy_name: proxyName });
}

/**
 * "" when the `NewUserConn` plugins let a user connection through, else the
 * reason. `remoteAddr` is the user's `host:port`.
 *
 * @example
 * ```ts
 * import { checkUserConn } from "./ops.ts";
 * import type { ServerServices } from "../services.ts";
 * declare const services: ServerServices;
 * const denied = await checkUserConn(services, "alice", "run", "web", "tcp", "1.2.3.4:5555");
 * ```
 */
export async function checkUserConn(
  services: Services,
  user: string,
  runId: string,
  proxyName: string,
  proxyType: string,
  remoteAddr: string,
  metas: Record<string, string> = {},
): Promise<string> {
  const plugins = httpPluginsOf(services);
  if (!plugins.has("NewUserConn")) return "";
  try {
    await plugins.run("NewUserConn", {
      user: { user, metas, run_id: runId },
      proxy_name: proxyName,
      proxy_type: proxyType,
      remote_addr: remoteAddr,
    });
    return "";
  } catch (err) {
    if (err instanceof PluginRejected) return err.message;
    throw err;
  }
}
