/**
 * The JSON the admin API answers, built from the server's read model
 * (`ServerServices.stats` and `.clients`) with frp's field names, so tools
 * written for frps's dashboard API read dfrp's too.
 *
 * @example
 * ```ts
 * import { AdminViews } from "./views.ts";
 * import type { ServerServices } from "../../server/services.ts";
 * declare const services: ServerServices;
 * const views = new AdminViews(services);
 * console.log(views.serverInfo().clientCounts);
 * ```
 *
 * @module
 */

import type { ServerServices } from "../../server/services.ts";
import type { ClientInfo, ProxyStats } from "../../server/stats.ts";
import { VERSION } from "../../version.ts";
import type { TrafficHistory } from "../../server/traffic_history.ts";
import { redactSecrets } from "./redact.ts";
import { hostOf } from "../../server/auth/rate_limit.ts";
import { PROXY_TYPES } from "../../config/mod.ts";

/** Proxy types `/api/proxy/:type` accepts: every type the config knows. */
export { PROXY_TYPES };

/** `GET /api/serverinfo`. */
export interface ServerInfoResp {
  version: string;
  bindPort: number;
  vhostHTTPPort: number;
  vhostHTTPSPort: number;
  tcpmuxHTTPConnectPort: number;
  kcpBindPort: number;
  quicBindPort: number;
  subdomainHost: string;
  maxPoolCount: number;
  maxPortsPerClient: number;
  heartbeatTimeout: number;
  allowPortsStr?: string;
  tlsForce?: boolean;
  /** Today's traffic over every proxy. */
  totalTrafficIn: number;
  totalTrafficOut: number;
  curConns: number;
  /** Clients online now. */
  clientCounts: number;
  /** Online proxies by type. */
  proxyTypeCount: Record<string, number>;
  /** Cluster mode: this node's name (the dashboard then lists the cluster's nodes). */
  node?: string;
}

/** One proxy in `/api/proxy/:type` and `/api/proxy/:type/:name`. */
export interface ProxyStatsInfo {
  name: string;
  type: string;
  /**
   * What the server knows of the proxy's config (annotations included),
   * every value whose key names a secret replaced (`redact.ts`).
   */
  conf: Record<string, unknown> | null;
  user: string;
  clientID: string;
  todayTrafficIn: number;
  todayTrafficOut: number;
  curConns: number;
  /** Since the server started (dfrp's addition; frp has today's only). */
  totalConns: number;
  lastStartTime: string;
  lastCloseTime: string;
  status: "online" | "offline";
  /** dfrp's addition: the last errors on the server for this proxy, oldest first. */
  recentErrors: { time: string; message: string }[];
  /** Cluster mode: the node the proxy runs on (`cluster_views.ts`). */
  node?: string;
}

/** One client in `/api/clients`. */
export interface ClientInfoResp {
  key: string;
  user: string;
  clientID: string;
  runID: string;
  version: string;
  hostname: string;
  clientIP: string;
  /** "ip:port" of the last login (dfrp's addition). */
  address: string;
  os: string;
  arch: string;
  /** Unix seconds. */
  firstConnectedAt: number;
  lastConnectedAt: number;
  disconnectedAt?: number;
  online: boolean;
  /** Names of the client's online proxies (dfrp's addition). */
  proxies: string[];
  /** Cluster mode: the node the client is connected to (`cluster_views.ts`). */
  node?: string;
}

// frp's dashboard format: local "01-02 15:04:05".
function frpTime(t: Date | undefined): string {
  if (!t) return "";
  const two = (n: number) => String(n).padStart(2, "0");
  return `${two(t.getMonth() + 1)}-${two(t.getDate())} ` +
    `${two(t.getHours())}:${two(t.getMinutes())}:${two(t.getSeconds())}`;
}

const unix = (t: Date) => Math.floor(t.getTime() / 1000);

/** See the module doc. */
export class AdminViews {
  /** Day-by-day traffic (the server's); `feature.ts` rolls it every minute. */
  get history(): TrafficHistory {
    return this.services.history;
  }
  readonly #clients: Map<string, ClientInfo>;

  /** @param services the server's shared state */
  constructor(readonly services: ServerServices) {
    this.#clients = services.clients ?? new Map();
  }

