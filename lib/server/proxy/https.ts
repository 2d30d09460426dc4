/**
 * `type = "https"`: TLS connections to `vhostHTTPSPort` whose SNI is one of
 * the proxy's `customDomains` (or `subdomain.subDomainHost`) reach the
 * client's `localIP:localPort`, still encrypted.
 *
 * @example
 * ```ts
 * import { serverProxyFactory } from "./registry.ts";
 * import "./https.ts";
 * const factory = serverProxyFactory("https");
 * ```
 *
 * @module
 */

import { registerServerProxy } from "./registry.ts";
import { VhostProxy } from "./vhost_proxy.ts";
import { HTTPS_VHOST } from "../vhost/https_vhost.ts";

registerServerProxy("https", (config, ctx) =>
  new VhostProxy(config, ctx, {
    type: "https",
    feature: HTTPS_VHOST,
    portKey: "vhostHTTPSPort",
  }));
