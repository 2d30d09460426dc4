/**
 * `deno task bench`: dfrp against a direct connection, in one run.
 *
 * - single-stream TCP throughput (iperf3, 5 s): direct, through the tunnel
 *   with tcpMux on, and with tcpMux off; reported as ratios of direct;
 * - memory per idle tunneled connection: RSS of the server and the client
 *   before and after opening 1,000 connections through a tcp proxy.
 *
 * Needs `iperf3` on PATH (Debian's package). Figures go to stdout; copy them
 * to docs/performance.md with the date.
 *
 * @module
 */

import { echoServer, freePort, startClient, startServer } from "../tests/_harness.ts";

const SECONDS = Number(Deno.env.get("BENCH_SECONDS") ?? 5);
const IDLE_CONNS = Number(Deno.env.get("BENCH_IDLE_CONNS") ?? 1000);

async function iperf(port: number, reverse = false): Promise<number> {
  const args = ["-c", "127.0.0.1", "-p", String(port), "-t", String(SECONDS), "-J"];
  if (reverse) args.push("-R");
  const out = await new Deno.Command("iperf3", { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`iperf3 failed: ${new TextDecoder().decode(out.stdout).slice(0, 500)}`);
  }
  const json = JSON.parse(new TextDecoder().decode(out.stdout));
  const bps = json.end?.sum_received?.bits_per_second;
  if (typeof bps !== "number") throw new Error(`iperf3 gave no result: ${json.error ?? "?"}`);
  return bps / 1e9;
}

function rssKiB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(status.match(/VmRSS:\s+(\d+) kB/)![1]);
}

async function tunnel(tcpMux: boolean, localPort: number, tls = true) {
  const server = await startServer(`transport.tcpMux = ${tcpMux}\ntransport.maxPoolCount = 100`);
  const remotePort = freePort();
  const client = await startClient(`
serverAddr = "127.0.0.1"
serverPort = ${server.port}
transport.tcpMux = ${tcpMux}
transport.poolCount = ${tcpMux ? 1 : 50}
transport.tls.enable = ${tls}
[[proxies]]
name = "bench"
type = "tcp"
localPort = ${localPort}
remotePort = ${remotePort}
`);
  await client.waitFor(/\[bench\] start proxy success/);
  return {
    server,
    client,
    remotePort,
    async close() {
      await client.stop("SIGKILL");
      await server.stop("SIGKILL");
    },
  };
}

async function throughput(): Promise<void> {
  const port = freePort();
  const iperfServer = new Deno.Command("iperf3", {
    args: ["-s", "-p", String(port)],
    stdout: "null",
    stderr: "null",
  }).spawn();
  await new Promise((r) => setTimeout(r, 500));
  try {
    const direct = await iperf(port);
    console.log(`throughput direct:            ${direct.toFixed(2)} Gbit/s`);
    // TLS is the default; the plain row shows what it costs.
    for (const [tcpMux, tls] of [[true, true], [false, true], [true, false]]) {
      const t = await tunnel(tcpMux, port, tls);
      try {
        const up = await iperf(t.remotePort);
        const down = await iperf(t.remotePort, true);
        const label = `tunnel tcpMux ${tcpMux ? "on " : "off"} ${tls ? "tls  " : "plain"}`;
        console.log(
          `throughput ${label}:   ${up.toFixed(2)} Gbit/s (ratio ${(up / direct).toFixed(2)}), ` +
            `reverse ${down.toFixed(2)} Gbit/s (ratio ${(down / direct).toFixed(2)})`,
        );
      } finally {
        await t.close();
      }
    }
  } finally {
    iperfServer.kill("SIGKILL");
    await iperfServer.status;
  }
}

async function idleMemory(): Promise<void> {
  using echo = echoServer();
  for (const tcpMux of [true, false]) {
    const t = await tunnel(tcpMux, echo.port);
    const conns: Deno.Conn[] = [];
    try {
      await new Promise((r) => setTimeout(r, 1000));
      const before = [rssKiB(t.server.child.pid), rssKiB(t.client.child.pid)];
      for (let i = 0; i < IDLE_CONNS; i++) {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port: t.remotePort });
        conns.push(conn);
        // One echo round trip proves the connection is tunneled end to end.
        await conn.write(new Uint8Array([i & 0xff]));
        await conn.read(new Uint8Array(1));
      }
      await new Promise((r) => setTimeout(r, 2000));
      const after = [rssKiB(t.server.child.pid), rssKiB(t.client.child.pid)];
      const per = after.map((a, i) => ((a - before[i]) / IDLE_CONNS).toFixed(1));
      console.log(
        `memory, ${IDLE_CONNS} idle connections, tcpMux ${tcpMux ? "on " : "off"}: ` +
          `server +${per[0]} KiB/conn (RSS ${after[0]} KiB), client +${per[1]} KiB/conn (RSS ${
            after[1]
          } KiB)`,
      );
    } finally {
      for (const c of conns) c.close();
      await t.close();
    }
  }
}

if (import.meta.main) {
  console.log(
    `dfrp bench, Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} cores, ${
      new Date().toISOString()
    }`,
  );
  await throughput();
  await idleMemory();
  await (await import("./http_bench.ts")).httpBench();
  if (Deno.uid?.() === 0) await (await import("./p2p_bench.ts")).p2pBench();
}
