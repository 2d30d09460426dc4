/**
 * Cluster mode (docs/cluster.md): this server is one node of several that
 * share one routing table in Redis. A node registers itself under a lease,
 * claims its clients' routes atomically (Lua over leased keys), keeps a
 * cached view of every node and route (pub/sub plus a periodic rescan),
 * listens on every tcp route's port on its own `proxyBindAddr`, and forwards
 * a user connection whose client sits on another node over the node-to-node
 * link. Loaded with a dynamic import only when `[cluster] redisURL` is set.
 *
 * @example
 * ```ts
 * import { startClusterNode } from "./mod.ts";
 * import type { ServerServices } from "../server/services.ts";
 * declare const services: ServerServices; // config.cluster.redisURL set
 * services.placement = await startClusterNode(services);
 * ```
 *
 * @module
 */

import { NewProxySchema } from "../protocol/messages.ts";
import type { Duplex } from "../net/duplex.ts";
import { relay } from "../net/relay.ts";
import { wrapTcp } from "../net/tcp_conn.ts";
import { withTimeout } from "../net/timeout.ts";
import { acceptEach } from "../net/accept_loop.ts";
import type { Logger } from "../log.ts";
import type { ServerServices } from "../server/services.ts";
import type {
  ClusterNodeInfo,
  ClusterView,
  MirroredProxy,
  Placement,
  ProxyOwner,
  ProxyUsage,
  RouteHandle,
  RouteOwner,
  RouteServer,
  RunIdRecord,
  RunIdStore,
} from "../server/placement.ts";
import type { ConnEnds, ServerProxy } from "../server/proxy/proxy.ts";
import { serverProxyFactory } from "../server/proxy/registry.ts";
import { ProxyStats } from "../server/stats.ts";
import { connEnds } from "../server/proxy/user_conn.ts";
import { readHeader, writeHeader } from "./frame.ts";
import {
  CLAIM_LUA,
  CLIENT_PREFIX,
  GROUP_JOIN_LUA,
  GROUP_LEAVE_LUA,
  KICK_CHANNEL,
  LEASE_MS,
  NODE_PREFIX,
  nodeKey,
  REFRESH_LUA,
  REFRESH_MS,
  RELEASE_LUA,
  ROUTE_PREFIX,
  routeKey,
  ROUTES_CHANNEL,
  RUN_ID_PREFIX,
} from "./keys.ts";
import { PeerLinks } from "./peer_link.ts";
import { connectRedis, type Redis, scanKeys } from "./redis.ts";
import { selfSignedCert } from "../transport/self_signed.ts";
import { kickClient, readClusterView } from "./view.ts";
import {
  GROUP_KINDS,
  groupMemberKey,
  groupRefusal,
  memberPattern,
  memberPrefix,
} from "./route_groups.ts";
import { groupKeyDigest } from "../server/group/group_key.ts";
import { UserFences } from "./fences.ts";
import { claimNodeName } from "./node_name.ts";
import { publishMirrorUsage } from "./mirror_usage.ts";

/** A node as the routing table lists it. */
export interface NodeRecord extends ClusterNodeInfo {
  /** Its peer link's certificate (PEM), pinned by the nodes that dial it. */
  cert: string;
}

/**
 * A route as the routing table lists it: a tcp port every node listens on
 * and forwards user connections for, or a key of a proxy every other node
 * rebuilds ("mirrors") from its type and config, forwarding work connections.
 */
export interface RouteRecord extends RouteOwner {
  node: string;
  kind: "tcp" | "proxy" | "tcpgroup" | "tcpmember" | "vhostgroup";
  /** kind "tcp", "tcpgroup", "tcpmember": the port. */
  port?: number;
  /**
   * kind "tcpgroup", "tcpmember", "vhostgroup" (and "proxy" for a vhost
   * group's member): the load-balancing group, and (the group kinds) its
   * key's SHA-256.
   */
  group?: string;
  groupKeyHash?: string;
  /** kind "proxy": what to rebuild. */
  type?: string;
  config?: Record<string, unknown>;
  /**
   * kind "tcp" and "proxy": a fresh id per claim, so that a release gives
   * back only its own claim, never the newer one of the same client on this
   * node (a client that logged in again took its routes over first).
   */
  claim?: string;
}

interface OwnedRoute {
  record: RouteRecord;
  /**
   * A group member: the group's route key and record, renewed with the
   * member, and the prefix of the group's member keys (`route_groups.ts`).
   */
  group?: { key: string; record: RouteRecord; members: string };
  serve?: RouteServer;
  openWorkConn?: (ends: ConnEnds) => Promise<Duplex>;
}

interface Mirror {
  proxy?: ServerProxy;
  /** Whose proxy it is, and what it carried here (published by `mirror_usage.ts`). */
  owner: RouteOwner;
  stats: ProxyStats;
  keys: Set<string>;
  configJson: string;
  closed: boolean;
}

