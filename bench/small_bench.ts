/**
 * Small messages through the tunnel, each row as a ratio of a yardstick
 * measured in the same run (issue 14):
 *
 * - HTTP keep-alive (`wrk -c50 -t2`) against a backend that costs almost no
 *   CPU (haproxy answering with `http-request return`), so the figure
 *   measures the relays: direct, dfrp tcp proxy, dfrp vhost, and two chained
 *   haproxy relays (the yardstick);
 * - new TCP connections per second (`wrk -H 'Connection: close'`, one
 *   request per connection) against the same backend: direct, two haproxy
 *   relays, `ssh -R` (as root, with sshd) and a dfrp tcp proxy;
 * - `redis-benchmark -c 50 -t set,get`, plain and with `-P 16`: redis-server
 *   directly, through two haproxy relays and through a dfrp tcp proxy.
 *
 * dfrp runs with its defaults (TLS, tcpMux on). A row whose tool is missing
 * says so and is skipped. `BENCH_SECONDS` sets wrk's duration,
 * `BENCH_REDIS_N` redis-benchmark's request count.
 *
 * @example
 * ```ts
 * import { smallBench } from "./small_bench.ts";
 * await smallBench();
 * ```
 *
 * @module
 */

import { freePort } from "../tests/_harness.ts";
import { startRedis } from "../tests/_cluster.ts";
import { reverseForward, sshdAvailable, startSshd } from "../tests/_sshd.ts";
import { haproxyChain, webTunnel, wrk, type WrkResult } from "./http_bench.ts";

const REDIS_N = Number(Deno.env.get("BENCH_REDIS_N") ?? 100_000);

function load(): string {
  return `load ${Deno.loadavg()[0].toFixed(1)}`;
}

/**
 * Spawns `cmd` with its output discarded; null when it is not installed.
 *
 * @example
 * ```ts
 * import { spawnQuiet } from "./small_bench.ts";
 * spawnQuiet("haproxy", ["-v"])?.kill();
 * ```
 */
export function spawnQuiet(cmd: string, args: string[]): Deno.ChildProcess | null {
  try {
    return new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).spawn();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  }
}

/**
 * Resolves once something accepts TCP connections on `port` (10 s at most).
 *
 * @example
 * ```ts
 * import { waitConnectable } from "./small_bench.ts";
 * await waitConnectable(6379);
 * ```
 */
export async function waitConnectable(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`nothing listens on ${port}`);
}

/**
 * haproxy answering every request itself (HTTP mode, `http-request return`);
 * null without haproxy.
 *
 * @example
 * ```ts
 * import { haproxyBackend } from "./small_bench.ts";
 * await using backend = await haproxyBackend();
 * console.log(backend?.port);
 * ```
 */
