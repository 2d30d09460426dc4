/**
 * The node's own `/api/clients` and `/api/proxy/:type` over the whole
 * cluster (docs/cluster.md): in cluster mode the clients and proxies of
 * every other node, read through the node's placement from Redis, join this
 * node's own, each marked with its `node`; a disconnect of a client held
 * elsewhere goes to its node. On a single server (no placement) every
 * answer is {@linkcode AdminViews}'s own, unchanged.
 *
 * Another node's proxy shows what Redis knows of it: name, type, user,
 * client and node, `online`, and the counters its node publishes with it
 * every 2 s (its traffic by day, today first, and its connections), so
 * `/api/proxy/:type/:name` and `/api/traffic/:name` answer for it too.
 *
 * @example
 * ```ts
 * import { ClusterAdminViews } from "./cluster_views.ts";
 * import type { AdminViews } from "./views.ts";
 * declare const views: AdminViews;
 * const cluster = new ClusterAdminViews(views);
 * console.log((await cluster.clients()).map((c) => [c.runID, c.node]));
 * ```
 *
 * @module
 */

import type { ClusterView, ProxyUsage } from "../../server/placement.ts";
import type { ProxyStats } from "../../server/stats.ts";
import { hostOf } from "../../server/auth/rate_limit.ts";
import type { DailyTraffic } from "../../server/traffic_history.ts";
import type { AdminViews, ClientInfoResp, ProxyStatsInfo } from "./views.ts";

/** See the module doc. */
export class ClusterAdminViews {
  /** @param views this node's own views */
  constructor(readonly views: AdminViews) {}

  /** This node's name in cluster mode, else undefined. */
  get node(): string | undefined {
    return this.views.services.placement ? this.views.services.config.cluster.nodeName : undefined;
  }

  /** Every client of the cluster (this node's first, as `AdminViews.clients` sorts them). */
  async clients(): Promise<ClientInfoResp[]> {
    const local = this.views.clients();
    const view = await this.#view();
    if (!view) return local;
    const self = this.node!;
    const remote = view.clients.filter((c) => c.node !== self);
    const elsewhere = new Set(remote.map((c) => c.runId));
    // A client that moved to another node is listed there, not as offline here.
    const mine = local.filter((c) => c.online || !elsewhere.has(c.runID))
      .map((c) => ({ ...c, node: self }));
    const localIds = new Set(mine.map((c) => c.runID));
    return [
      ...mine,
      ...remote.filter((c) => !localIds.has(c.runId)).map((c) => remoteClient(c, view)),
    ];
  }

  /** One client of the cluster, or undefined. */
  async client(runId: string): Promise<ClientInfoResp | undefined> {
    return (await this.clients()).find((c) => c.runID === runId);
  }

