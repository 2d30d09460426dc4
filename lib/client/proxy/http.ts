/**
 * `type = "http"` on the client: the server does the HTTP work (routing,
 * auth, header rewriting), so each work connection is relayed to
 * `localIP:localPort` as the tcp type does.
 *
 * @example
 * ```ts
 * import { clientProxyFactory } from "./registry.ts";
 * import "./http.ts";
 * const factory = clientProxyFactory("http");
 * ```
 *
 * @module
 */

import { registerClientProxy } from "./registry.ts";
import { LocalServiceProxy } from "./tcp.ts";

registerClientProxy("http", (config, ctx) => new LocalServiceProxy(config, ctx));