export async function haproxyBackend() {
  const dir = await Deno.makeTempDir({ prefix: "dfrp-bench-backend-" });
  const port = freePort();
  await Deno.writeTextFile(
    `${dir}/backend.cfg`,
    `global\n  nbthread 1\ndefaults\n  mode http\n  timeout client 30s\n` +
      `frontend f\n  bind 127.0.0.1:${port}\n` +
      `  http-request return status 200 content-type text/plain string "hello from the backend"\n`,
  );
  const child = spawnQuiet("haproxy", ["-db", "-f", `${dir}/backend.cfg`]);
  if (!child) return null;
  await waitConnectable(port);
  return {
    port,
    async [Symbol.asyncDispose]() {
      child.kill("SIGKILL");
      await child.status;
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** `ssh -R remotePort:127.0.0.1:port` to a throwaway sshd; null when not root or no sshd. */
async function sshForward(port: number) {
  if (!sshdAvailable()) return null;
  const sshd = await startSshd();
  const forward = await reverseForward(sshd, port);
  return {
    port: forward.port,
    async [Symbol.asyncDispose]() {
      await forward[Symbol.asyncDispose]();
      await sshd[Symbol.asyncDispose]();
    },
  };
}

function row(kind: string, label: string, rps: number, yardstick: number, extra = ""): void {
  console.log(
    `${kind} ${label.padEnd(12)} ${rps.toFixed(0).padStart(7)} /s, ` +
      `${(rps / yardstick).toFixed(2)} of 2x haproxy${extra} (${load()})`,
  );
}

async function httpRows(): Promise<void> {
  await using backend = await haproxyBackend();
  if (!backend) return console.log("http (haproxy backend): skipped (no haproxy on PATH)");
  await using chain = (await haproxyChain(backend.port))!;
  await using tunnel = await webTunnel(backend.port);
  const url = (port: number) => `http://127.0.0.1:${port}/`;
  const tryWrk = async (u: string, host?: string, headers?: string[]) => {
    try {
      return await wrk(u, host, headers);
    } catch (err) {
      console.log(`  wrk ${u}: ${(err as Error).message.split("\n")[0]}`);
      return null;
    }
  };
  // Keep-alive requests: the relays' per-message cost.
  const yard = await tryWrk(url(chain.port));
  if (!yard) return;
  const p99 = (r: WrkResult) => `, p99 ${r.p99Ms.toFixed(2)} ms`;
  const direct = await tryWrk(url(backend.port));
  const tcp = await tryWrk(url(tunnel.remotePort));
  const vhost = await tryWrk(url(tunnel.vhostPort), "bench.example.com");
  const yps = yard.requestsPerSecond;
  if (direct) row("http/haproxy-backend", "direct:", direct.requestsPerSecond, yps, p99(direct));
  row("http/haproxy-backend", "2x haproxy:", yps, yps, p99(yard));
  if (tcp) row("http/haproxy-backend", "tcp proxy:", tcp.requestsPerSecond, yps, p99(tcp));
  if (vhost) row("http/haproxy-backend", "vhost:", vhost.requestsPerSecond, yps, p99(vhost));

  // One request per connection: the cost of a new tunneled connection.
  const close = ["Connection: close"];
  const cyard = await tryWrk(url(chain.port), undefined, close);
  if (!cyard) return;
  const cps = cyard.requestsPerSecond;
  const cdirect = await tryWrk(url(backend.port), undefined, close);
  const ctcp = await tryWrk(url(tunnel.remotePort), undefined, close);
  if (cdirect) row("new conns", "direct:", cdirect.requestsPerSecond, cps);
  row("new conns", "2x haproxy:", cps, cps);
  if (ctcp) row("new conns", "tcp proxy:", ctcp.requestsPerSecond, cps);
  await using ssh = await sshForward(backend.port);
  if (!ssh) return console.log("new conns ssh -R: skipped (needs root and sshd)");
  const cssh = await tryWrk(url(ssh.port), undefined, close);
  if (cssh) row("new conns", "ssh -R:", cssh.requestsPerSecond, cps);
}

/**
 * redis-benchmark's requests/s per test (`--csv`), e.g. { SET: 41000, GET: 43000 }.
 *
 * @example
 * ```ts
 * import { redisBenchmark } from "./small_bench.ts";
 * const { SET, GET } = await redisBenchmark(6379, 1);
 * ```
 */
export async function redisBenchmark(
  port: number,
  pipeline: number,
  n = pipeline > 1 ? REDIS_N * 4 : REDIS_N,
): Promise<Record<string, number>> {
  const args = [
    "-h",
    "127.0.0.1",
    "-p",
    String(port),
    "-c",
    "50",
    "-t",
    "set,get",
    "-n",
    String(n),
    "-P",
    String(pipeline),
    "--csv",
  ];
  const out = await new Deno.Command("redis-benchmark", { args, stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder().decode(out.stdout);
  const result: Record<string, number> = {};
  for (const m of text.matchAll(/^"(SET|GET)","([\d.]+)"/gm)) result[m[1]] = Number(m[2]);
  if (!out.success || !result.SET || !result.GET) {
    throw new Error(`redis-benchmark failed: ${text.slice(0, 300)}`);
  }
  return result;
}

async function redisRows(): Promise<void> {
  const redis = await startRedis().catch((err) => {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  });
  if (!redis) return console.log("redis: skipped (no redis-server on PATH)");
  const port = redis.port;
  try {
    await using chain = await haproxyChain(port);
    await using tunnel = await webTunnel(port);
    for (const pipeline of [1, 16]) {
      const label = pipeline > 1 ? ` -P ${pipeline}` : "";
      try {
        const direct = await redisBenchmark(port, pipeline);
        const yard = chain ? await redisBenchmark(chain.port, pipeline) : null;
        const tcp = await redisBenchmark(tunnel.remotePort, pipeline);
        for (const t of ["SET", "GET"]) {
          const of = (n: number) =>
            `${(n / direct[t]).toFixed(2)} of direct` +
            (yard ? `, ${(n / yard[t]).toFixed(2)} of 2x haproxy` : "");
          console.log(`redis${label} ${t} direct:     ${direct[t].toFixed(0).padStart(7)} /s`);
          if (yard) {
            console.log(
              `redis${label} ${t} 2x haproxy: ${yard[t].toFixed(0).padStart(7)} /s, ${
                (yard[t] / direct[t]).toFixed(2)
              } of direct`,
            );
          }
          console.log(
            `redis${label} ${t} tcp proxy:  ${tcp[t].toFixed(0).padStart(7)} /s, ${
              of(tcp[t])
            } (${load()})`,
          );
        }
      } catch (err) {
        if (err instanceof Deno.errors.NotFound) {
          return console.log("redis: skipped (no redis-benchmark on PATH)");
        }
        console.log(`redis${label}: failed: ${(err as Error).message}`);
      }
    }
  } finally {
    await redis.kill();
  }
}

/**
 * Prints every row; see the module doc.
 *
 * @example
 * ```ts
 * import { smallBench } from "./small_bench.ts";
 * await smallBench();
 * ```
 */
export async function smallBench(): Promise<void> {
  await httpRows();
  await redisRows();
}

if (import.meta.main) await smallBench();
