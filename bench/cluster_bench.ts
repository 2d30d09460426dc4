/**
 * Cluster mode (docs/cluster.md): throughput (iperf3, one stream) and HTTP
 * requests/s (wrk, `http_bench.ts`'s settings) through a node that forwards
 * to the client's node, as a ratio of going through the client's own node,
 * in the same run. Two nodes on 127.0.0.1 and 127.0.0.2 and a private
 * `redis-server`; needs `redis-server`, `iperf3` and `wrk` on PATH.
 *
 * @example
 * ```ts
 * import { clusterBench } from "./cluster_bench.ts";
 * await clusterBench();
 * ```
 *
 * @module
 */

import { freePort, startClient, startServer } from "../tests/_harness.ts";
import { startRedis } from "../tests/_cluster.ts";
import { wrk } from "./http_bench.ts";

const SECONDS = Number(Deno.env.get("BENCH_SECONDS") ?? 5);

async function iperfVia(host: string, port: number): Promise<number> {
  const args = ["-c", host, "-p", String(port), "-t", String(SECONDS), "-J"];
  for (let attempt = 0;; attempt++) {
    const out = await new Deno.Command("iperf3", { args, stdout: "piped", stderr: "piped" })
      .output();
    const json = JSON.parse(new TextDecoder().decode(out.stdout) || "{}");
    const bps = json.end?.sum_received?.bits_per_second;
    if (out.success && typeof bps === "number") return bps / 1e9;
    if (attempt > 0) throw new Error(`iperf3 failed: ${json.error ?? "?"}`);
    await new Promise((r) => setTimeout(r, 2000));
  }
}

/**
 * Prints the cluster rows.
 *
 * @example
 * ```ts
 * import { clusterBench } from "./cluster_bench.ts";
 * await clusterBench();
 * ```
 */
export async function clusterBench(): Promise<void> {
  await using redis = await startRedis();
  const bindPort = freePort();
  const vhostPort = freePort();
  const nodes = [];
  for (const [i, host] of ["127.0.0.1", "127.0.0.2"].entries()) {
    const node = await startServer(`
bindAddr = "${host}"
bindPort = ${bindPort}
vhostHTTPPort = ${vhostPort}
auth.token = "t"
[cluster]
redisURL = "${redis.url}"
nodeName = "bench-${i + 1}"
`);
    await node.waitFor(/cluster node \[bench-\d\] up/);
    nodes.push(node);
  }
  const iperfPort = freePort();
  const iperfServer = new Deno.Command("iperf3", {
    args: ["-s", "-B", "127.0.0.1", "-p", String(iperfPort)],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const ac = new AbortController();
  const body = "hello from the backend\n".repeat(4);
  const backend = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {} },
    () => new Response(body),
  );
  const remotePort = freePort();
  const client = await startClient(`
serverAddr = "127.0.0.1"
serverPort = ${bindPort}
auth.token = "t"
[[proxies]]
name = "iperf"
type = "tcp"
localPort = ${iperfPort}
remotePort = ${remotePort}
[[proxies]]
name = "web"
type = "http"
localPort = ${backend.addr.port}
customDomains = ["bench.example.com"]
`);
  try {
    await client.waitFor(/\[iperf\] start proxy success/);
    await client.waitFor(/\[web\] start proxy success/);
    await new Promise((r) => setTimeout(r, 1000));
    const same = await iperfVia("127.0.0.1", remotePort);
    const forwarded = await iperfVia("127.0.0.2", remotePort);
    console.log(
      `cluster throughput: same node ${same.toFixed(2)} Gbit/s, forwarded ${
        forwarded.toFixed(2)
      } Gbit/s (${(forwarded / same).toFixed(2)} of same node)`,
    );
    const url = (host: string) => `http://${host}:${vhostPort}/`;
    const sameHttp = await wrk(url("127.0.0.1"), "bench.example.com");
    const fwdHttp = await wrk(url("127.0.0.2"), "bench.example.com");
    console.log(
      `cluster http vhost: same node ${Math.round(sameHttp.requestsPerSecond)} req/s (p99 ${
        sameHttp.p99Ms.toFixed(1)
      } ms), forwarded ${Math.round(fwdHttp.requestsPerSecond)} req/s (p99 ${
        fwdHttp.p99Ms.toFixed(1)
      } ms) (${(fwdHttp.requestsPerSecond / sameHttp.requestsPerSecond).toFixed(2)} of same node)`,
    );
  } finally {
    await client.stop("SIGKILL");
    for (const node of nodes) await node.stop("SIGKILL");
    iperfServer.kill("SIGKILL");
    await iperfServer.status;
    ac.abort();
    await backend.finished;
  }
}

if (import.meta.main) await clusterBench();
