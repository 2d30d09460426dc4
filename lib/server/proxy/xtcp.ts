/**
 * `type = "xtcp"` on the server: like stcp, a secret proxy with no port of
 * its own ({@linkcode SecretProxy}). It enters the table visitors are matched
 * against; the visitor connection it then relays carries only the short
 * rendezvous (`NatHoleVisitor` / `NatHoleResp`) before the peers punch
 * through their NATs and talk directly. The server's other part in it is the
 * STUN responder (`../nathole/stun_responder.ts`). In cluster mode its name
 * is claimed cluster-wide like stcp's, so the rendezvous of a visitor on any
 * node reaches the owner's client over the node-to-node link.
 *
 * @example
 * ```ts
 * import { serverProxyFactory } from "./registry.ts";
 * import "./xtcp.ts";
 * const factory = serverProxyFactory("xtcp");
 * ```
 *
 * @module
 */

import { registerServerProxy } from "./registry.ts";
import { SecretProxy } from "./stcp.ts";

registerServerProxy("xtcp", (config, ctx) => new SecretProxy("xtcp", config, ctx));
