/**
 * `type = "tcpmux"` on the client: the server did the routing, so each work
 * connection is relayed to `localIP:localPort` like a tcp proxy's.
 *
 * @example
 * ```ts
 * import { clientProxyFactory } from "./registry.ts";
 * import "./tcpmux.ts";
 * const factory = clientProxyFactory("tcpmux");
 * ```
 *
 * @module
 */

import { registerClientProxy } from "./registry.ts";
import { LocalServiceProxy } from "./tcp.ts";

registerClientProxy("tcpmux", (config, ctx) => new LocalServiceProxy(config, ctx));
