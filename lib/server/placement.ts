/**
 * Where a proxy's public route lives when the server is one node of a
 * cluster (docs/cluster.md). A single server has no placement
 * (`ServerServices.placement` undefined) and binds its routes itself, as
 * always; a cluster node gets one from `lib/cluster/`, which claims the route
 * cluster-wide, serves it on every node and forwards to the owner.
 *
 * @example
 * ```ts
 * import type { Placement } from "./placement.ts";
 * declare const placement: Placement;
 * const route = await placement.claimTcp(
 *   { proxyName: "ssh", clientId: "0123456789abcdef", user: "" },
 *   6000,
 *   (user, _ends) => user.close(),
 * );
 * route.release();
 * ```
 *
 * @module
 */

import type { Duplex } from "../net/duplex.ts";
import type { ConnEnds } from "./proxy/proxy.ts";
import type { ServerServices } from "./services.ts";

/** Who holds a route. */
export interface RouteOwner {
  proxyName: string;
  /** The client's run id: the same client logging in on another node takes its routes over. */
  clientId: string;
  user: string;
}

/** A proxy's counters on its node (`ProxyStats`'s), published with its ledger entry. */
export interface ProxyUsage {
  /** Bytes from users towards the client, since its node began counting the proxy. */
  trafficIn: number;
  trafficOut: number;
  /** The same split by day, today first, as `/api/traffic/:name` answers (`traffic_history.ts`). */
  dailyIn: number[];
  dailyOut: number[];
  curConns: number;
  totalConns: number;
}

/** A proxy as its user's ledger lists it cluster-wide (`Placement.claimProxy`). */
export interface ProxyOwner extends RouteOwner {
  /** "tcp", "http", "xtcp"... */
  type: string;
}

/** Serves one user connection that reached the route on any node. */
export type RouteServer = (user: Duplex, ends: ConnEnds) => void;

/** A claimed route; `release` gives it back cluster-wide. */
export interface RouteHandle {
  /** The public port (the one picked when 0 was asked for). */
  readonly port: number;
  release(): void;
}

/** What the other nodes need to serve a proxy themselves: its type and its client's config. */
export interface MirroredProxy {
  type: string;
  config: Record<string, unknown>;
}

/** A cluster node: its name, where it is reached, since when it runs. */
export interface ClusterNodeInfo {
  name: string;
  /** Where other nodes reach its peer link (`advertiseAddr`). */
  peer: string;
  bindAddr: string;
  bindPort: number;
  proxyBindAddr: string;
  startedAt: string;
}

/** The cluster's nodes, clients and proxies, as plain data (the admin API's JSON). */
export interface ClusterView {
  nodes: (ClusterNodeInfo & {
    /** Lease left (ms): a healthy node renews it every 2 s; 0 = lapsing. */
    leaseMs: number;
  })[];
  clients: {
    runId: string;
    node: string;
    user: string;
    hostname: string;
    version: string;
    address: string;
    lastConnectedAt: string;
  }[];
  proxies: {
    name: string;
    type: string;
    node: string;
    clientId: string;
    user: string;
    /** "tcp:6000", "http:example.com:/:"... */
    route: string;
  }[];
  /**
   * Every running proxy of every type, one entry each, from its user's ledger,
   * with its counters on its node as of its last renewal (every 2 s).
   */
  running: (ProxyUsage & {
    name: string;
    type: string;
    node: string;
    clientId: string;
    user: string;
    /**
     * The part of these counters that other nodes counted serving the proxy
     * for their users (stcp/sudp/xtcp visitors, vhost requests, udp), absent
     * when none did; the rest is its own node's.
     */
    mirrored?: ProxyUsage;
  })[];
}

