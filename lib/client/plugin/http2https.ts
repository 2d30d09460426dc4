/**
 * `plugin.type = "http2https"`:  forwards
 * each HTTP request to `localAddr` over TLS (certificate not checked, as in frp),
 * with `hostHeaderRewrite`, `requestHeaders.set` and `X-Forwarded-For`.
 *
 * @example
 * ```toml
 * [[proxies]]
 * name = "web"
 * type = "http"
 * customDomains = ["test.example.com"]
 * plugin.type = "http2https"
 * plugin.localAddr = "127.0.0.1:443"
 * plugin.hostHeaderRewrite = "127.0.0.1"
 * plugin.requestHeaders.set.x-from-where = "frp"
 * ```
 *
 * @module
 */

import { BridgePlugin } from "./bridge_plugin.ts";
import { registerPlugin } from "./registry.ts";

registerPlugin(
  "http2https",
  (options, ctx) => new BridgePlugin(options, ctx, { from: "http", to: "https" }),
);
