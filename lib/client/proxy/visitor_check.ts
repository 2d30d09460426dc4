/**
 * The owner's half of a visitor's admission (stcp, sudp, xtcp): is the
 * visitor's user allowed, and does its proof show it knows `secretKey`?
 *
 * @example
 * ```ts
 * import { checkVisitor } from "./visitor_check.ts";
 * import type { ProxyConfig } from "../../config/mod.ts";
 * import type { StartWorkConn } from "../../protocol/messages.ts";
 * declare const config: ProxyConfig, start: StartWorkConn;
 * const refusal = await checkVisitor(config, "alice", start); // "" when admitted
 * ```
 *
 * @module
 */

import type { ProxyConfig } from "../../config/mod.ts";
import type { Duplex } from "../../net/duplex.ts";
import { writeMessage } from "../../protocol/codec.ts";
import { PluginProxy } from "./plugin_proxy.ts";
import type { ClientProxy, ClientProxyContext } from "./proxy.ts";
import { LocalServiceProxy } from "./tcp.ts";
import type { StartWorkConn } from "../../protocol/messages.ts";
import { verifyVisitor, visitorAllowed } from "../../protocol/visitor_proof.ts";

/** Why the visitor behind `start` is refused, or "" when it is admitted. */
export async function checkVisitor(
  config: ProxyConfig,
  owner: string,
  start: StartWorkConn,
): Promise<string> {
  const user = typeof start.visitorUser === "string" ? start.visitorUser : "";
  if (!visitorAllowed(config.allowUsers, owner, user)) return `user [${user}] is not allowed`;
  const ok = typeof start.visitorNonce === "string" && start.visitorNonce.length > 0 &&
    await verifyVisitor(config.secretKey ?? "", {
      nonce: start.visitorNonce,
      visitorUser: user,
      serverUser: owner,
      proxyName: config.name,
    }, start.visitorProof);
  return ok ? "" : "wrong secret key";
}

/**
 * Checks the visitor behind `start` ({@linkcode checkVisitor}) and sends it
 * the verdict on `conn` (`NewVisitorConnResp`). Resolves to the refusal, ""
 * when admitted, or null when the verdict could not be sent (`conn` is then
 * closed).
 *
 * @example
 * ```ts
 * import { answerVisitor } from "./visitor_check.ts";
 * import type { ProxyConfig } from "../../config/mod.ts";
 * import type { Duplex } from "../../net/duplex.ts";
 * import type { StartWorkConn } from "../../protocol/messages.ts";
 * declare const config: ProxyConfig, conn: Duplex, start: StartWorkConn;
 * const refusal = await answerVisitor(config, "alice", conn, start);
 * if (refusal === "") console.log("admitted");
 * ```
 */
export async function answerVisitor(
  config: ProxyConfig,
  user: string,
  conn: Duplex,
  start: StartWorkConn,
): Promise<string | null> {
  const error = await checkVisitor(config, user, start);
  try {
    await writeMessage(conn, { type: "NewVisitorConnResp", error });
  } catch {
    conn.close();
    return null;
  }
  return error;
}

/**
 * Proxy types that visitors reach. Their own proxy checks each visitor
 * (`secretKey` proof, `allowUsers`) and only then hands the connection to
 * the local service or to the proxy's plugin, so a plugin on one of these
 * types is never reached by an unchecked visitor.
 *
 * @example
 * ```ts
 * import { VISITED_TYPES } from "./visitor_check.ts";
 * VISITED_TYPES.has("stcp"); // true
 * ```
 */
export const VISITED_TYPES: ReadonlySet<string> = new Set(["stcp", "sudp", "xtcp"]);

/**
 * What serves an admitted visitor's stream: the proxy's plugin when it has
 * one, else its local service.
 *
 * @example
 * ```ts
 * import { admittedService } from "./visitor_check.ts";
 * import type { ProxyConfig } from "../../config/mod.ts";
 * import type { ClientProxyContext } from "./proxy.ts";
 * declare const config: ProxyConfig, ctx: ClientProxyContext;
 * const service = admittedService(config, ctx);
 * ```
 */
export function admittedService(config: ProxyConfig, ctx: ClientProxyContext): ClientProxy {
  return config.plugin?.type ? new PluginProxy(config, ctx) : new LocalServiceProxy(config, ctx);
}