/** See the module doc. */
export interface Placement {
  /**
   * Claims tcp `port` (0 = any free one) cluster-wide for `owner`; every node
   * then listens on it and hands its connections to `serve` here. Throws a
   * user-facing Error when the port is taken or cannot be bound. For port 0,
   * `listenAny` binds a candidate (the user's `allowPorts`; default the
   * server's).
   */
  claimTcp(
    owner: RouteOwner,
    port: number,
    serve: RouteServer,
    listenAny?: () => Deno.TcpListener,
  ): Promise<RouteHandle>;
  /**
   * Joins tcp load-balancing group `group` (its `groupKey` must match) on
   * fixed `port` cluster-wide: every node listens on the port and spreads its
   * connections over the group's members on all nodes, this one handing its
   * share to `serve`.
   */
  joinTcpGroup(
    owner: RouteOwner,
    group: string,
    groupKey: string,
    port: number,
    serve: RouteServer,
  ): Promise<RouteHandle>;
  /**
   * Claims `keys` (e.g. `http:example.com:/:`, one per domain and location)
   * cluster-wide for a proxy that every other node rebuilds from
   * `proxy.type` and `proxy.config`, their work connections coming here
   * through `openWorkConn`. Throws a user-facing Error when a key is taken.
   */
  claimRoutes(
    owner: RouteOwner,
    keys: string[],
    proxy: MirroredProxy,
    openWorkConn: (ends: ConnEnds) => Promise<Duplex>,
  ): Promise<{ release(): void }>;
  /**
   * Joins vhost load-balancing group `group` on route `keys` (as for
   * {@linkcode claimRoutes}) cluster-wide: the first member makes each key
   * the group's, for its user and `groupKeyDigest` (see
   * `group/group_key.ts`); other members of the same user and digest join on
   * any node, and every node rebuilds each member from `proxy`, so its vhost
   * router takes turns over all of them. Throws "group [g] belongs to another
   * user", "group [g] groupKey does not match", or "... is already in use"
   * when a plain proxy holds a key.
   */
  joinRouteGroup(
    owner: RouteOwner,
    group: string,
    groupKeyDigest: string,
    keys: string[],
    proxy: MirroredProxy,
    openWorkConn: (ends: ConnEnds) => Promise<Duplex>,
  ): Promise<{ release(): void }>;
  /**
   * Takes proxy name `owner.proxyName` for `owner.user` cluster-wide and, when
   * `maxProxies` > 0, one of the user's `maxProxies` slots, in one atomic
   * step (every proxy type, before it starts); `release` gives both back
   * when the proxy closes, and they lapse with the node's lease. Throws a
   * user-facing Error when the name is held elsewhere or the user is at the
   * limit.
   */
  claimProxy(owner: ProxyOwner, maxProxies: number): Promise<{ release(): void }>;
  /** The whole cluster as the routing table lists it (for the admin API). */
  view(): Promise<ClusterView>;
  /** Disconnects client `runId` on whichever node holds it; false if no node does. */
  kick(runId: string): Promise<boolean>;
  /** Stops the node's share of the cluster (its routes lapse or are released). */
  close(): Promise<void>;
  /**
   * Where every node finds the resume keys of run ids (`auth/run_ids.ts`), so
   * a client that fails over to another node keeps its run id and so its
   * routes at once.
   */
  readonly runIds?: RunIdStore;
}

/** A resume record: the user a run id belongs to and the key that proves a resume. */
export interface RunIdRecord {
  user: string;
  key: string;
}

/** Shared run-id records (the cluster keeps them in Redis). */
export interface RunIdStore {
  get(runId: string): Promise<RunIdRecord | undefined>;
  set(runId: string, record: RunIdRecord): Promise<void>;
}

/** Starts this node's part of a cluster (`lib/cluster/`, which sits a layer above the server). */
export type ClusterStarter = (services: ServerServices) => Promise<Placement>;

let clusterStarter: ClusterStarter | undefined;

/**
 * Lets a server with a `[cluster]` section join its cluster. The entry points
 * (`server.ts`, `serve()`, `mod.ts`) register the starter, which loads the
 * cluster layer (and Redis) by a dynamic import only when a server asks for
 * it: the server layer itself never imports the cluster.
 *
 * @example
 * ```ts
 * import { registerClusterStarter } from "./placement.ts";
 * registerClusterStarter(async (services) =>
 *   (await import("../cluster/mod.ts")).startClusterNode(services)
 * );
 * ```
 */
export function registerClusterStarter(start: ClusterStarter): void {
  clusterStarter = start;
}

/**
 * The registered starter, or `undefined` when no entry point registered one.
 *
 * @example
 * ```ts
 * import { registeredClusterStarter } from "./placement.ts";
 * console.log(registeredClusterStarter() !== undefined);
 * ```
 */
export function registeredClusterStarter(): ClusterStarter | undefined {
  return clusterStarter;
}
