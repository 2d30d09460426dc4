/**
 * UDP through a udp proxy: `iperf3 -u -l 1200` at several rates, direct and
 * through the tunnel (defaults, tcpMux on), loss % as iperf3's receiver
 * reports it; plus the kernel's UDP receive-buffer drops (`UdpRcvbufErrors`
 * from `/proc/net/snmp`) during each run, which tell a socket that overflowed
 * from datagrams lost elsewhere. iperf3's control connection is TCP on the
 * same port, so the client runs a tcp and a udp proxy on one `remotePort`.
 * Needs `iperf3` on PATH. `BENCH_UDP_RATES` (Mbit/s, comma separated) and
 * `BENCH_UDP_SECONDS` change the runs.
 *
 * As root, the rates run a second time with the kernel's default socket
 * receive buffer (`net.core.rmem_default`) raised to `BENCH_UDP_RMEM` bytes
 * (default 4 MiB, `0` skips it), with a fresh server and client so their
 * sockets get it, and the old value restored afterwards. Deno cannot set
 * `SO_RCVBUF` on one socket, so this is the operator's lever; both values are
 * printed. The setting is machine-wide: iperf3's own sockets get it too.
 * "server backlog drops" are datagrams the server itself dropped because the
 * work connection had 1 MiB queued (from its debug log, to within 1,000).
 *
 * @example
 * ```ts
 * import { udpBench } from "./udp_bench.ts";
 * await udpBench();
 * ```
 *
 * @module
 */

import { freePort, startClient, startServer } from "../tests/_harness.ts";
import { cpuSeconds } from "./_proc_cpu.ts";

const RATES = (Deno.env.get("BENCH_UDP_RATES") ?? "50,100,200").split(",").map(Number);
const SECONDS = Number(Deno.env.get("BENCH_UDP_SECONDS") ?? 3);
const RAISED_RMEM = Number(Deno.env.get("BENCH_UDP_RMEM") ?? 4 * 1024 * 1024);
const RMEM_DEFAULT = "/proc/sys/net/core/rmem_default";

/** The kernel's default receive buffer for new sockets, bytes. */
export function rmemDefault(): number {
  return Number(Deno.readTextFileSync(RMEM_DEFAULT).trim());
}

/** One iperf3 UDP run's figures. */
export interface UdpRun {
  mbps: number;
  lostPercent: number;
  /** Datagrams that reached iperf3's receiver. */
  delivered: number;
  /** Datagrams the kernel dropped on full UDP receive buffers meanwhile (whole machine). */
  rcvbufErrors: number;
}

/** `UdpRcvbufErrors` summed over UDP and UDP-Lite for IPv4 (whole machine). */
export function udpRcvbufErrors(): number {
  const lines = Deno.readTextFileSync("/proc/net/snmp").split("\n");
  const head = lines.find((l) => l.startsWith("Udp: "))!.split(/\s+/);
  const vals = lines.filter((l) => l.startsWith("Udp: "))[1].split(/\s+/);
  return Number(vals[head.indexOf("RcvbufErrors")]);
}

async function iperfUdp(port: number, mbit: number): Promise<UdpRun> {
  const args = [
    "-c",
    "127.0.0.1",
    "-p",
    String(port),
    "-u",
    "-l",
    "1200",
    "-b",
    `${mbit}M`,
    "-t",
    String(SECONDS),
    "-J",
  ];
  const before = udpRcvbufErrors();
  let out = await new Deno.Command("iperf3", { args, stdout: "piped", stderr: "piped" }).output();
  for (let retry = 0; retry < 3 && !out.success; retry++) {
    // iperf3's server refuses a test while it still winds down the last one.
    await new Promise((r) => setTimeout(r, 2000));
    out = await new Deno.Command("iperf3", { args, stdout: "piped", stderr: "piped" }).output();
  }
  const rcvbufErrors = udpRcvbufErrors() - before;
  const json = JSON.parse(new TextDecoder().decode(out.stdout) || "{}");
  const sum = json.end?.sum;
  if (!out.success || typeof sum?.lost_percent !== "number") {
    throw new Error(`iperf3 -u failed: ${json.error ?? "no result"}`);
  }
  return {
    mbps: sum.bits_per_second / 1e6,
    lostPercent: sum.lost_percent,
    delivered: sum.packets - sum.lost_packets,
    rcvbufErrors,
  };
}

