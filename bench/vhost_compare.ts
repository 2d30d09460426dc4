/**
 * The HTTP vhost of this tree against an older one, rows interleaved in one
 * run (issue 14): HTTP keep-alive (`wrk -c50 -t2`) against a haproxy backend
 * that answers by itself, through each tree's vhost and tcp proxy (defaults:
 * TLS, tcpMux on), with two chained haproxy relays as the yardstick. Prints
 * requests/s, the ratio to the haproxy pair, p99, and the CPU time the
 * server and the client each spent per request (`/proc/PID/stat`), which
 * other load on the machine disturbs less than throughput. The last rows of
 * each round load both trees' vhosts at once ("paired"), so that load from
 * elsewhere weighs on both alike: their CPU per request compares best.
 *
 * ```sh
 * git archive main | tar -x -C /tmp/old
 * ROUNDS=3 BENCH_SECONDS=5 deno run -A bench/vhost_compare.ts /tmp/old
 * ```
 *
 * @module
 */

import { freePort } from "../tests/_harness.ts";
import { haproxyChain, wrk } from "./http_bench.ts";
import { haproxyBackend } from "./small_bench.ts";
import { spawnTreeTunnel } from "./_tree.ts";

const ROUNDS = Number(Deno.env.get("ROUNDS") ?? 2);
const SECONDS = Number(Deno.env.get("BENCH_SECONDS") ?? 5);
const HERE = new URL("../", import.meta.url).pathname;
const HOST = "bench.example.com";

/** A server and a client of the tree at `root`: an http vhost and a tcp proxy to `httpPort`. */
async function tunnel(root: string, httpPort: number) {
  const vhost = freePort();
  const tcp = freePort();
  const tree = await spawnTreeTunnel(
    root,
    `vhostHTTPPort = ${vhost}\n`,
    `[[proxies]]\nname = "web"\ntype = "http"\nlocalPort = ${httpPort}\n` +
      `customDomains = ["${HOST}"]\n` +
      `[[proxies]]\nname = "raw"\ntype = "tcp"\nlocalPort = ${httpPort}\nremotePort = ${tcp}\n`,
    ["web", "raw"],
    [vhost, tcp],
  );
  return Object.assign(tree, { vhost, tcp });
}

const older = Deno.args[0];
if (!older) throw new Error("usage: vhost_compare.ts /path/to/older/tree");
await using backend = await haproxyBackend();
if (!backend) throw new Error("needs haproxy");
await using chain = (await haproxyChain(backend.port))!;
await using oldTunnel = await tunnel(older, backend.port);
await using newTunnel = await tunnel(HERE, backend.port);
const trees = [["old", oldTunnel], ["new", newTunnel]] as const;
const url = (port: number) => `http://127.0.0.1:${port}/`;
const line = (
  what: string,
  r: { requestsPerSecond: number; p99Ms: number },
  yard: number,
  cpu?: { server: number; serverUser: number; client: number },
) =>
  console.log(
    `${what.padEnd(26)} ${r.requestsPerSecond.toFixed(0).padStart(7)} /s  ${
      (r.requestsPerSecond / yard).toFixed(2)
    } of 2x haproxy  p99 ${r.p99Ms.toFixed(1).padStart(5)} ms` +
      (cpu
        ? `  CPU µs/req server ${cpu.server.toFixed(1)} (user ${cpu.serverUser.toFixed(1)})` +
          ` client ${cpu.client.toFixed(1)}`
        : "") +
      `  (load ${Deno.loadavg()[0].toFixed(1)})`,
  );
for (let round = 0; round < ROUNDS; round++) {
  // Each round flips which tree goes first, so neither always gets the warmer machine.
  const order = round % 2 === 0 ? trees : [...trees].reverse();
  const yard = await wrk(url(chain.port));
  line(`r${round} 2x haproxy`, yard, yard.requestsPerSecond);
  for (const kind of ["vhost", "tcp"] as const) {
    for (const [name, tun] of order) {
      let r = { requestsPerSecond: 0, p99Ms: 0 };
      const cpu = await tun.measure(async () => {
        r = await wrk(url(tun[kind]), kind === "vhost" ? HOST : undefined);
        return r.requestsPerSecond * SECONDS;
      });
      line(`r${round} ${kind} ${name}`, r, yard.requestsPerSecond, cpu);
    }
  }
  // Both trees' vhosts loaded at the same time: whatever else the machine does
  // then weighs on both alike, so their CPU per request compares fairly.
  const paired = await Promise.all(order.map(async ([name, tun]) => {
    let r = { requestsPerSecond: 0, p99Ms: 0 };
    const cpu = await tun.measure(async () => {
      r = await wrk(url(tun.vhost), HOST);
      return r.requestsPerSecond * SECONDS;
    });
    return { name, r, cpu };
  }));
  for (const { name, r, cpu } of paired) {
    line(`r${round} vhost ${name} paired`, r, yard.requestsPerSecond, cpu);
  }
}
