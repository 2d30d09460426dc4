/**
 * How an http, https or tcpmux proxy claims its route keys in cluster mode
 * (docs/cluster.md): a plain proxy claims them for itself; a member of a
 * `loadBalancer.group` joins the group cluster-wide. Every node then
 * rebuilds the proxy from the config published here, whose `groupKey` is
 * replaced by its digest, so each node's vhost router sees one key for the
 * whole group. Without a placement (one server) nothing is claimed.
 *
 * @example
 * ```ts
 * import { placeVhostRoutes } from "./vhost_placement.ts";
 * import type { ConnEnds, ProxyContext } from "./proxy.ts";
 * import type { NewProxy } from "../../protocol/messages.ts";
 * declare const ctx: ProxyContext;
 * declare const config: NewProxy;
 * const placed = await placeVhostRoutes(ctx, "http", ["http:a.example.com::"], config);
 * console.log(placed.routerGroupKey);
 * placed.release();
 * ```
 *
 * @module
 */

import type { NewProxy } from "../../protocol/messages.ts";
import { groupKeyDigest } from "../group/group_key.ts";
import type { ConnEnds, ProxyContext } from "./proxy.ts";

/** What a placed proxy keeps: the claim to release and the `groupKey` its router entries carry. */
export interface PlacedVhostRoutes {
  /** `loadBalancer.groupKey` as the local router must see it (its digest in cluster mode). */
  readonly routerGroupKey: string;
  release(): void;
}

/**
 * Claims (or, for a group member, joins) route `keys` of proxy type `type`
 * cluster-wide when the server is a cluster node; otherwise claims nothing.
 * Throws the user-facing Error the placement gives.
 *
 * @example
 * ```ts
 * import { placeVhostRoutes } from "./vhost_placement.ts";
 * import type { ConnEnds, ProxyContext } from "./proxy.ts";
 * import type { NewProxy } from "../../protocol/messages.ts";
 * declare const ctx: ProxyContext;
 * declare const config: NewProxy;
 * await placeVhostRoutes(ctx, "tcpmux", ["tcpmux:a.example.com::"], config);
 * ```
 */
export async function placeVhostRoutes(
  ctx: ProxyContext,
  type: string,
  keys: string[],
  config: NewProxy,
): Promise<PlacedVhostRoutes> {
  const lb = config.loadBalancer;
  const placement = ctx.services.placement;
  if (!placement) return { routerGroupKey: lb.groupKey, release() {} };
  const owner = { proxyName: ctx.name, clientId: ctx.clientId, user: String(ctx.user ?? "") };
  const openWorkConn = (ends: ConnEnds) => ctx.openWorkConn(ends);
  if (!lb.group) {
    const claim = await placement.claimRoutes(owner, keys, { type, config }, openWorkConn);
    return { routerGroupKey: lb.groupKey, release: () => claim.release() };
  }
  const digest = await groupKeyDigest(lb.groupKey);
  const published = { ...config, loadBalancer: { ...lb, groupKey: digest } };
  const claim = await placement.joinRouteGroup(
    owner,
    lb.group,
    digest,
    keys,
    { type, config: published },
    openWorkConn,
  );
  return { routerGroupKey: digest, release: () => claim.release() };
}
