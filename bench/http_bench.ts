/**
 * HTTP requests/s and p99 latency (`wrk -c50 -t2 -d5s --latency`) against
 * one small HTTP backend: direct, through a tcp proxy, and through the HTTP
 * vhost (`type = "http"`), all with tcpMux on; then through two chained
 * haproxy relays as a yardstick for what two extra processes cost here.
 * Needs `wrk` on PATH (Debian's package), and `haproxy` for the yardstick.
 * `BENCH_SECONDS` sets the duration.
 *
 * @example
 * ```ts
 * import { httpBench } from "./http_bench.ts";
 * await httpBench();
 * ```
 *
 * @module
 */

import { freePort, startClient, startServer } from "../tests/_harness.ts";

const SECONDS = Number(Deno.env.get("BENCH_SECONDS") ?? 5);

/** One wrk run's figures. */
export interface WrkResult {
  requestsPerSecond: number;
  p99Ms: number;
}

function toMs(value: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(value.trim());
  if (!m) return NaN;
  const n = Number(m[1]);
  return m[2] === "us" ? n / 1000 : m[2] === "s" ? n * 1000 : n;
}

/**
 * Runs wrk against `url` with an optional Host header.
 *
 * @example
 * ```ts
 * import { wrk } from "./http_bench.ts";
 * const { requestsPerSecond } = await wrk("http://127.0.0.1:8080/");
 * ```
 */
export async function wrk(
  url: string,
  host?: string,
  headers: string[] = [],
): Promise<WrkResult> {
  const args = ["-c50", "-t2", `-d${SECONDS}s`, "--latency", url];
  if (host) args.unshift("-H", `Host: ${host}`);
  for (const h of headers) args.unshift("-H", h);
  const out = await new Deno.Command("wrk", { args, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout);
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(text);
  const p99 = /^\s*99%\s+(\S+)/m.exec(text);
  if (!out.success || !rps || !p99) throw new Error(`wrk failed: ${text.slice(0, 500)}`);
  if (/Non-2xx/.test(text)) throw new Error(`wrk saw errors: ${text.slice(0, 500)}`);
  return { requestsPerSecond: Number(rps[1]), p99Ms: toMs(p99[1]) };
}

/**
 * Two chained haproxy relays (TCP mode, one thread each) in front of
 * `backendPort`: what any two extra relay processes cost on this machine,
 * the ceiling for a server plus a client. Returns null without haproxy.
 *
 * @example
 * ```ts
 * import { haproxyChain } from "./http_bench.ts";
 * await using chain = await haproxyChain(6379);
 * console.log(chain?.port);
 * ```
 */
export async function haproxyChain(
  backendPort: number,
): Promise<({ port: number } & AsyncDisposable) | null> {
  const dir = await Deno.makeTempDir({ prefix: "dfrp-bench-haproxy-" });
  const front = freePort(), middle = freePort();
  const config = (listen: number, to: number) =>
    `global\n  nbthread 1\ndefaults\n  mode tcp\n  timeout connect 5s\n  timeout client 30s\n` +
    `  timeout server 30s\nfrontend f\n  bind 127.0.0.1:${listen}\n  default_backend b\n` +
    `backend b\n  server s1 127.0.0.1:${to}\n`;
  const relays: Deno.ChildProcess[] = [];
  try {
    for (const [name, listen, to] of [["a", front, middle], ["b", middle, backendPort]] as const) {
      await Deno.writeTextFile(`${dir}/${name}.cfg`, config(listen, to));
      relays.push(
        new Deno.Command("haproxy", {
          args: ["-db", "-f", `${dir}/${name}.cfg`],
          stdout: "null",
          stderr: "null",
        }).spawn(),
      );
    }
  } catch (err) {
    for (const r of relays) r.kill("SIGKILL");
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  }
  await new Promise((r) => setTimeout(r, 500));
  return {
    port: front,
    async [Symbol.asyncDispose]() {
      for (const r of relays) {
        r.kill("SIGKILL");
        await r.status;
      }
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/**
 * A dfrp server and client (defaults) with a tcp proxy ("raw") and an http
 * vhost ("web", bench.example.com) to the backend on `port`; disposing stops
 * both.
 *
 * @example
 * ```ts
 * import { webTunnel } from "./http_bench.ts";
 * await using tunnel = await webTunnel(8080);
 * console.log(tunnel.remotePort, tunnel.vhostPort);
 * ```
 */
export async function webTunnel(port: number) {
  const vhostPort = freePort();
  const remotePort = freePort();
  const server = await startServer(`vhostHTTPPort = ${vhostPort}`);
  const client = await startClient(`
serverAddr = "127.0.0.1"
serverPort = ${server.port}
[[proxies]]
name = "web"
type = "http"
localPort = ${port}
customDomains = ["bench.example.com"]
[[proxies]]
name = "raw"
type = "tcp"
localPort = ${port}
remotePort = ${remotePort}
`);
  await client.waitFor(/\[web\] start proxy success/);
  await client.waitFor(/\[raw\] start proxy success/);
  return {
    remotePort,
    vhostPort,
    async [Symbol.asyncDispose]() {
      await client.stop("SIGKILL");
      await server.stop("SIGKILL");
    },
  };
}

/**
 * Prints requests/s and p99 for direct, tcp proxy and http vhost.
 *
 * @example
 * ```ts
 * import { httpBench } from "./http_bench.ts";
 * await httpBench();
 * ```
 */
export async function httpBench(): Promise<void> {
  const ac = new AbortController();
  const body = "hello from the backend\n".repeat(4);
  const backend = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {} },
    () => new Response(body),
  );
  try {
    // Disposed at the end of this block, before the backend stops.
    await using tunnel = await webTunnel(backend.addr.port);
    const { remotePort, vhostPort } = tunnel;
    const direct = await wrk(`http://127.0.0.1:${backend.addr.port}/`);
    const tcp = await wrk(`http://127.0.0.1:${remotePort}/`);
    const vhost = await wrk(`http://127.0.0.1:${vhostPort}/`, "bench.example.com");
    const line = (label: string, r: WrkResult) =>
      console.log(
        `http ${label} ${r.requestsPerSecond.toFixed(0).padStart(7)} req/s, p99 ${
          r.p99Ms.toFixed(2)
        } ms, ratio ${(r.requestsPerSecond / direct.requestsPerSecond).toFixed(2)}`,
      );
    line("direct:    ", direct);
    line("tcp proxy: ", tcp);
    line("vhost:     ", vhost);
    await using chain = await haproxyChain(backend.addr.port);
    if (chain) line("2x haproxy:", await wrk(`http://127.0.0.1:${chain.port}/`));
    else console.log("http 2x haproxy: skipped (no haproxy on PATH)");
  } finally {
    ac.abort();
    await backend.finished;
  }
}

if (import.meta.main) await httpBench();
