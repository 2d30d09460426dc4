/**
 * Small messages through this tree against an older one, rows interleaved in
 * one run (issue 14): `redis-benchmark -c 50 -t set,get`, HTTP keep-alive
 * and `Connection: close` (`wrk -c50 -t2`) against a haproxy backend that
 * answers by itself, each through a dfrp tcp proxy (defaults: TLS, tcpMux
 * on) of each tree, with two chained haproxy relays as the yardstick. Besides
 * requests/s it prints the CPU time the server and the client each spent per
 * request (`/proc/PID/stat`), which other load on the machine disturbs less
 * than throughput.
 *
 * ```sh
 * git archive main | tar -x -C /tmp/old
 * ROUNDS=3 BENCH_SECONDS=3 deno run -A bench/msg_compare.ts /tmp/old
 * ```
 *
 * @module
 */

import { freePort } from "../tests/_harness.ts";
import { startRedis } from "../tests/_cluster.ts";
import { haproxyChain, wrk } from "./http_bench.ts";
import { haproxyBackend, redisBenchmark } from "./small_bench.ts";
import { spawnTreeTunnel } from "./_tree.ts";

const ROUNDS = Number(Deno.env.get("ROUNDS") ?? 2);
const SECONDS = Number(Deno.env.get("BENCH_SECONDS") ?? 5);
const REDIS_N = Number(Deno.env.get("BENCH_REDIS_N") ?? 40_000);
const HERE = new URL("../", import.meta.url).pathname;

/** A server and a client of the tree at `root`, tcp proxies to redis and to the HTTP backend. */
async function tunnel(root: string, redisPort: number, httpPort: number) {
  const redis = freePort();
  const http = freePort();
  const tree = await spawnTreeTunnel(
    root,
    "",
    `[[proxies]]\nname = "redis"\ntype = "tcp"\nlocalPort = ${redisPort}\nremotePort = ${redis}\n` +
      `[[proxies]]\nname = "http"\ntype = "tcp"\nlocalPort = ${httpPort}\nremotePort = ${http}\n`,
    ["redis", "http"],
    [redis, http],
  );
  return Object.assign(tree, { redis, http });
}

const older = Deno.args[0];
if (!older) throw new Error("usage: msg_compare.ts /path/to/older/tree");
await using redis = await startRedis();
const redisPort = redis.port;
{
  await using backend = await haproxyBackend();
  if (!backend) throw new Error("needs haproxy");
  await using redisChain = (await haproxyChain(redisPort))!;
  await using httpChain = (await haproxyChain(backend.port))!;
  await using oldTunnel = await tunnel(older, redisPort, backend.port);
  await using newTunnel = await tunnel(HERE, redisPort, backend.port);
  const trees = [["old", oldTunnel], ["new", newTunnel]] as const;
  const url = (port: number) => `http://127.0.0.1:${port}/`;
  const load = () => Deno.loadavg()[0].toFixed(1);
  const line = (
    what: string,
    rate: number,
    yard: number,
    cpu?: { server: number; client: number },
  ) =>
    console.log(
      `${what.padEnd(28)} ${rate.toFixed(0).padStart(7)} /s  ${
        (rate / yard).toFixed(2)
      } of 2x haproxy` +
        (cpu
          ? `  CPU µs/req server ${cpu.server.toFixed(1)} client ${cpu.client.toFixed(1)}`
          : "") +
        `  (load ${load()})`,
    );
  for (let round = 0; round < ROUNDS; round++) {
    // Each round flips which tree goes first, so neither always gets the warmer machine.
    const order = round % 2 === 0 ? trees : [...trees].reverse();
    const ry = await redisBenchmark(redisChain.port, 1, REDIS_N);
    for (const t of ["SET", "GET"]) line(`r${round} redis ${t} 2x haproxy`, ry[t], ry[t]);
    for (const [name, tun] of order) {
      let r: Record<string, number> = {};
      const cpu = await tun.measure(async () => {
        r = await redisBenchmark(tun.redis, 1, REDIS_N);
        return 2 * REDIS_N;
      });
      for (const t of ["SET", "GET"]) line(`r${round} redis ${t} ${name}`, r[t], ry[t], cpu);
    }
    const hy = (await wrk(url(httpChain.port))).requestsPerSecond;
    line(`r${round} http keep-alive 2x haproxy`, hy, hy);
    for (const [name, tun] of order) {
      let rps = 0;
      const cpu = await tun.measure(async () => {
        rps = (await wrk(url(tun.http))).requestsPerSecond;
        return rps * SECONDS;
      });
      line(`r${round} http keep-alive ${name}`, rps, hy, cpu);
    }
    const close = ["Connection: close"];
    const cy = (await wrk(url(httpChain.port), undefined, close)).requestsPerSecond;
    line(`r${round} new conns 2x haproxy`, cy, cy);
    for (const [name, tun] of order) {
      let rps = 0;
      const cpu = await tun.measure(async () => {
        rps = (await wrk(url(tun.http), undefined, close)).requestsPerSecond;
        return rps * SECONDS;
      });
      line(`r${round} new conns ${name}`, rps, cy, cpu);
    }
  }
}
