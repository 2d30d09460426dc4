/**
 * The server side shared by the proxy types that have no port of their own
 * but claim host names on a server-wide listener (`https` on
 * `vhostHTTPSPort`, `tcpmux` on `tcpmuxHTTPConnectPort`): it adds its
 * domains to that listener's {@linkcode VhostRouter}, takes the connections
 * routed to it, and removes its routes when closed.
 *
 * @example
 * ```ts
 * import { VhostProxy } from "./vhost_proxy.ts";
 * import type { ProxyContext } from "./proxy.ts";
 * import type { NewProxy } from "../../protocol/messages.ts";
 * declare const ctx: ProxyContext;
 * declare const msg: NewProxy; // customDomains = ["a.example.com"]
 * const proxy = new VhostProxy(msg, ctx, {
 *   type: "https",
 *   feature: "vhostHTTPS",
 *   portKey: "vhostHTTPSPort",
 * });
 * await proxy.start(); // "a.example.com:443"
 * ```
 *
 * @module
 */

import type { Duplex } from "../../net/duplex.ts";
import type { RouteKey, VhostRouter } from "../vhost/router.ts";
import type { ServerConfig } from "../../config/mod.ts";
import type { NewProxy } from "../../protocol/messages.ts";
import type { ConnEnds, ProxyContext, ServerProxy } from "./proxy.ts";
import { serveUserConn } from "./user_conn.ts";
import { placeVhostRoutes } from "./vhost_placement.ts";
import { type FeatureKey, featureOf, type ServerFeature } from "../feature.ts";

/** What a vhost listener routes a connection to. */
export interface VhostTarget {
  /** The proxy name, for logs. */
  readonly name: string;
  /** `httpUser` / `httpPassword` the proxy demands ("" = none). */
  readonly httpUser: string;
  readonly httpPassword: string;
  /**
   * Takes over `conn` (already replaying any bytes the listener read);
   * resolves when the connection has ended.
   */
  serve(conn: Duplex, ends: ConnEnds): Promise<void>;
}

/** What a vhost feature offers its proxies. */
export interface VhostFeature {
  readonly router: VhostRouter<VhostTarget>;
  /** The public port, for the addresses reported to the client. */
  readonly port: number;
}

/** Which listener a type uses. */
export interface VhostProxyOptions {
  /** The proxy type, for messages. */
  type: string;
  /** The feature's name in `ServerServices.features`. */
  feature: FeatureKey<VhostFeature & ServerFeature>;
  /** The server key that enables the feature, for messages. */
  portKey: keyof ServerConfig;
}

/**
 * The host names a proxy claims: its `customDomains`, and `subdomain` under
 * the server's `subDomainHost`. Throws a user-facing Error for names the
 * server refuses.
 *
 * @example
 * ```ts
 * import { proxyDomains } from "./vhost_proxy.ts";
 * proxyDomains({ customDomains: [], subdomain: "a" }, "example.com"); // ["a.example.com"]
 * ```
 */
export function proxyDomains(
  config: Pick<NewProxy, "customDomains" | "subdomain">,
  subDomainHost: string,
): string[] {
  const domains: string[] = [];
  const host = subDomainHost.toLowerCase();
  for (const d of config.customDomains) {
    if (d.trim() === "") continue;
    const domain = d.trim().toLowerCase();
    // Would let one client take another's subdomain by spelling it out.
    if (host && (domain === host || domain.endsWith(`.${host}`))) {
      throw new Error(`custom domain [${domain}] should not belong to subdomain host [${host}]`);
    }
    domains.push(domain);
  }
  const sub = config.subdomain.trim().toLowerCase();
  if (sub) {
    if (!host) {
      throw new Error("subdomain is not supported because this feature is not enabled in server");
    }
    if (sub.includes(".") || sub.includes("*")) {
      throw new Error("'.' and '*' are not supported in subdomain");
    }
    domains.push(`${sub}.${host}`);
  }
  if (domains.length === 0) throw new Error("customDomains and subdomain should set at least one");
  return domains;
}

/** See the module doc. */
export class VhostProxy implements ServerProxy, VhostTarget {
  readonly name: string;
  readonly httpUser: string;
  readonly httpPassword: string;
  #routes: RouteKey[] = [];
  #router?: VhostRouter<VhostTarget>;
  #conns = new Set<Duplex>();
  #closed = false;
  #claim?: { release(): void };

  /**
   * @param config the client's proxy config
   * @param ctx the server's services for this proxy
   * @param opts which listener to join
   */
  constructor(
    readonly config: NewProxy,
    readonly ctx: ProxyContext,
    readonly opts: VhostProxyOptions,
  ) {
    this.name = ctx.name;
    this.httpUser = config.httpUser;
    this.httpPassword = config.httpPassword;
  }

  /** Claims the proxy's domains; resolves to "domain:port,..." as frp reports it. */
  async start(): Promise<string> {
    const { ctx, opts } = this;
    const feature = featureOf(ctx.services.features, opts.feature);
    if (!feature) {
      throw new Error(
        `type [${opts.type}] is not supported: ${String(opts.portKey)} is not set on the server`,
      );
    }
    const domains = proxyDomains(this.config, ctx.serverConfig.subDomainHost);
    const lb = this.config.loadBalancer;
    const httpUser = this.config.routeByHTTPUser;
    // Cluster mode: the domains (or the group's share of them) are claimed cluster-wide.
    const keys = domains.map((d) => `${opts.type}:${d}::${httpUser}`);
    const placed = await placeVhostRoutes(ctx, opts.type, keys, this.config);
    this.#claim = placed;
    this.#router = feature.router;
    for (const domain of domains) {
      const key: RouteKey = { domain, location: "", httpUser };
      feature.router.add(key, {
        name: this.name,
        group: lb.group,
        groupKey: placed.routerGroupKey,
        user: this.ctx.user,
        value: this,
      });
      this.#routes.push(key);
    }
    return domains.map((d) => `${d}:${feature.port}`).join(",");
  }

  /** Relays `conn` to the client through a work connection. */
  serve(conn: Duplex, ends: ConnEnds): Promise<void> {
    if (this.#closed) {
      conn.close();
      return Promise.resolve();
    }
    this.#conns.add(conn);
    return serveUserConn(this.ctx, conn, ends, this.config).finally(() => this.#conns.delete(conn));
  }

  /** Withdraws the routes and closes the proxy's connections. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#claim?.release();
    for (const key of this.#routes) this.#router?.remove(key, this.name, this);
    this.#routes = [];
    for (const conn of this.#conns) conn.close();
    this.#conns.clear();
  }
}
