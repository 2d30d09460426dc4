/**
 * A client that logs in again on the same node takes its proxies' routes and
 * ledger entries over with new claims; the old proxies' releases, however
 * late they arrive, must leave the new claims in Redis (docs/cluster.md).
 * A real redis-server and a real cluster node (`startClusterNode`), its
 * placement driven directly so that the release comes after the new claim.
 */

import { assertEquals } from "./_assert.ts";
import { freePort } from "./_harness.ts";
import { startRedis } from "./_cluster.ts";
import { parseServerConfig } from "../lib/config/load.ts";
import { startClusterNode } from "../lib/cluster/mod.ts";
import { readRunningProxies } from "../lib/cluster/fences.ts";
import { connectRedis } from "../lib/cluster/redis.ts";
import { PortManager } from "../lib/server/ports.ts";
import { TrafficHistory } from "../lib/server/traffic_history.ts";
import { log } from "../lib/log.ts";

Deno.test("cluster claims: a late release of a client's old claim leaves its new claim (routes and ledger)", async () => {
  await using redis = await startRedis();
  const bindPort = freePort();
  const { config } = parseServerConfig(
    `bindAddr = "127.0.0.1"
bindPort = ${bindPort}
proxyBindAddr = "127.0.0.1"
auth.token = "cluster-claims-token"
[cluster]
redisURL = "${redis.url}"
nodeName = "node-1"
peerPort = ${freePort()}
`,
    "frps.toml",
  );
  const node = await startClusterNode({
    config,
    ports: new PortManager([], 0),
    log,
    stats: new Map(),
    history: new TrafficHistory(),
    features: new Map(),
  });
  await using _node = { [Symbol.asyncDispose]: () => node.close() };
  const owner = { proxyName: "web", clientId: "0123456789abcdef", user: "", type: "http" };
  const key = "http:claims.example.com::";
  const mirrored = { type: "http", config: { type: "http", name: "web" } };
  const noWork = () => Promise.reject(new Error("not in this test"));

  // The first login's proxy, then the same client's second login on this node.
  const oldFence = await node.claimProxy(owner, 0);
  const oldRoute = await node.claimRoutes(owner, [key], mirrored, noWork);
  const newFence = await node.claimProxy(owner, 0);
  const newRoute = await node.claimRoutes(owner, [key], mirrored, noWork);
  // The old proxy closes only now.
  oldRoute.release();
  oldFence.release();

  const reader = await connectRedis(redis.url);
  try {
    await reader.ping(); // after the releases on the node's own connection had their turn
    await new Promise((r) => setTimeout(r, 200));
    const route = await reader.get(`dfrp:route:${key}`);
    assertEquals(
      route?.includes('"node":"node-1"'),
      true,
      `route key after the old release: ${route}`,
    );
    const running = await readRunningProxies(reader);
    assertEquals(running.map((p) => [p.name, p.node]), [["web", "node-1"]]);

    // The new claims still give themselves back.
    newRoute.release();
    newFence.release();
    await new Promise((r) => setTimeout(r, 200));
    assertEquals(await reader.exists(`dfrp:route:${key}`), 0);
    assertEquals(await readRunningProxies(reader), []);
  } finally {
    reader.disconnect();
  }
});
