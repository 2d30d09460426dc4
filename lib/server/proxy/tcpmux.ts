/**
 * `type = "tcpmux"` (`multiplexer = "httpconnect"`): `CONNECT host:port`
 * requests on `tcpmuxHTTPConnectPort` whose host is one of the proxy's
 * `customDomains` (or `subdomain.subDomainHost`) reach the client's
 * `localIP:localPort`. `httpUser` / `httpPassword` demand Basic
 * `Proxy-Authorization`; `routeByHTTPUser` routes by its user name.
 *
 * @example
 * ```ts
 * import { serverProxyFactory } from "./registry.ts";
 * import "./tcpmux.ts";
 * const factory = serverProxyFactory("tcpmux");
 * ```
 *
 * @module
 */

import { quote } from "../../log.ts";
import { registerServerProxy } from "./registry.ts";
import { VhostProxy } from "./vhost_proxy.ts";
import { TCPMUX_VHOST } from "../vhost/tcpmux_vhost.ts";

registerServerProxy("tcpmux", (config, ctx) => {
  const multiplexer = config.multiplexer || "httpconnect";
  if (multiplexer !== "httpconnect") {
    return {
      start: () =>
        Promise.reject(new Error(`tcpmux multiplexer ${quote(multiplexer)} is not supported`)),
      close() {},
    };
  }
  return new VhostProxy(config, ctx, {
    type: "tcpmux",
    feature: TCPMUX_VHOST,
    portKey: "tcpmuxHTTPConnectPort",
  });
});
