/**
 * The counters of the proxies a node serves for other nodes' clients (its
 * mirrors: udp datagrams, http, https and tcpmux requests, stcp, sudp and
 * xtcp visitors that arrive here and reach the client over the peer link),
 * published so that the admin views show a proxy's traffic across the whole
 * cluster, not only what reached its owner node. Each node writes one hash
 * per refresh (`dfrp:mirror-usage:<node>`, one field per proxy, leased like
 * the node), and a reader adds every other node's figures to the owner's
 * ledger entry.
 *
 * @example
 * ```ts
 * import { addMirrorUsage, publishMirrorUsage } from "./mirror_usage.ts";
 * import type { Redis } from "./redis.ts";
 * import type { ClusterView } from "../server/placement.ts";
 * declare const redis: Redis;
 * declare const running: ClusterView["running"];
 * await publishMirrorUsage(redis, "node-1", []);
 * await addMirrorUsage(redis, running);
 * ```
 *
 * @module
 */

import type { ClusterView, ProxyUsage, RouteOwner } from "../server/placement.ts";
import { addUsage, dailyFrom } from "../server/traffic_history.ts";
import { LEASE_MS } from "./keys.ts";
import { type Redis, scanKeys } from "./redis.ts";

/** Where each node publishes its mirrors' counters (a hash per node). */
export const MIRROR_USAGE_PREFIX = "dfrp:mirror-usage:";

/** One mirrored proxy's counters on this node. */
export interface MirrorUsage extends RouteOwner, ProxyUsage {}

const fieldOf = (o: RouteOwner) => `${o.user}\n${o.proxyName}\n${o.clientId}`;

/**
 * Replaces node `node`'s published mirror counters with `usage` (only
 * mirrors that ever carried a connection, to keep the hash small); the hash
 * lapses with the node's lease.
 *
 * @example
 * ```ts
 * import { publishMirrorUsage } from "./mirror_usage.ts";
 * import type { Redis } from "./redis.ts";
 * declare const redis: Redis;
 * await publishMirrorUsage(redis, "node-1", [{
 *   user: "alice", proxyName: "db", clientId: "0123456789abcdef",
 *   trafficIn: 10, trafficOut: 20, dailyIn: [10], dailyOut: [20], curConns: 0, totalConns: 1,
 * }]);
 * ```
 */
export async function publishMirrorUsage(
  redis: Redis,
  node: string,
  usage: MirrorUsage[],
): Promise<void> {
  const key = MIRROR_USAGE_PREFIX + node;
  const used = usage.filter((u) => u.totalConns > 0);
  const tx = redis.multi().del(key);
  if (used.length > 0) {
    tx.hset(key, Object.fromEntries(used.map((u) => [fieldOf(u), JSON.stringify(u)])));
    tx.pexpire(key, LEASE_MS);
  }
  await tx.exec();
}

/**
 * Adds every node's published mirror counters to the matching proxy of
 * `running` (same user, name and client; the owner's own entry holds its
 * node's figures), in place, and sets its `mirrored` to their sum; figures
 * for a proxy not in `running` are dropped.
 *
 * @example
 * ```ts
 * import { addMirrorUsage } from "./mirror_usage.ts";
 * import type { Redis } from "./redis.ts";
 * import type { ClusterView } from "../server/placement.ts";
 * declare const redis: Redis;
 * declare const running: ClusterView["running"];
 * await addMirrorUsage(redis, running);
 * ```
 */
export async function addMirrorUsage(
  redis: Redis,
  running: ClusterView["running"],
): Promise<void> {
  const keys = await scanKeys(redis, MIRROR_USAGE_PREFIX);
  if (keys.length === 0 || running.length === 0) return;
  const byField = new Map(running.map((p) => [fieldOf({ ...p, proxyName: p.name }), p]));
  const pipe = redis.pipeline();
  for (const key of keys) pipe.hgetall(key);
  for (const [err, hash] of (await pipe.exec()) ?? []) {
    if (err) continue;
    for (const [field, json] of Object.entries(hash as Record<string, string>)) {
      const target = byField.get(field);
      if (!target) continue;
      try {
        const more = JSON.parse(json) as Partial<ProxyUsage>;
        Object.assign(target, addUsage(target, more));
        target.mirrored = addUsage(target.mirrored ?? emptyUsage(), more);
      } catch {
        // Not ours; skipped.
      }
    }
  }
}

function emptyUsage(): ProxyUsage {
  return {
    trafficIn: 0,
    trafficOut: 0,
    dailyIn: dailyFrom([]),
    dailyOut: dailyFrom([]),
    curConns: 0,
    totalConns: 0,
  };
}
