/**
 * Reading the cluster from Redis alone (nodes, clients, proxies) and asking
 * the node that holds a client to disconnect it: what every node's admin API
 * and the standalone `admin.ts` serve.
 *
 * @example
 * ```ts
 * import { readClusterView } from "./view.ts";
 * import { connectRedis } from "./redis.ts";
 * const view = await readClusterView(await connectRedis("redis://127.0.0.1:6379/0"));
 * console.log(view.nodes.map((n) => n.name));
 * ```
 *
 * @module
 */

import type { ClusterView } from "../server/placement.ts";
import { CLIENT_PREFIX, KICK_CHANNEL, NODE_PREFIX, ROUTE_PREFIX } from "./keys.ts";
import { type Redis, scanKeys } from "./redis.ts";
import { readRunningProxies } from "./fences.ts";
import { addMirrorUsage } from "./mirror_usage.ts";

/** Every key under `prefix` with its value (parsed JSON) and lease left. */
async function readPrefix(redis: Redis, prefix: string) {
  const keys = await scanKeys(redis, prefix);
  if (keys.length === 0) return [];
  const pipe = redis.pipeline();
  for (const key of keys) pipe.get(key).pttl(key);
  const results = (await pipe.exec()) ?? [];
  const out: { key: string; value: Record<string, unknown>; pttl: number }[] = [];
  keys.forEach((key, i) => {
    const raw = results[2 * i]?.[1];
    const pttl = Number(results[2 * i + 1]?.[1] ?? -2);
    if (typeof raw !== "string") return;
    try {
      out.push({ key, value: JSON.parse(raw), pttl });
    } catch {
      // Not ours; skipped.
    }
  });
  return out;
}

const text = (v: unknown) => typeof v === "string" ? v : "";

/**
 * The cluster as Redis lists it now.
 *
 * @example
 * ```ts
 * import { readClusterView } from "./view.ts";
 * import { type Redis, scanKeys } from "./redis.ts";
 * declare const redis: Redis;
 * const { nodes, clients, proxies } = await readClusterView(redis);
 * ```
 */
export async function readClusterView(redis: Redis): Promise<ClusterView> {
  const [nodes, clients, routes, running] = await Promise.all([
    readPrefix(redis, NODE_PREFIX),
    readPrefix(redis, CLIENT_PREFIX),
    readPrefix(redis, ROUTE_PREFIX),
    readRunningProxies(redis),
  ]);
  await addMirrorUsage(redis, running);
  return {
    nodes: nodes.map(({ value: v, pttl }) => ({
      name: text(v.name),
      peer: text(v.peer),
      bindAddr: text(v.bindAddr),
      bindPort: Number(v.bindPort ?? 0),
      proxyBindAddr: text(v.proxyBindAddr),
      startedAt: text(v.startedAt),
      leaseMs: Math.max(pttl, 0),
    })).sort((a, b) => a.name.localeCompare(b.name)),
    clients: clients.map(({ value: v }) => ({
      runId: text(v.runId),
      node: text(v.node),
      user: text(v.user),
      hostname: text(v.hostname),
      version: text(v.version),
      address: text(v.address),
      lastConnectedAt: text(v.lastConnectedAt),
    })).sort((a, b) => a.runId.localeCompare(b.runId)),
    proxies: routes.map(({ key, value: v }) => ({
      name: text(v.proxyName),
      type: text(v.type) || text(v.kind),
      node: text(v.node),
      clientId: text(v.clientId),
      user: text(v.user),
      route: key.slice(ROUTE_PREFIX.length),
    })).sort((a, b) => a.route.localeCompare(b.route)),
    running,
  };
}

/**
 * Asks the node holding client `runId` to disconnect it (over pub/sub);
 * false when no node lists that client.
 *
 * @example
 * ```ts
 * import { kickClient } from "./view.ts";
 * import { type Redis, scanKeys } from "./redis.ts";
 * declare const redis: Redis;
 * await kickClient(redis, "0123456789abcdef");
 * ```
 */
export async function kickClient(redis: Redis, runId: string): Promise<boolean> {
  if (!await redis.exists(CLIENT_PREFIX + runId)) return false;
  await redis.publish(KICK_CHANNEL, runId);
  return true;
}