  /** `GET /api/serverinfo`. */
  serverInfo(): ServerInfoResp {
    const c = this.services.config;
    let totalTrafficIn = 0, totalTrafficOut = 0, curConns = 0;
    const proxyTypeCount: Record<string, number> = {};
    for (const s of this.services.stats.values()) {
      const days = this.history.days(s);
      totalTrafficIn += days.trafficIn[0];
      totalTrafficOut += days.trafficOut[0];
      curConns += s.curConns;
      if (s.owner !== undefined) proxyTypeCount[s.type] = (proxyTypeCount[s.type] ?? 0) + 1;
    }
    let clientCounts = 0;
    for (const info of this.#clients.values()) if (info.online) clientCounts++;
    const allowPortsStr = c.allowPorts
      .map((r) => r.single ? String(r.single) : `${r.start}-${r.end}`)
      .join(",");
    return {
      version: VERSION,
      bindPort: c.bindPort,
      vhostHTTPPort: c.vhostHTTPPort,
      vhostHTTPSPort: c.vhostHTTPSPort,
      tcpmuxHTTPConnectPort: c.tcpmuxHTTPConnectPort,
      kcpBindPort: c.kcpBindPort,
      quicBindPort: c.quicBindPort,
      subdomainHost: c.subDomainHost,
      maxPoolCount: c.transport.maxPoolCount,
      maxPortsPerClient: c.maxPortsPerClient,
      heartbeatTimeout: c.transport.heartbeatTimeout,
      ...(allowPortsStr ? { allowPortsStr } : {}),
      ...(c.transport.tls.force ? { tlsForce: true } : {}),
      totalTrafficIn,
      totalTrafficOut,
      curConns,
      clientCounts,
      proxyTypeCount,
      ...(this.services.placement ? { node: c.cluster.nodeName } : {}),
    };
  }

  /** Every proxy of `type`, sorted by name. */
  proxiesByType(type: string): ProxyStatsInfo[] {
    const out: ProxyStatsInfo[] = [];
    for (const s of this.services.stats.values()) if (s.type === type) out.push(this.proxy(s));
    return out.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  }

  /** The counters of proxy `name`, or undefined. */
  stats(name: string): ProxyStats | undefined {
    return this.services.stats.get(name);
  }

  /** One proxy's view. */
  proxy(s: ProxyStats): ProxyStatsInfo {
    const days = this.history.days(s);
    return {
      name: s.name,
      type: s.type,
      conf: s.lastStartTime ? redactSecrets(s.config) : null,
      user: s.user,
      clientID: s.clientID || s.clientRunId,
      todayTrafficIn: days.trafficIn[0],
      todayTrafficOut: days.trafficOut[0],
      curConns: s.curConns,
      totalConns: s.totalConns,
      lastStartTime: frpTime(s.lastStartTime),
      lastCloseTime: frpTime(s.lastCloseTime),
      status: s.owner !== undefined ? "online" : "offline",
      recentErrors: s.recentErrors.map((e) => ({ time: frpTime(e.time), message: e.message })),
    };
  }

  /** Every known client, online ones first, then by user and run id. */
  clients(): ClientInfoResp[] {
    const owned = new Map<string, string[]>();
    for (const s of this.services.stats.values()) {
      if (s.owner === undefined) continue;
      const names = owned.get(s.owner) ?? [];
      names.push(s.name);
      owned.set(s.owner, names);
    }
    return [...this.#clients.values()]
      .map((info) => this.#client(info, (owned.get(info.runId) ?? []).sort()))
      .sort((a, b) =>
        Number(b.online) - Number(a.online) || a.user.localeCompare(b.user) ||
        a.runID.localeCompare(b.runID)
      );
  }

  /** The registry entry of run id `runId`, or undefined. */
  clientInfo(runId: string): ClientInfo | undefined {
    return this.#clients.get(runId);
  }

  /** One client's view, or undefined. */
  client(runId: string): ClientInfoResp | undefined {
    return this.clients().find((c) => c.runID === runId);
  }

  /** Forgets offline proxies; returns how many went and how many there were. */
  clearOfflineProxies(): { cleared: number; total: number } {
    const total = this.services.stats.size;
    let cleared = 0;
    for (const [name, s] of this.services.stats) {
      if (s.owner === undefined) {
        this.services.stats.delete(name);
        cleared++;
      }
    }
    return { cleared, total };
  }

  #client(info: ClientInfo, proxies: string[]): ClientInfoResp {
    return {
      key: info.runId,
      user: info.user,
      clientID: info.clientID || info.runId,
      runID: info.runId,
      version: info.version,
      hostname: info.hostname,
      clientIP: hostOf(info.address),
      address: info.address,
      os: info.os,
      arch: info.arch,
      firstConnectedAt: unix(info.firstConnectedAt),
      lastConnectedAt: unix(info.lastConnectedAt),
      ...(info.disconnectedAt ? { disconnectedAt: unix(info.disconnectedAt) } : {}),
      online: info.online,
      proxies,
    };
  }
}