  /** Every proxy of `type` in the cluster, sorted by name. */
  async proxiesByType(type: string): Promise<ProxyStatsInfo[]> {
    const view = await this.#view();
    if (!view) return this.views.proxiesByType(type);
    const remote = view.running.filter((p) => p.node !== this.node && p.type === type);
    const remoteNames = new Set(remote.map((p) => p.name));
    const mine = [...this.views.services.stats.values()]
      .filter((s) => s.type === type && (s.owner !== undefined || !remoteNames.has(s.name)))
      .map((s) => this.#local(s, view));
    const localNames = new Set(mine.map((p) => p.name));
    return [...mine, ...remote.filter((p) => !localNames.has(p.name)).map(remoteProxy)]
      .sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  }

  /**
   * Proxy `name` wherever it runs (`/api/proxy/:type/:name`): this node's
   * while it is online here, else another node's, else this node's offline
   * one; undefined when no node knows it.
   */
  async proxy(name: string): Promise<ProxyStatsInfo | undefined> {
    const view = await this.#view();
    const local = this.views.stats(name);
    if (!view) return local && this.views.proxy(local);
    const remote = this.#remote(view, name);
    if (remote && local?.owner === undefined) return remoteProxy(remote);
    return local && this.#local(local, view);
  }

  /** Proxy `name`'s traffic by day, today first, wherever it runs (`/api/traffic/:name`). */
  async traffic(name: string): Promise<DailyTraffic | undefined> {
    const view = await this.#view();
    const local = this.views.stats(name);
    const remote = view && this.#remote(view, name);
    if (remote && local?.owner === undefined) {
      return { trafficIn: remote.dailyIn, trafficOut: remote.dailyOut };
    }
    if (!local) return undefined;
    const days = this.views.history.days(local);
    const mirrored = view && this.#mirrored(local, view);
    if (!mirrored) return days;
    const add = (mine: number[], theirs: number[]) => mine.map((n, day) => n + theirs[day]);
    return {
      trafficIn: add(days.trafficIn, mirrored.dailyIn),
      trafficOut: add(days.trafficOut, mirrored.dailyOut),
    };
  }

  /**
   * Disconnects client `runId` held on another node; false when no node
   * holds it (or on a single server).
   */
  async disconnectElsewhere(runId: string): Promise<boolean> {
    return await this.views.services.placement?.kick(runId) ?? false;
  }

  /** This node's proxy `s`, with what other nodes counted serving it while it is online here. */
  #local(s: ProxyStats, view: ClusterView): ProxyStatsInfo {
    const p = { ...this.views.proxy(s), node: this.node };
    const mirrored = this.#mirrored(s, view);
    if (!mirrored) return p;
    return {
      ...p,
      todayTrafficIn: p.todayTrafficIn + mirrored.dailyIn[0],
      todayTrafficOut: p.todayTrafficOut + mirrored.dailyOut[0],
      curConns: p.curConns + mirrored.curConns,
      totalConns: p.totalConns + mirrored.totalConns,
    };
  }

  #mirrored(s: ProxyStats, view: ClusterView): ProxyUsage | undefined {
    if (s.owner === undefined) return undefined;
    return view.running.find((r) =>
      r.node === this.node && r.name === s.name && r.clientId === s.owner
    )?.mirrored;
  }

  #remote(view: ClusterView, name: string): ClusterView["running"][number] | undefined {
    return view.running.find((p) => p.name === name && p.node !== this.node);
  }

  #view(): Promise<ClusterView | undefined> {
    return this.views.services.placement?.view() ?? Promise.resolve(undefined);
  }
}

const unixOf = (iso: string) => {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? 0 : Math.floor(ms / 1000);
};

/** A client of another node, in `/api/clients`'s shape. */
function remoteClient(c: ClusterView["clients"][number], view: ClusterView): ClientInfoResp {
  const since = unixOf(c.lastConnectedAt);
  return {
    key: c.runId,
    user: c.user,
    clientID: c.runId,
    runID: c.runId,
    version: c.version,
    hostname: c.hostname,
    clientIP: hostOf(c.address),
    address: c.address,
    os: "",
    arch: "",
    firstConnectedAt: since,
    lastConnectedAt: since,
    online: true,
    proxies: view.running.filter((p) => p.clientId === c.runId && p.node === c.node)
      .map((p) => p.name).sort(),
    node: c.node,
  };
}

/** A proxy of another node, in `/api/proxy/:type`'s shape. */
function remoteProxy(p: ClusterView["running"][number]): ProxyStatsInfo {
  return {
    name: p.name,
    type: p.type,
    conf: null,
    user: p.user,
    clientID: p.clientId,
    // Its node's counters as of their last publication (every 2 s).
    todayTrafficIn: p.dailyIn[0],
    todayTrafficOut: p.dailyOut[0],
    curConns: p.curConns,
    totalConns: p.totalConns,
    lastStartTime: "",
    lastCloseTime: "",
    status: "online",
    recentErrors: [],
    node: p.node,
  };
}