/** How long a registration waits for Redis to come back before it fails. */
const CLAIM_WAIT_MS = 15_000;

/**
 * Starts this server's cluster node; the returned placement claims routes.
 *
 * @example
 * ```ts
 * import { startClusterNode } from "./mod.ts";
 * import type { ServerServices } from "../server/services.ts";
 * declare const services: ServerServices;
 * const placement = await startClusterNode(services);
 * await placement.close();
 * ```
 */
export async function startClusterNode(services: ServerServices): Promise<ClusterNode> {
  const node = new ClusterNode(services);
  try {
    await node.start();
  } catch (err) {
    await node.close();
    throw err;
  }
  return node;
}

/** See the module doc. */
/** How long a run id can be resumed on any node after its last login. */
const RUN_ID_TTL_S = 24 * 3600;

export class ClusterNode implements Placement {
  readonly name: string;
  readonly log: Logger;
  #redis?: Redis;
  #sub?: Redis;
  #links?: PeerLinks;
  #self: NodeRecord;
  /** The cached view: every live node and every route, by key. */
  #nodes = new Map<string, NodeRecord>();
  #routes = new Map<string, RouteRecord>();
  /** Routes whose client is connected to this node. */
  #owned = new Map<string, OwnedRoute>();
  /** Run-id resume records in Redis: a client keeps its run id on any node. */
  readonly runIds: RunIdStore = {
    get: async (runId) => {
      const text = await this.#redis?.get(RUN_ID_PREFIX + runId);
      return text ? JSON.parse(text) as RunIdRecord : undefined;
    },
    set: async (runId, record) => {
      await this.#redis?.set(RUN_ID_PREFIX + runId, JSON.stringify(record), "EX", RUN_ID_TTL_S);
    },
  };
  /** Other nodes' proxies rebuilt here, by node/client/proxy. */
  #mirrors = new Map<string, Mirror>();
  #mirrorFailed = new Set<string>();
  /** Ports this node listens on for tcp routes (its own and the other nodes'). */
  #listeners = new Map<number, Deno.TcpListener>();
  #bindFailed = new Set<number>();
  #timer?: ReturnType<typeof setInterval>;
  #soon?: ReturnType<typeof setTimeout>;
  #redisUp = true;
  #pending = new Set<Promise<unknown>>();
  #publishedClients = new Set<string>();
  #registered = false;
  #roundRobin = new Map<string, number>();
  #closed = false;
  /** Users' proxy names and `maxProxies` counts, cluster-wide (`fences.ts`). */
  #fences?: UserFences;

