/**
 * The QUIC transport (`transport.protocol = "quic"`) against its ceiling, in
 * one run on loopback: one connection echoing `BENCH_QUIC_MIB` MiB (default
 * 64) to a TCP echo directly, through a dfrp tcp proxy over the QUIC
 * transport, through the same proxy over plain TCP (tcpMux on), and over
 * Deno's QUIC with nothing of dfrp (`quic_peer.ts`, both congestion
 * controllers). `BENCH_QUIC_RUNS` runs each (default 2), interleaved; the best
 * counts. "CPU ms/MiB" is the user+system time of the dfrp server and client
 * (or of both QUIC peers) per MiB echoed.
 *
 * @example
 * ```ts
 * import { quicTransportBench } from "./quic_transport_bench.ts";
 * await quicTransportBench();
 * ```
 *
 * @module
 */

import { freePort, startClient, startServer, tempFile } from "../tests/_harness.ts";
import { makeCerts } from "../tests/_certs.ts";

const MiB = 1024 * 1024;
const BYTES = Number(Deno.env.get("BENCH_QUIC_MIB") ?? 64) * MiB;
const RUNS = Number(Deno.env.get("BENCH_QUIC_RUNS") ?? 2);
const NETNS = new URL("../tests/_netns.ts", import.meta.url).pathname;
const PEER = new URL("./quic_peer.ts", import.meta.url).pathname;

function cpuTicks(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

async function run(args: string[]): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
}

function loadavg(): string {
  return Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
}

/** Runs the comparison and prints a markdown table. */
export async function quicTransportBench(): Promise<void> {
  const echoPort = freePort();
  const echo = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", NETNS, "echo", String(echoPort)],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const certs = await makeCerts();
  const quicPort = freePort();
  const server = await startServer(
    `quicBindPort = ${quicPort}\ntransport.tls.certFile = "${certs.serverCert}"\n` +
      `transport.tls.keyFile = "${certs.serverKey}"`,
  );
  const proxy = (name: string, port: number, extra: string) =>
    startClient(
      `serverAddr = "127.0.0.1"\nserverPort = ${
        extra.includes("quic") ? quicPort : server.port
      }\n${extra}\n` +
        `[[proxies]]\nname = "${name}"\ntype = "tcp"\nlocalPort = ${echoPort}\nremotePort = ${port}\n`,
    );
  const quicRemote = freePort();
  const tcpRemote = freePort();
  const quicClient = await proxy(
    "quic",
    quicRemote,
    `transport.protocol = "quic"\ntransport.tls.trustedCaFile = "${certs.ca}"`,
  );
  const tcpClient = await proxy("tcp", tcpRemote, "transport.tls.enable = false");
  await quicClient.waitFor(/start proxy success/);
  await tcpClient.waitFor(/start proxy success/);
  const peers = new Map<string, { port: number; cert: string; child: Deno.ChildProcess }>();
  for (const cc of ["default", "low-latency"]) {
    const port = freePort();
    const cert = await tempFile("", "peer.pem");
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", PEER, "serve", String(port), cert, cc],
      stdout: "null",
      stderr: "null",
    }).spawn();
    peers.set(cc, { port, cert, child });
  }
  await new Promise((r) => setTimeout(r, 3000));
  const results = new Map<string, { mbit: number[]; cpu: number[] }>();
  const add = (name: string, mbit: number, ticks: number) => {
    const r = results.get(name) ?? { mbit: [], cpu: [] };
    r.mbit.push(mbit);
    r.cpu.push(ticks * 10 / (BYTES / MiB));
    results.set(name, r);
  };
  const load = loadavg();
  try {
    for (let i = 0; i < RUNS; i++) {
      const tcpPaths: Array<[string, number, number[]]> = [
        ["direct (TCP)", echoPort, []],
        ["dfrp tcp proxy, QUIC transport", quicRemote, [server.child.pid, quicClient.child.pid]],
        ["dfrp tcp proxy, plain TCP, tcpMux on", tcpRemote, [
          server.child.pid,
          tcpClient.child.pid,
        ]],
      ];
      for (const [name, port, pids] of tcpPaths) {
        const before = pids.reduce((n, p) => n + cpuTicks(p), 0);
        const out = await run([NETNS, "send", String(port), String(BYTES)]);
        const ticks = pids.reduce((n, p) => n + cpuTicks(p), 0) - before;
        const m = out.match(/sent=(\w+) got=(\w+) n=(\d+) ms=(\d+)/);
        if (!m || m[1] !== m[2] || Number(m[3]) !== BYTES) throw new Error(`${name}: ${out}`);
        add(name, BYTES * 8 / 1e6 / (Number(m[4]) / 1000), ticks);
      }
      for (const [cc, peer] of peers) {
        const before = cpuTicks(peer.child.pid);
        const out = await run([
          PEER,
          "send",
          "127.0.0.1",
          String(peer.port),
          String(BYTES),
          peer.cert,
          cc,
        ]);
        const m = out.match(/n=(\d+) ms=(\d+) cpuTicks=(\d+)/);
        if (!m || Number(m[1]) !== BYTES) throw new Error(`quic_peer: ${out}`);
        add(
          `raw Deno QUIC, congestionControl "${cc}"`,
          BYTES * 8 / 1e6 / (Number(m[2]) / 1000),
          cpuTicks(peer.child.pid) - before + Number(m[3]),
        );
      }
    }
  } finally {
    for (const p of peers.values()) p.child.kill("SIGKILL");
    echo.kill("SIGKILL");
    await quicClient.stop("SIGKILL");
    await tcpClient.stop("SIGKILL");
    await server.stop("SIGKILL");
  }
  const best = (name: string) => Math.max(...results.get(name)!.mbit);
  const direct = best("direct (TCP)");
  console.log(
    `\nQUIC transport on loopback, ${BYTES / MiB} MiB echoed, best of ${RUNS}; ` +
      `load ${load} → ${loadavg()}`,
  );
  console.log(
    "| path | Mbit/s each way (runs) | ratio of direct | CPU ms/MiB |\n| --- | --- | --- | --- |",
  );
  for (const [name, r] of results) {
    console.log(
      `| ${name} | ${best(name).toFixed(0)} (${r.mbit.map((m) => m.toFixed(0)).join(", ")}) | ` +
        `${(best(name) / direct).toFixed(2)} | ${
          name.startsWith("direct") ? "-" : Math.min(...r.cpu).toFixed(1)
        } |`,
    );
  }
}

if (import.meta.main) await quicTransportBench();
