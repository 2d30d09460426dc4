/**
 * `plugin.type = "https2http"`: terminates TLS with `crtPath`/`keyPath` and forwards
 * each HTTP request to `localAddr` over plain HTTP,
 * with `hostHeaderRewrite`, `requestHeaders.set` and `X-Forwarded-For`.
 *
 * @example
 * ```toml
 * [[proxies]]
 * name = "web"
 * type = "https"
 * customDomains = ["test.example.com"]
 * plugin.type = "https2http"
 * plugin.localAddr = "127.0.0.1:80"
 * plugin.crtPath = "./server.crt"
 * plugin.keyPath = "./server.key"
 * plugin.hostHeaderRewrite = "127.0.0.1"
 * plugin.requestHeaders.set.x-from-where = "frp"
 * ```
 *
 * @module
 */

import { BridgePlugin } from "./bridge_plugin.ts";
import { registerPlugin } from "./registry.ts";

registerPlugin(
  "https2http",
  (options, ctx) => new BridgePlugin(options, ctx, { from: "https", to: "http" }),
);
