/**
 * `type = "https"` on the client: the server did the routing, so each work
 * connection is relayed to `localIP:localPort` like a tcp proxy's.
 *
 * @example
 * ```ts
 * import { clientProxyFactory } from "./registry.ts";
 * import "./https.ts";
 * const factory = clientProxyFactory("https");
 * ```
 *
 * @module
 */

import { registerClientProxy } from "./registry.ts";
import { LocalServiceProxy } from "./tcp.ts";

registerClientProxy("https", (config, ctx) => new LocalServiceProxy(config, ctx));