  constructor(readonly services: ServerServices) {
    const { config } = services;
    const cluster = config.cluster;
    this.name = cluster.nodeName;
    this.log = services.log.with(`cluster ${this.name}`);
    this.#self = {
      name: this.name,
      peer: cluster.advertiseAddr,
      bindAddr: config.bindAddr,
      bindPort: config.bindPort,
      proxyBindAddr: config.proxyBindAddr,
      startedAt: new Date().toISOString(),
      cert: "",
    };
  }

  /** The cached view of the cluster's nodes (for the admin API). */
  get nodes(): NodeRecord[] {
    return [...this.#nodes.values()];
  }

  /** The cached view of the cluster's routes (for the admin API). */
  get routes(): RouteRecord[] {
    return [...this.#routes.values()];
  }

  async start(): Promise<void> {
    const { cluster } = this.services.config;
    if (!cluster.secretKey) {
      throw new Error("cluster: set auth.token or cluster.secretKey (the node-to-node secret)");
    }
    try {
      this.#redis = await connectRedis(cluster.redisURL);
      this.#sub = await connectRedis(cluster.redisURL);
    } catch (err) {
      throw new Error(`cluster.redisURL: cannot reach Redis: ${(err as Error).message}`);
    }
    this.#fences = new UserFences(
      this.#redis,
      this.name,
      (op) => this.#retryWhileRedisAway(op),
      (proxyName) => {
        const stats = this.services.stats.get(proxyName);
        return stats && this.#usageOf(stats);
      },
    );
    const pair = await selfSignedCert(this.name);
    this.#self.cert = pair.cert;
    const record = JSON.stringify(this.#self);
    const other = await claimNodeName(this.#redis, nodeKey(this.name), record, this.#self.peer);
    if (other !== undefined) {
      throw new Error(
        `cluster.nodeName [${this.name}] is in use by the node at ${other}; names must be unique`,
      );
    }
    this.#registered = true;
    this.#links = new PeerLinks(
      this.name,
      cluster.secretKey,
      pair,
      this.log,
      (stream, from) => this.#serveForwarded(stream, from),
      this.services.config,
      (name) => this.#nodes.get(name),
    );
    const [host, port] = splitAddr(`${this.services.config.bindAddr}:${cluster.peerPort}`);
    this.#links.listen(host, port);
    this.#sub.on("message", (channel: string, message: string) => {
      if (channel === KICK_CHANNEL) return this.#kickLocal(message);
      this.#reconcileSoon();
    });
    // Resubscribe after Redis comes back (ioredis does it by itself; this also republishes).
    this.#sub.on("ready", () => this.#reconcileSoon());
    await this.#sub.subscribe(ROUTES_CHANNEL, KICK_CHANNEL);
    await this.#refresh();
    await this.#reconcile();
    this.#timer = setInterval(() => this.#tick(), REFRESH_MS);
    this.log.info(`cluster node [${this.name}] up, peers reach it at ${this.#self.peer}`);
  }

  async #tick(): Promise<void> {
    await this.#refresh();
    await this.#reconcile();
  }

  /** A proxy's counters here, as the admin views of every node read them. */
  #usageOf(stats: ProxyStats): ProxyUsage {
    const days = this.services.history.days(stats);
    const { trafficIn, trafficOut, curConns, totalConns } = stats;
    return {
      trafficIn,
      trafficOut,
      dailyIn: days.trafficIn,
      dailyOut: days.trafficOut,
      curConns,
      totalConns,
    };
  }

  /** Renews this node's lease and its routes' leases (republishing lost ones). */
  async #refresh(): Promise<void> {
    const redis = this.#redis!;
    try {
      await redis.set(nodeKey(this.name), JSON.stringify(this.#self), "PX", LEASE_MS);
      this.#registered = true;
      for (const [key, { record, group }] of this.#owned) {
        if (group) {
          const holder = await this.#joinGroupLua(group.key, group.record, key, record);
          if (holder !== null) {
            this.log.warn(`group [${record.group}] lost ${group.key} to another route`);
            this.#owned.delete(key);
          }
          continue;
        }
        const held = await redis.eval(
          REFRESH_LUA,
          1,
          key,
          JSON.stringify(record),
          this.name,
          record.clientId,
          LEASE_MS,
        );
        if (held === 0) {
          this.log.warn(`route ${key} of proxy [${record.proxyName}] is now held by another node`);
          this.#owned.delete(key);
        }
      }
      await this.#fences?.renew((owner) =>
        this.log.warn(`proxy [${owner.proxyName}] lost its cluster-wide entry (name or maxProxies)`)
      );
      await this.#publishClients(redis);
      await publishMirrorUsage(
        redis,
        this.name,
        [...this.#mirrors.values()].map((m) => ({ ...m.owner, ...this.#usageOf(m.stats) })),
      );
      if (!this.#redisUp) {
        this.#redisUp = true;
        this.log.info("Redis is back: routes republished");
        redis.publish(ROUTES_CHANNEL, "refresh").catch(() => {});
      }
    } catch (err) {
      if (this.#redisUp) {
        this.#redisUp = false;
        this.log.warn(
          `Redis unreachable (${(err as Error).message}): serving from the cached view`,
        );
      }
    }
  }

  /** Lists this node's online clients in Redis (for the admin views); drops gone ones. */
  async #publishClients(redis: Redis): Promise<void> {
    const pipe = redis.pipeline();
    const online = new Set<string>();
    for (const info of this.services.clients?.values() ?? []) {
      if (!info.online) continue;
      online.add(info.runId);
      pipe.set(
        CLIENT_PREFIX + info.runId,
        JSON.stringify({
          runId: info.runId,
          node: this.name,
          user: info.user,
          hostname: info.hostname,
          version: info.version,
          address: info.address,
          lastConnectedAt: info.lastConnectedAt.toISOString(),
        }),
        "PX",
        LEASE_MS,
      );
    }
    for (const runId of this.#publishedClients) {
      if (!online.has(runId)) pipe.eval(RELEASE_CLIENT_LUA, 1, CLIENT_PREFIX + runId, this.name);
    }
    this.#publishedClients = online;
    await pipe.exec();
  }

  #kickLocal(runId: string): void {
    const info = this.services.clients?.get(runId);
    if (!info?.online || !info.disconnect) return;
    this.log.info(`client [${runId}] disconnected at the cluster admin's request`);
    info.disconnect("disconnected by the cluster admin");
  }

  /** See {@linkcode Placement.view}. */
  view(): Promise<ClusterView> {
    return readClusterView(this.#redis!);
  }

  /** See {@linkcode Placement.claimProxy}. */
  claimProxy(owner: ProxyOwner, maxProxies: number): Promise<{ release(): void }> {
    return this.#fences!.claim(owner, maxProxies);
  }

  /** See {@linkcode Placement.kick}. */
  kick(runId: string): Promise<boolean> {
    return kickClient(this.#redis!, runId);
  }

  #reconcileSoon(): void {
    if (this.#soon || this.#closed) return;
    this.#soon = setTimeout(() => {
      this.#soon = undefined;
      this.#reconcile();
    }, 20);
  }

  /** Reloads the view from Redis (keeping the cache if it is away) and syncs listeners. */
  async #reconcile(): Promise<void> {
    if (this.#closed) return;
    try {
      const nodes = await this.#readAll<NodeRecord>(NODE_PREFIX);
      const routes = await this.#readAll<RouteRecord>(ROUTE_PREFIX);
      this.#nodes = new Map(nodes.map((n) => [n.value.name, n.value]));
      this.#nodes.set(this.name, this.#self);
      this.#routes = new Map(
        routes.filter((r) => GROUP_KINDS.has(r.value.kind) || this.#nodes.has(r.value.node))
          .map((r) => [r.key, r.value]),
      );
    } catch {
      // Redis away: keep serving from the cached view.
    }
    // This node's own routes are known without Redis.
    for (const [key, { record, group }] of this.#owned) {
      const other = this.#routes.get(key);
      if (!other || other.node === this.name) this.#routes.set(key, record);
      if (group && !this.#routes.has(group.key)) this.#routes.set(group.key, group.record);
    }
    this.#syncListeners();
    this.#syncMirrors();
  }

  /** Rebuilds here every proxy another node holds a "proxy" route for, and drops stale ones. */
  #syncMirrors(): void {
    const wanted = new Map<string, { record: RouteRecord; keys: Set<string> }>();
    for (const [key, route] of this.#routes) {
      if (route.kind !== "proxy" || route.node === this.name) continue;
      const id = `${route.node}/${route.clientId}/${route.proxyName}`;
      const entry = wanted.get(id) ?? { record: route, keys: new Set<string>() };
      entry.keys.add(key);
      wanted.set(id, entry);
    }
    for (const [id, mirror] of this.#mirrors) {
      const entry = wanted.get(id);
      if (entry && JSON.stringify(entry.record.config ?? {}) === mirror.configJson) continue;
      this.#closeMirror(id);
    }
    for (const id of this.#mirrorFailed) if (!wanted.has(id)) this.#mirrorFailed.delete(id);
    for (const [id, { record, keys }] of wanted) {
      if (this.#mirrors.has(id) || this.#mirrorFailed.has(id)) continue;
      this.#startMirror(id, record, keys);
    }
  }

  #startMirror(id: string, record: RouteRecord, keys: Set<string>): void {
    const config = record.config ?? {};
    const name = record.proxyName;
    const stats = new ProxyStats(name, String(record.type));
    Object.assign(stats, { owner: record.clientId, user: record.user, config });
    const owner = { proxyName: name, clientId: record.clientId, user: record.user };
    const mirror: Mirror = {
      keys,
      configJson: JSON.stringify(config),
      closed: false,
      owner,
      stats,
    };
    this.#mirrors.set(id, mirror);
    const factory = serverProxyFactory(String(record.type));
    const log = this.log.with(name);
    const firstKey = [...keys][0];
    // What another node published: checked against the wire catalog like a NewProxy.
    const parsed = NewProxySchema.safeParse(config);
    if (!parsed.success) {
      this.#mirrors.delete(id);
      this.#mirrorFailed.add(id);
      this.log.warn(`cannot serve proxy [${name}] of node [${record.node}] here: bad config`);
      return;
    }
    const proxy = factory?.(parsed.data, {
      name,
      // A mirror is a plain local proxy here: no placement, its own counters.
      services: { ...this.services, placement: undefined, stats: new Map([[name, stats]]) },
      serverConfig: this.services.config,
      ports: this.services.ports,
      clientId: record.clientId,
      user: record.user,
      log,
      stats,
      openWorkConn: (ends) => this.#remoteWorkConn(record.node, firstKey, ends),
    });
    if (!proxy) {
      this.#mirrors.delete(id);
      this.#mirrorFailed.add(id);
      this.log.warn(`cannot serve proxy [${name}] of node [${record.node}] here: unknown type`);
      return;
    }
    mirror.proxy = proxy;
    proxy.start().then((addr) => {
      if (mirror.closed) return proxy.close();
      log.debug(`serving ${record.type} proxy of node [${record.node}] at ${addr}`);
    }, (err) => {
      proxy.close();
      if (this.#mirrors.get(id) === mirror) this.#mirrors.delete(id);
      this.#mirrorFailed.add(id);
      this.log.warn(
        `cannot serve proxy [${name}] of node [${record.node}] here: ${(err as Error).message}`,
      );
    });
  }

  #closeMirror(id: string): void {
    const mirror = this.#mirrors.get(id);
    if (!mirror) return;
    this.#mirrors.delete(id);
    mirror.closed = true;
    mirror.proxy?.close();
  }

  /** A work connection of a client on node `node`, through the peer link. */
  async #remoteWorkConn(node: string, key: string, ends: ConnEnds): Promise<Duplex> {
    const peer = this.#nodes.get(node);
    if (!peer) throw new Error(`node [${node}] is gone`);
    const stream = await this.#links!.open(peer.name, peer.peer, peer.cert);
    try {
      await writeHeader(stream, { work: key, ends });
    } catch (err) {
      stream.close();
      throw err;
    }
    return stream;
  }

  async #readAll<T>(prefix: string): Promise<{ key: string; value: T }[]> {
    const redis = this.#redis!;
    const keys = await scanKeys(redis, prefix);
    if (keys.length === 0) return [];
    const values = await redis.mget(...keys);
    const out: { key: string; value: T }[] = [];
    values.forEach((v: string | null, i: number) => {
      if (v === null) return;
      try {
        out.push({ key: keys[i], value: JSON.parse(v) as T });
      } catch {
        this.log.warn(`malformed ${keys[i]} in Redis, ignored`);
      }
    });
    return out;
  }

  /** Listens on every tcp route's port and stops listening on ports no route has. */
  #syncListeners(): void {
    const wanted = new Set<number>();
    for (const route of this.#routes.values()) {
      if ((route.kind === "tcp" || route.kind === "tcpgroup") && route.port) {
        wanted.add(route.port);
      }
    }
    for (const [port, listener] of this.#listeners) {
      if (wanted.has(port)) continue;
      this.#listeners.delete(port);
      try {
        listener.close();
      } catch { /* closed */ }
    }
    for (const port of this.#bindFailed) if (!wanted.has(port)) this.#bindFailed.delete(port);
    for (const port of wanted) {
      if (this.#listeners.has(port)) continue;
      try {
        this.#serveTcpPort(this.#bind(port));
        this.#bindFailed.delete(port);
      } catch (err) {
        if (!this.#bindFailed.has(port)) {
          this.#bindFailed.add(port);
          this.log.warn(`cannot serve cluster route tcp:${port} here: ${(err as Error).message}`);
        }
      }
    }
  }

  #bind(port: number): Deno.TcpListener {
    return Deno.listen({ hostname: this.services.config.proxyBindAddr, port, transport: "tcp" });
  }

  #serveTcpPort(listener: Deno.TcpListener): void {
    const port = (listener.addr as Deno.NetAddr).port;
    this.#listeners.set(port, listener);
    const key = routeKey("tcp", port);
    acceptEach(listener, (conn) => {
      const user = wrapTcp(conn);
      const ends = connEnds(conn);
      this.#route(key, user, ends).catch((err) => {
        this.log.debug(`user connection to ${key} dropped: ${(err as Error).message}`);
        user.close();
      });
    });
  }

  /** Hands a user connection to the route's owner: here, or over the peer link. */
  async #route(portKey: string, user: Duplex, ends: ConnEnds): Promise<void> {
    const route = this.#routes.get(portKey);
    if (!route) throw new Error("no route");
    if (route.kind !== "tcpgroup") return await this.#deliver(portKey, route, user, ends);
    // Round robin over the group's members, wherever they are; a member whose
    // node cannot be reached (it died, its lease has not lapsed yet) is skipped.
    const members = [...this.#routes].filter(([, r]) =>
      r.kind === "tcpmember" && r.port === route.port
    ).sort(([a], [b]) => a.localeCompare(b));
    if (members.length === 0) throw new Error("tcp group has no member");
    const next = this.#roundRobin.get(portKey) ?? 0;
    this.#roundRobin.set(portKey, next + 1);
    let lastErr: unknown;
    for (let i = 0; i < members.length; i++) {
      const [key, member] = members[(next + i) % members.length];
      try {
        return await this.#deliver(key, member, user, ends);
      } catch (err) {
        if (!(err instanceof Unreachable)) throw err;
        lastErr = err;
      }
    }
    throw lastErr;
  }

  /** Serves `user` on route `key`: here, or relayed to its node. */
  async #deliver(key: string, route: RouteRecord, user: Duplex, ends: ConnEnds): Promise<void> {
    if (route.node === this.name) {
      const owned = this.#owned.get(key);
      if (!owned?.serve) throw new Error("route is not served here any more");
      return owned.serve(user, ends);
    }
    const node = this.#nodes.get(route.node);
    if (!node) throw new Unreachable(`node [${route.node}] is gone`);
    let stream: Duplex | undefined;
    try {
      stream = await this.#links!.open(node.name, node.peer, node.cert);
      await writeHeader(stream, { route: key, ends });
    } catch (err) {
      stream?.close();
      throw new Unreachable(`node [${route.node}]: ${(err as Error).message}`);
    }
    await relay(user, stream);
  }

  /** A stream from another node: a user connection for a route this node owns. */
  async #serveForwarded(stream: Duplex, from: string): Promise<void> {
    try {
      const header = await withTimeout(readHeader(stream), 10_000, "route header");
      if (typeof header.work === "string") return await this.#serveWork(stream, header, from);
      const key = String(header.route ?? "");
      const owned = this.#owned.get(key);
      if (!owned?.serve) {
        this.log.debug(`node [${from}] forwarded a connection for ${key}, not held here`);
        return stream.close();
      }
      owned.serve(stream, header.ends as ConnEnds);
    } catch (err) {
      this.log.warn(`bad stream from node [${from}]: ${(err as Error).message}`);
      stream.close();
    }
  }

  /** Another node's mirror wants a work connection of a client connected here. */
  async #serveWork(stream: Duplex, header: Record<string, unknown>, from: string): Promise<void> {
    const key = String(header.work);
    const owned = this.#owned.get(key);
    if (!owned?.openWorkConn) {
      this.log.debug(`node [${from}] asked for a work connection for ${key}, not held here`);
      return stream.close();
    }
    let work: Duplex;
    try {
      work = await owned.openWorkConn(header.ends as ConnEnds);
    } catch (err) {
      this.log.warn(`no work connection for node [${from}]: ${(err as Error).message}`);
      return stream.close();
    }
    await relay(stream, work);
  }

  /** See {@linkcode Placement.claimRoutes}. */
  async claimRoutes(
    owner: RouteOwner,
    keys: string[],
    proxy: MirroredProxy,
    openWorkConn: (ends: ConnEnds) => Promise<Duplex>,
  ): Promise<{ release(): void }> {
    const record: RouteRecord = {
      ...owner,
      node: this.name,
      kind: "proxy",
      type: proxy.type,
      config: proxy.config,
      claim: crypto.randomUUID(),
    };
    const claimed: string[] = [];
    const releaseAll = () => {
      for (const k of claimed) this.#release(ROUTE_PREFIX + k, record);
    };
    for (const k of keys) {
      const holder = await this.#claimKey(ROUTE_PREFIX + k, record).catch((err) => {
        releaseAll();
        throw err;
      });
      if (holder !== null) {
        releaseAll();
        throw new Error(`${describeKey(k)} is already in use${holderText(holder)}`);
      }
      claimed.push(k);
      this.#owned.set(ROUTE_PREFIX + k, { record, openWorkConn });
      this.#routes.set(ROUTE_PREFIX + k, record);
    }
    // This node may have been serving those keys for another node (the client moved here).
    for (const [id, mirror] of [...this.#mirrors]) {
      if (keys.some((k) => mirror.keys.has(ROUTE_PREFIX + k))) this.#closeMirror(id);
    }
    this.#redis!.publish(ROUTES_CHANNEL, "proxy").catch(() => {});
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        releaseAll();
      },
    };
  }

  #joinGroupLua(
    groupKey: string,
    group: RouteRecord,
    memberKey: string,
    member: RouteRecord,
  ): Promise<string | null> {
    return this.#redis!.eval(
      GROUP_JOIN_LUA,
      2,
      groupKey,
      memberKey,
      JSON.stringify(group),
      String(group.group),
      String(group.groupKeyHash),
      JSON.stringify(member),
      LEASE_MS,
    ) as Promise<string | null>;
  }

  /** See {@linkcode Placement.joinTcpGroup}. */
  async joinTcpGroup(
    owner: RouteOwner,
    group: string,
    groupKey: string,
    port: number,
    serve: RouteServer,
  ): Promise<RouteHandle> {
    const groupKeyHash = await groupKeyDigest(groupKey);
    const key = routeKey("tcp", port);
    const groupRecord: RouteRecord = {
      proxyName: group,
      clientId: "",
      user: owner.user,
      node: "",
      kind: "tcpgroup",
      port,
      group,
      groupKeyHash,
    };
    const members = memberPrefix("tcpmember", port);
    const memberKey = groupMemberKey(members, this.name, owner.clientId, owner.proxyName);
    const member: RouteRecord = { ...owner, node: this.name, kind: "tcpmember", port, group };
    await this.#joinGroup(
      { key, record: groupRecord, members },
      memberKey,
      { record: member, serve },
      (holder) => `port ${port} is already in use${holderText(holder)}`,
    );
    this.#listenClaimed(port, undefined, memberKey, member);
    return this.#announce(port, key, memberKey, member);
  }

  /**
   * Joins `group` (its route key, record and member prefix) as `owned.record`
   * under `memberKey`; throws the group's refusal, or `taken`'s text when a
   * plain route holds the key.
   */
  async #joinGroup(
    group: NonNullable<OwnedRoute["group"]>,
    memberKey: string,
    owned: Omit<OwnedRoute, "group">,
    taken: (holder: string) => string,
  ): Promise<void> {
    const holder = await this.#retryWhileRedisAway(() =>
      this.#joinGroupLua(group.key, group.record, memberKey, owned.record)
    );
    if (holder !== null) {
      throw groupRefusal(String(group.record.group), holder) ?? new Error(taken(holder));
    }
    this.#owned.set(memberKey, { ...owned, group });
    this.#routes.set(memberKey, owned.record);
    if (!this.#routes.has(group.key)) this.#routes.set(group.key, group.record);
  }

  /**
   * Joins the vhost group on each key; each member key is a "proxy" route,
   * so every other node mirrors the member and its router takes turns
   * (see {@linkcode Placement.joinRouteGroup}).
   */
  async joinRouteGroup(
    owner: RouteOwner,
    group: string,
    groupKeyHash: string,
    keys: string[],
    proxy: MirroredProxy,
    openWorkConn: (ends: ConnEnds) => Promise<Duplex>,
  ): Promise<{ release(): void }> {
    const { type, config } = proxy;
    const member: RouteRecord = { ...owner, node: this.name, kind: "proxy", group, type, config };
    const joined: string[] = [];
    // Empties `joined`: a second release does nothing.
    const leaveAll = () => joined.splice(0).forEach((k) => this.#release(k, member));
    for (const k of keys) {
      const record: RouteRecord = {
        proxyName: group,
        clientId: "",
        user: owner.user,
        node: "",
        kind: "vhostgroup",
        group,
        groupKeyHash,
      };
      const members = memberPrefix("vhostmember", k);
      const memberKey = groupMemberKey(members, this.name, owner.clientId, owner.proxyName);
      await this.#joinGroup(
        { key: ROUTE_PREFIX + k, record, members },
        memberKey,
        { record: member, openWorkConn },
        (holder) => `${describeKey(k)} is already in use${holderText(holder)}`,
      ).catch((err) => {
        leaveAll();
        throw err;
      });
      joined.push(memberKey);
    }
    this.#redis!.publish(ROUTES_CHANNEL, "proxy").catch(() => {});
    return { release: leaveAll };
  }

  /** See {@linkcode Placement.claimTcp}. */
  async claimTcp(
    owner: RouteOwner,
    port: number,
    serve: RouteServer,
    listenAny = () => this.services.ports.listenTcp(this.services.config.proxyBindAddr, 0),
  ): Promise<RouteHandle> {
    if (port !== 0) return await this.#claimPort(owner, port, serve, undefined);
    // Any free port: one this node can bind (within the user's allowPorts) that no other route holds.
    for (let attempt = 0; attempt < 20; attempt++) {
      const listener = listenAny();
      const picked = (listener.addr as Deno.NetAddr).port;
      if (this.#routes.has(routeKey("tcp", picked))) {
        listener.close();
        continue;
      }
      try {
        return await this.#claimPort(owner, picked, serve, listener);
      } catch (err) {
        if (!(err instanceof Taken)) throw err;
      }
    }
    throw new Error("no free port found cluster-wide");
  }

  async #claimPort(
    owner: RouteOwner,
    port: number,
    serve: RouteServer,
    listener: Deno.TcpListener | undefined,
  ): Promise<RouteHandle> {
    const key = routeKey("tcp", port);
    const record: RouteRecord = {
      ...owner,
      node: this.name,
      kind: "tcp",
      port,
      claim: crypto.randomUUID(),
    };
    let holder: string | null;
    try {
      holder = await this.#claimKey(key, record);
    } catch (err) {
      listener?.close();
      throw err;
    }
    if (holder !== null) {
      listener?.close();
      throw new Taken(`port ${port} is already in use${holderText(holder)}`);
    }
    this.#owned.set(key, { record, serve });
    this.#routes.set(key, record);
    this.#listenClaimed(port, listener, key, record);
    return this.#announce(port, key, key, record);
  }

  /**
   * Serves the claimed tcp `port` here from `listener` (or a new bind) unless
   * it is served already; when it cannot listen, gives up the claim
   * (`ownedKey`, `record`) and says why.
   */
  #listenClaimed(
    port: number,
    listener: Deno.TcpListener | undefined,
    ownedKey: string,
    record: RouteRecord,
  ): void {
    if (this.#listeners.has(port)) {
      listener?.close();
      return;
    }
    try {
      this.#serveTcpPort(listener ?? this.#bind(port));
    } catch (err) {
      this.#release(ownedKey, record);
      const reason = err instanceof Deno.errors.AddrInUse
        ? `port ${port} is already in use`
        : `cannot listen on ${this.services.config.proxyBindAddr}:${port}: ${
          (err as Error).message
        }`;
      throw new Error(reason);
    }
  }

  /** Tells the other nodes about route `announced`; the handle gives up `ownedKey` once. */
  #announce(port: number, announced: string, ownedKey: string, record: RouteRecord): RouteHandle {
    this.#redis!.publish(ROUTES_CHANNEL, announced).catch(() => {});
    let released = false;
    return {
      port,
      release: () => {
        if (released) return;
        released = true;
        this.#release(ownedKey, record);
      },
    };
  }

  /** Runs CLAIM_LUA, waiting for Redis to come back for a while; the holder's value, or null. */
  #claimKey(key: string, record: RouteRecord): Promise<string | null> {
    return this.#retryWhileRedisAway(() =>
      this.#redis!.eval(
        CLAIM_LUA,
        1,
        key,
        JSON.stringify(record),
        this.name,
        record.clientId,
        LEASE_MS,
      ) as Promise<string | null>
    );
  }

  /** Runs `op`, retrying while Redis is away (registrations wait up to 15 s, then fail). */
  async #retryWhileRedisAway<T>(op: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + CLAIM_WAIT_MS;
    for (;;) {
      try {
        return await op();
      } catch (err) {
        if (this.#closed || Date.now() > deadline) {
          throw new Error(`cluster routing table unreachable: ${(err as Error).message}`);
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  #release(key: string, record: RouteRecord): void {
    const group = this.#owned.get(key)?.group;
    if (this.#owned.get(key)?.record === record) this.#owned.delete(key);
    if (this.#routes.get(key) === record) this.#routes.delete(key);
    if (group) {
      const left = [...this.#routes.keys()].some((k) => k.startsWith(group.members));
      if (!left) this.#routes.delete(group.key);
    }
    const op = group
      ? this.#redis!.eval(GROUP_LEAVE_LUA, 2, group.key, key, memberPattern(group.members))
      : this.#redis!.eval(RELEASE_LUA, 1, key, this.name, record.clientId, record.claim ?? "");
    const done = op
      .then(() => this.#redis!.publish(ROUTES_CHANNEL, key))
      .catch(() => {});
    this.#pending.add(done);
    done.finally(() => this.#pending.delete(done));
    this.#syncListeners();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    clearTimeout(this.#soon);
    for (const [key, { record }] of [...this.#owned]) this.#release(key, record);
    for (const id of [...this.#mirrors.keys()]) this.#closeMirror(id);
    await this.#fences?.releaseAll();
    await Promise.all(this.#pending);
    // Only a node that got as far as registering owns its node key (a refused duplicate does not).
    if (this.#registered) await this.#redis?.del(nodeKey(this.name)).catch(() => {});
    for (const runId of this.#publishedClients) {
      await this.#redis?.eval(RELEASE_CLIENT_LUA, 1, CLIENT_PREFIX + runId, this.name).catch(
        () => {},
      );
    }
    for (const listener of this.#listeners.values()) {
      try {
        listener.close();
      } catch { /* closed */ }
    }
    this.#listeners.clear();
    await this.#links?.close();
    this.#sub?.disconnect();
    this.#redis?.disconnect();
  }
}

/** Deletes a client key only if this node (ARGV[1]) wrote it. */
const RELEASE_CLIENT_LUA = `
local cur = redis.call('GET', KEYS[1])
if cur then
  local ok, c = pcall(cjson.decode, cur)
  if ok and c.node == ARGV[1] then redis.call('DEL', KEYS[1]) end
end
return 0`;

/** " by proxy [x] on node [y]" from a holder's record, or "". */
function holderText(holder: string): string {
  try {
    const h = JSON.parse(holder) as RouteRecord;
    if (GROUP_KINDS.has(h.kind)) return ` by group [${h.group}]`;
    return ` by proxy [${h.proxyName}] on node [${h.node}]`;
  } catch {
    return "";
  }
}

/** A route key as a user reads it. */
function describeKey(key: string): string {
  const [kind, ...rest] = key.split(":");
  if (kind === "http" || kind === "https" || kind === "tcpmux") {
    const [domain, location, user] = rest;
    return `${kind} route [${domain}]${location ? ` location [${location}]` : ""}${
      user ? ` httpUser [${user}]` : ""
    }`;
  }
  if (kind === "udp") return `udp port ${rest[0]}`;
  if (kind === "secret") return `secret proxy name [${rest.slice(1).join(":")}]`;
  return `route ${key}`;
}

/** The node a route lives on cannot be reached now. */
class Unreachable extends Error {}

/** The port or domain is held by another route. */
class Taken extends Error {}

function splitAddr(addr: string): [string, number] {
  const i = addr.lastIndexOf(":");
  return [addr.slice(0, i).replace(/^\[|\]$/g, ""), Number(addr.slice(i + 1))];
}
