/**
 * Cluster mode (docs/cluster.md): throughput (iperf3, one stream) and HTTP
 * requests/s (wrk, `http_bench.ts`'s settings) through a node that forwards
 * to the client's node, as a ratio of going through the client's own node,
 * in the same run, and the CPU the dfrp processes (both nodes and the
 * client) spent per GB and per 1000 requests on each path, which other load
 * on a shared machine disturbs less than the rates. Two nodes on 127.0.0.1
 * and 127.0.0.2 and a private `redis-server`; needs `redis-server`, `iperf3`
 * and `wrk` on PATH.
 *
 * @example
 * ```ts
 * import { clusterBench } from "./cluster_bench.ts";
 * await clusterBench();
 * ```
 *
 * @module
 */

import { eventually, freePort, startClient, startServer } from "../tests/_harness.ts";
import { startRedis } from "../tests/_cluster.ts";
import { curl } from "../tests/_curl.ts";
import { wrk } from "./http_bench.ts";
import { cpuSeconds } from "./_proc_cpu.ts";

const SECONDS = Number(Deno.env.get("BENCH_SECONDS") ?? 5);

/** What `run` returned and the CPU seconds `pids` spent on it, each and in all. */
async function withCpu<T>(pids: number[], run: () => Promise<T>) {
  const before = pids.map(cpuSeconds);
  const result = await run();
  const each = pids.map((pid, i) => cpuSeconds(pid) - before[i]);
  return { result, each, total: each.reduce((a, b) => a + b, 0) };
}

/** `each` CPU seconds per `unit`, as "owner / other node / client". */
function perUnit(each: number[], unit: number): string {
  return each.map((s) => (s / unit).toFixed(2)).join(" / ");
}

async function iperfVia(host: string, port: number): Promise<{ gbps: number; gb: number }> {
  const args = ["-c", host, "-p", String(port), "-t", String(SECONDS), "-J"];
  for (let attempt = 0;; attempt++) {
    const out = await new Deno.Command("iperf3", { args, stdout: "piped", stderr: "piped" })
      .output();
    const json = JSON.parse(new TextDecoder().decode(out.stdout) || "{}");
    const bps = json.end?.sum_received?.bits_per_second;
    const bytes = json.end?.sum_received?.bytes;
    if (out.success && typeof bps === "number") return { gbps: bps / 1e9, gb: bytes / 1e9 };
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
    // One request through the other node first (once its mirror of the vhost
    // is up): the measured runs see the links as they stay (the owner dials
    // one back on the first, docs/cluster.md).
    await eventually(async () => {
      const warm = await curl("-H", "Host: bench.example.com", `http://127.0.0.2:${vhostPort}/`);
      if (warm.status !== 200) throw new Error(`warm-up request: HTTP ${warm.status}`);
    }, 15_000);
    await new Promise((r) => setTimeout(r, 1000));
    const pids = [...nodes.map((n) => n.child.pid), client.child.pid];
    const same = await withCpu(pids, () => iperfVia("127.0.0.1", remotePort));
    const fwd = await withCpu(pids, () => iperfVia("127.0.0.2", remotePort));
    const sameGbps = same.result.gbps, fwdGbps = fwd.result.gbps;
    const sameCpu = same.total / same.result.gb, fwdCpu = fwd.total / fwd.result.gb;
    console.log(
      `cluster throughput: same node ${sameGbps.toFixed(2)} Gbit/s, forwarded ${
        fwdGbps.toFixed(2)
      } Gbit/s (${(fwdGbps / sameGbps).toFixed(2)} of same node); dfrp CPU-s/GB same node ${
        sameCpu.toFixed(2)
      } (${perUnit(same.each, same.result.gb)}), forwarded ${fwdCpu.toFixed(2)} (${
        perUnit(fwd.each, fwd.result.gb)
      }) (owner / other node / client; same-node CPU ${
        (sameCpu / fwdCpu).toFixed(2)
      } of forwarded)`,
    );
    const url = (host: string) => `http://${host}:${vhostPort}/`;
    const sameHttp = await withCpu(pids, () => wrk(url("127.0.0.1"), "bench.example.com"));
    const fwdHttp = await withCpu(pids, () => wrk(url("127.0.0.2"), "bench.example.com"));
    const sameRps = sameHttp.result.requestsPerSecond, fwdRps = fwdHttp.result.requestsPerSecond;
    // wrk runs BENCH_SECONDS too (http_bench.ts): requests = rate × SECONDS.
    const sameK = sameRps * SECONDS / 1000, fwdK = fwdRps * SECONDS / 1000;
    console.log(
      `cluster http vhost: same node ${Math.round(sameRps)} req/s (p99 ${
        sameHttp.result.p99Ms.toFixed(1)
      } ms), forwarded ${Math.round(fwdRps)} req/s (p99 ${fwdHttp.result.p99Ms.toFixed(1)} ms) (${
        (fwdRps / sameRps).toFixed(2)
      } of same node); dfrp CPU-s per 1000 requests same node ${
        (sameHttp.total / sameK).toFixed(2)
      } (${perUnit(sameHttp.each, sameK)}), forwarded ${(fwdHttp.total / fwdK).toFixed(2)} (${
        perUnit(fwdHttp.each, fwdK)
      })`,
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
