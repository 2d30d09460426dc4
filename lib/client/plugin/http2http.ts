/**
 * `plugin.type = "http2http"`:  forwards
 * each HTTP request to `localAddr` over plain HTTP,
 * with `hostHeaderRewrite`, `requestHeaders.set` and `X-Forwarded-For`.
 *
 * @example
 * ```toml
 * [[proxies]]
 * name = "web"
 * type = "http"
 * customDomains = ["test.example.com"]
 * plugin.type = "http2http"
 * plugin.localAddr = "127.0.0.1:80"
 * plugin.hostHeaderRewrite = "127.0.0.1"
 * plugin.requestHeaders.set.x-from-where = "frp"
 * ```
 *
 * @module
 */

import { BridgePlugin } from "./bridge_plugin.ts";
import { registerPlugin } from "./registry.ts";

registerPlugin(
  "http2http",
  (options, ctx) => new BridgePlugin(options, ctx, { from: "http", to: "http" }),
);
