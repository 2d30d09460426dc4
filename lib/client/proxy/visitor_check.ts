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