/**
 * Datagrams the server dropped itself (work connection backlog full) so far,
 * to within 1,000: its debug log reports every 1,000th.
 */
function backlogDrops(output: string): number {
  let last = 0;
  for (const m of output.matchAll(/backlog full \((\d+) so far\)/g)) last = Number(m[1]);
  return last;
}

function line(label: string, mbit: number, r: UdpRun, cpu = ""): void {
  console.log(
    `udp ${label} ${String(mbit).padStart(3)} Mbit/s: received ${r.mbps.toFixed(1)} Mbit/s, ` +
      `loss ${r.lostPercent.toFixed(2)}%, kernel rcvbuf drops ${r.rcvbufErrors}${cpu} ` +
      `(load ${Deno.loadavg()[0].toFixed(1)})`,
  );
}

/**
 * Prints loss at each rate, direct and through a udp proxy, rows interleaved;
 * as root once more with `net.core.rmem_default` raised (restored afterwards).
 *
 * @example
 * ```ts
 * import { udpBench } from "./udp_bench.ts";
 * await udpBench();
 * ```
 */
export async function udpBench(): Promise<void> {
  const port = freePort();
  let iperfServer: Deno.ChildProcess;
  try {
    iperfServer = new Deno.Command("iperf3", {
      args: ["-s", "-p", String(port)],
      stdout: "null",
      stderr: "null",
    }).spawn();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return console.log("udp: skipped (no iperf3)");
    throw err;
  }
  const original = rmemDefault();
  try {
    await round(port, original);
    if (RAISED_RMEM > original && Deno.uid() === 0) {
      try {
        Deno.writeTextFileSync(RMEM_DEFAULT, String(RAISED_RMEM));
      } catch (err) {
        console.log(`udp: rmem_default not raised: ${(err as Error).message}`);
      }
      if (rmemDefault() === RAISED_RMEM) await round(port, RAISED_RMEM);
    }
  } finally {
    if (rmemDefault() !== original) Deno.writeTextFileSync(RMEM_DEFAULT, String(original));
    console.log(`udp: net.core.rmem_default is ${rmemDefault()} again`);
    iperfServer.kill("SIGKILL");
    await iperfServer.status;
  }
}

/** Every rate, direct and through a fresh server and client (whose sockets get `rmem`). */
async function round(port: number, rmem: number): Promise<void> {
  console.log(`udp: net.core.rmem_default = ${rmem}`);
  // Debug logs carry the server's own drop count ("… (N so far)", every 1,000th drop).
  const server = await startServer(`log.level = "debug"`);
  const remotePort = freePort();
  const client = await startClient(`
serverAddr = "127.0.0.1"
serverPort = ${server.port}
[[proxies]]
name = "iperf-control"
type = "tcp"
localPort = ${port}
remotePort = ${remotePort}
[[proxies]]
name = "iperf-data"
type = "udp"
localPort = ${port}
remotePort = ${remotePort}
`);
  try {
    await client.waitFor(/\[iperf-data\] start proxy success/);
    await new Promise((r) => setTimeout(r, 500));
    for (const mbit of RATES) {
      try {
        line("direct:   ", mbit, await iperfUdp(port, mbit));
        const pids = [server.child.pid, client.child.pid];
        const cpu0 = pids.map(cpuSeconds);
        const dropsBefore = backlogDrops(server.output);
        const r = await iperfUdp(remotePort, mbit);
        // CPU per datagram delivered, server and client: steadier than loss on a busy machine.
        const us = pids.map((p, i) => ((cpuSeconds(p) - cpu0[i]) * 1e6 / r.delivered).toFixed(1));
        const drops = backlogDrops(server.output) - dropsBefore;
        line(
          "udp proxy:",
          mbit,
          r,
          `, server backlog drops ${drops ? `~${drops}` : 0}` +
            `, CPU per delivered datagram server ${us[0]} µs, client ${us[1]} µs`,
        );
      } catch (err) {
        console.log(`udp ${mbit} Mbit/s: failed: ${(err as Error).message}`);
      }
    }
  } finally {
    await client.stop("SIGKILL");
    await server.stop("SIGKILL");
  }
}

if (import.meta.main) await udpBench();
