/**
 * `type = "http"`: named virtual hosts on the server's `vhostHTTPPort`. Each
 * of the proxy's domains (`customDomains`, and `subdomain` under the
 * server's `subDomainHost`) times each of its `locations` becomes a route in
 * the shared HTTP vhost; requests on a route reach the client's
 * `localIP:localPort` over work connections.
 *
 * @example
 * ```ts
 * import { serverProxyFactory } from "./registry.ts";
 * import "./http.ts";
 * const factory = serverProxyFactory("http");
 * ```
 *
 * @module
 */

import type { NewProxy } from "../../protocol/messages.ts";
import type { Header } from "../vhost/http_parser.ts";
import type { HttpRoute } from "../vhost/http_conn.ts";
import { HTTP_VHOST, HttpVhost } from "../vhost/http_vhost.ts";
import type { RouteKey } from "../vhost/router.ts";
import type { ProxyContext, ServerProxy } from "./proxy.ts";
import { registerServerProxy } from "./registry.ts";
import { placeVhostRoutes } from "./vhost_placement.ts";
import { featureOf } from "../feature.ts";

function headerSet(ops: { set: Record<string, string> }): Header[] {
  return Object.entries(ops.set);
}

/**
 * The host names an http proxy serves, or throws a user-facing Error.
 *
 * @example
 * ```ts
 * import { httpDomains } from "./http.ts";
 * httpDomains({ subdomain: "a", customDomains: ["x.com"] }, "frps.com"); // ["x.com", "a.frps.com"]
 * ```
 */
export function httpDomains(
  config: Pick<NewProxy, "customDomains" | "subdomain">,
  subDomainHost: string,
): string[] {
  const domains = config.customDomains.map((d) => d.trim().toLowerCase()).filter((d) => d !== "");
  const subdomain = config.subdomain.trim().toLowerCase();
  if (subdomain) {
    if (!subDomainHost) {
      throw new Error(`subdomain is not supported because subDomainHost is not set on the server`);
    }
    if (subdomain.includes(".")) throw new Error(`subdomain [${subdomain}] must not contain "."`);
    if (subdomain === "*") throw new Error(`subdomain must not be "*"`);
    domains.push(`${subdomain}.${subDomainHost.toLowerCase()}`);
  }
  if (domains.length === 0) throw new Error(`http proxy needs customDomains or subdomain`);
  return domains;
}

class HttpProxy implements ServerProxy {
  #vhost?: HttpVhost;
  #keys: RouteKey[] = [];
  #route: HttpRoute;
  #claim?: { release(): void };

  constructor(readonly config: NewProxy, readonly ctx: ProxyContext) {
    this.#route = {
      ctx,
      httpUser: config.httpUser,
      httpPassword: config.httpPassword,
      hostHeaderRewrite: config.hostHeaderRewrite,
      requestHeaders: headerSet(config.requestHeaders),
      responseHeaders: headerSet(config.responseHeaders),
      conns: new Set(),
    };
  }

  async start(): Promise<string> {
    const { ctx, config } = this;
    const vhost = featureOf(ctx.services.features, HTTP_VHOST);
    if (!(vhost instanceof HttpVhost)) {
      throw new Error(`type [http] is not supported: vhostHTTPPort is not set on the server`);
    }
    this.#vhost = vhost;
    const domains = httpDomains(config, ctx.serverConfig.subDomainHost);
    const locations = config.locations.length > 0 ? config.locations : [""];
    const lb = config.loadBalancer;
    const httpUser = config.routeByHTTPUser;
    // Cluster mode: the routes (or the group's share of them) are claimed cluster-wide.
    const keys = domains.flatMap((d) => locations.map((l) => `http:${d}:${l}:${httpUser}`));
    const placed = await placeVhostRoutes(ctx, "http", keys, config);
    this.#claim = placed;
    const addrs: string[] = [];
    for (const domain of domains) {
      for (const location of locations) {
        const key = { domain, location, httpUser };
        vhost.router.add(key, {
          name: ctx.name,
          group: lb.group,
          groupKey: placed.routerGroupKey,
          user: ctx.user,
          value: this.#route,
        });
        this.#keys.push(key);
        ctx.log.info(
          `http proxy listen for host [${domain}] location [${location}] group [${lb.group}], ` +
            `routeByHTTPUser [${httpUser}]`,
        );
      }
      addrs.push(vhost.port === 80 ? domain : `${domain}:${vhost.port}`);
    }
    return addrs.join(",");
  }

  close(): void {
    this.#claim?.release();
    this.#claim = undefined;
    for (const key of this.#keys) this.#vhost?.router.remove(key, this.ctx.name, this.#route);
    this.#keys = [];
    for (const conn of this.#route.conns) conn.close();
    this.#route.conns.clear();
  }
}

registerServerProxy("http", (config, ctx) => new HttpProxy(config, ctx));
