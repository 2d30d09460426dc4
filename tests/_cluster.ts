/**
 * Helpers for the cluster and `[[servers]]` tests: a round trip to any
 * loopback address, and a private `redis-server` on a free port.
 *
 * @example
 * ```ts
 * import { startRedis } from "./_cluster.ts";
 * await using redis = await startRedis();
 * console.log(redis.url);
 * ```
 *
 * @module
 */

import { freePort, roundTrip, type ServerHandle, startServer } from "./_harness.ts";

/** Sends `data` to `host:port`, half-closes, and returns all that comes back. */
export function roundTripTo(host: string, port: number, data: Uint8Array): Promise<Uint8Array> {
  return roundTrip(port, data, host);
}

/** A `redis-server` the test owns: no persistence, loopback only. */
export interface RedisHandle extends AsyncDisposable {
  port: number;
  url: string;
  /** Kills it (SIGKILL) and waits for the exit. */
  kill(): Promise<void>;
  /** Starts it again on the same port (after `kill`). */
  restart(): Promise<void>;
}

/** Starts `redis-server` on a free 127.0.0.1 port and waits until it answers. */
export async function startRedis(): Promise<RedisHandle> {
  const port = freePort();
  let child: Deno.ChildProcess | undefined;
  const spawn = async () => {
    child = new Deno.Command("redis-server", {
      args: [
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--protected-mode",
        "no",
      ],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port });
        await conn.write(new TextEncoder().encode("PING\r\n"));
        const buf = new Uint8Array(16);
        const n = await conn.read(buf);
        conn.close();
        if (n && new TextDecoder().decode(buf.subarray(0, n)).startsWith("+PONG")) return;
      } catch {
        // Not listening yet.
      }
      if (Date.now() > deadline) throw new Error("redis-server did not start");
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const kill = async () => {
    try {
      child?.kill("SIGKILL");
    } catch { /* exited */ }
    await child?.status;
  };
  await spawn();
  return {
    port,
    url: `redis://127.0.0.1:${port}/0`,
    kill,
    restart: spawn,
    [Symbol.asyncDispose]: kill,
  };
}

/** The loopback addresses the three nodes of {@linkcode startCluster} bind. */
export const CLUSTER_HOSTS = ["127.0.0.1", "127.0.0.2", "127.0.0.3"];

/** Running nodes; disposing kills them. */
export interface ClusterHandle extends AsyncDisposable {
  bindPort: number;
  vhostHTTPPort: number;
  /** node-1, node-2..., on the hosts asked for ({@linkcode CLUSTER_HOSTS}) in order. */
  nodes: ServerHandle[];
}

/**
 * Three nodes on 127.0.0.1-3 (or one per address of `hosts`) sharing `redis`,
 * with the same free ports (bindPort, its peerPort, vhostHTTPPort); `extra` is more
 * server config, with `HOST` replaced by each node's address.
 *
 * @example
 * ```ts
 * import { startCluster, startRedis } from "./_cluster.ts";
 * await using redis = await startRedis();
 * await using cluster = await startCluster(redis, "vhostHTTPSPort = 8443");
 * console.log(cluster.nodes.length); // 3
 * ```
 */
export async function startCluster(
  redis: RedisHandle,
  extra = "",
  hosts = CLUSTER_HOSTS,
): Promise<ClusterHandle> {
  const bindPort = freePort();
  const vhostHTTPPort = freePort();
  const nodes: ServerHandle[] = [];
  const dispose = () => Promise.all(nodes.map((n) => n.stop("SIGKILL"))).then(() => {});
  try {
    for (const [i, host] of hosts.entries()) {
      const node = await startServer(`
bindAddr = "${host}"
bindPort = ${bindPort}
vhostHTTPPort = ${vhostHTTPPort}
auth.token = "t"
${extra.replaceAll("HOST", host)}
[cluster]
redisURL = "${redis.url}"
nodeName = "node-${i + 1}"
`);
      nodes.push(node);
      await node.waitFor(/cluster node \[node-\d\] up/);
    }
  } catch (err) {
    await dispose();
    throw err;
  }
  return { bindPort, vhostHTTPPort, nodes, [Symbol.asyncDispose]: dispose };
}

/** Where {@linkcode startAliceNodes} runs its nodes. */
export const TWO_NODE_HOSTS = ["127.0.0.1", "127.0.0.2"];

/**
 * Two nodes (node-1 on 127.0.0.1, node-2 on 127.0.0.2, one `bindPort`)
 * sharing `redis`, with the shared token "t" and an `[[auth.users]]` entry for
 * alice (token "alice-token") holding `limits` (TOML lines); `extra` is
 * top-level TOML where "HOST" stands for the node's address.
 *
 * @example
 * ```ts
 * import { startAliceNodes, startRedis } from "./_cluster.ts";
 * await using redis = await startRedis();
 * await using nodes = await startAliceNodes(redis, "maxProxies = 2");
 * console.log(nodes.nodes.length); // 2
 * ```
 */
export function startAliceNodes(
  redis: RedisHandle,
  limits: string,
  extra = "",
): Promise<ClusterHandle> {
  const alice = `${extra}\n[[auth.users]]\nuser = "alice"\ntoken = "alice-token"\n${limits}\n`;
  return startCluster(redis, alice, TWO_NODE_HOSTS);
}

/**
 * A client config with `[[servers]]` on `hosts` (port `serverPort`) in
 * failover order, heartbeats that notice a dead node within about 3 s, and
 * `extra` (its proxies).
 *
 * @example
 * ```ts
 * import { failoverConf } from "./_cluster.ts";
 * const toml = failoverConf(["127.0.0.1", "127.0.0.2"], 7000, "");
 * console.log(toml);
 * ```
 */
export function failoverConf(hosts: string[], serverPort: number, extra: string): string {
  return `
auth.token = "t"
transport.heartbeatInterval = 1
transport.heartbeatTimeout = 3
transport.tcpMuxKeepaliveInterval = 1
${hosts.map((h) => `[[servers]]\nserverAddr = "${h}"\nserverPort = ${serverPort}\n`).join("")}
${extra}`;
}

/**
 * Sends one inline command (`CLIENT PAUSE 8000 ALL`) to the Redis on
 * `port` and returns its first reply line (`+OK`).
 *
 * @example
 * ```ts
 * import { redisCommand, startRedis } from "./_cluster.ts";
 * await using redis = await startRedis();
 * console.log(await redisCommand(redis.port, "PING")); // +PONG
 * ```
 */
export async function redisCommand(port: number, line: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new TextEncoder().encode(`${line}\r\n`));
    const buf = new Uint8Array(512);
    const n = await conn.read(buf);
    return new TextDecoder().decode(buf.subarray(0, n ?? 0)).split("\r\n")[0];
  } finally {
    conn.close();
  }
}
