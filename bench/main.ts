/**
 * `deno task bench`: dfrp against a direct connection, in one run.
 *
 * - single-stream TCP throughput (iperf3, 5 s): direct, then through the
 *   tunnel over every transport (tcpMux on and off, TLS and plain, WebSocket,
 *   wss, QUIC) and through OpenSSH's `ssh -R` as the yardstick for TLS;
 *   reported as ratios of direct and as the machine's CPU seconds per GB
 *   moved (every process counted, so the rows compare total work);
 * - memory and descriptors per idle tunneled connection (`idle_bench.ts`:
 *   1,000 and 10,000 connections through a tcp proxy);
 * - HTTP requests/s (`http_bench.ts`); small messages against yardsticks in
 *   the same run (`small_bench.ts`: HTTP with a haproxy backend, new
 *   connections/s, redis-benchmark); UDP loss (`udp_bench.ts`); cluster mode
 *   forwarded against same-node (`cluster_bench.ts`); the QUIC transport
 *   against raw Deno QUIC (`quic_transport_bench.ts`); and, as root, the NAT
 *   lab (`p2p_bench.ts`: xtcp, stcp, KCP and QUIC with loss).
 *
 * Needs `iperf3` on PATH (Debian's package; `ssh`/`sshd`, `wrk`, `haproxy`
 * for their rows). Figures go to stdout; copy them to docs/performance.md
 * with the date.
 *
 * @module
 */

import { freePort, startClient, startServer } from "../tests/_harness.ts";
import { makeCerts } from "../tests/_certs.ts";
import { reverseForward, type Sshd, sshdAvailable, startSshd } from "../tests/_sshd.ts";

const SECONDS = Number(Deno.env.get("BENCH_SECONDS") ?? 5);

/** Seconds of CPU the whole machine has spent busy (user, nice, system, irq, softirq). */
function machineBusySeconds(): number {
  const fields = Deno.readTextFileSync("/proc/stat").split("\n")[0].trim().split(/\s+/);
  const [user, nice, system, , , irq, softirq] = fields.slice(1).map(Number);
  return (user + nice + system + irq + softirq) / 100;
}

/** One iperf3 stream's rate, and the machine's CPU seconds per GB it moved. */
interface Stream {
  gbps: number;
  cpuPerGB: number;
}

/**
 * One iperf3 run, tried a second time if the first fails: iperf3's server
 * takes one test at a time and refuses the next control connection while it
 * still winds down the last one, which a tunnel's buffers can stretch.
 */
async function iperfRun(port: number, reverse = false): Promise<Stream> {
  try {
    return await iperfOnce(port, reverse);
  } catch {
    await new Promise((r) => setTimeout(r, 2000));
    return await iperfOnce(port, reverse);
  }
}

async function iperfOnce(port: number, reverse: boolean): Promise<Stream> {
  const args = ["-c", "127.0.0.1", "-p", String(port), "-t", String(SECONDS), "-J"];
  if (reverse) args.push("-R");
  const busyBefore = machineBusySeconds();
  const out = await new Deno.Command("iperf3", { args, stdout: "piped", stderr: "piped" }).output();
  const busy = machineBusySeconds() - busyBefore;
  if (!out.success) {
    throw new Error(`iperf3 failed: ${new TextDecoder().decode(out.stdout).slice(0, 500)}`);
  }
  const json = JSON.parse(new TextDecoder().decode(out.stdout));
  const bps = json.end?.sum_received?.bits_per_second;
  const bytes = json.end?.sum_received?.bytes;
  if (typeof bps !== "number") throw new Error(`iperf3 gave no result: ${json.error ?? "?"}`);
  return { gbps: bps / 1e9, cpuPerGB: busy / (bytes / 1e9) };
}

async function iperf(port: number, reverse = false): Promise<number> {
  return (await iperfRun(port, reverse)).gbps;
}

/** How a benchmark client reaches the server. */
interface Via {
  label: string;
  tcpMux: boolean;
  /** Extra client keys. */
  client?: string;
  /** Extra server keys; QUIC also needs the port it listens on. */
  server?: string;
  quicPort?: number;
}

async function tunnel(via: Via, localPort: number) {
  const server = await startServer(
    `transport.tcpMux = ${via.tcpMux}\ntransport.maxPoolCount = 100\n${via.server ?? ""}`,
  );
  const remotePort = freePort();
  const client = await startClient(`
serverAddr = "127.0.0.1"
serverPort = ${via.quicPort ?? server.port}
transport.tcpMux = ${via.tcpMux}
transport.poolCount = ${via.tcpMux ? 1 : 50}
${via.client ?? ""}
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

/** Every transport the client can use, TLS (the default) first. */
async function transports(): Promise<Via[]> {
  const certs = await makeCerts();
  const quicPort = freePort();
  return [
    { label: "tcpMux on,  tls      ", tcpMux: true },
    { label: "tcpMux off, tls      ", tcpMux: false },
    { label: "tcpMux on,  plain    ", tcpMux: true, client: "transport.tls.enable = false" },
    { label: "tcpMux off, plain    ", tcpMux: false, client: "transport.tls.enable = false" },
    { label: "websocket (tls in)   ", tcpMux: true, client: `transport.protocol = "websocket"` },
    { label: "wss                  ", tcpMux: true, client: `transport.protocol = "wss"` },
    {
      label: "quic                 ",
      tcpMux: true,
      quicPort,
      client: `transport.protocol = "quic"\ntransport.tls.trustedCaFile = "${certs.ca}"`,
      server: `quicBindPort = ${quicPort}\ntransport.tls.certFile = "${certs.serverCert}"\n` +
        `transport.tls.keyFile = "${certs.serverKey}"`,
    },
  ];
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
    for (const via of await transports()) {
      const t = await tunnel(via, port);
      try {
        const up = await iperfRun(t.remotePort);
        const down = await iperf(t.remotePort, true);
        console.log(
          `throughput ${via.label}: ${up.gbps.toFixed(2)} Gbit/s (ratio ${
            (up.gbps / direct).toFixed(2)
          }, machine ${up.cpuPerGB.toFixed(2)} CPU-s/GB), ` +
            `reverse ${down.toFixed(2)} Gbit/s (ratio ${(down / direct).toFixed(2)})`,
        );
      } catch (err) {
        console.log(`throughput ${via.label}: failed: ${(err as Error).message}`);
      } finally {
        await t.close();
      }
    }
    await sshBaseline(port, direct);
  } finally {
    iperfServer.kill("SIGKILL");
    await iperfServer.status;
  }
}

/**
 * The same stream through OpenSSH's `ssh -R`, the yardstick for TLS: with
 * aes128-gcm (the yardstick) and aes256-gcm, the cipher Deno's TLS
 * negotiates (TLS_AES_256_GCM_SHA384, not configurable), for a like-for-like row.
 */
async function sshBaseline(iperfPort: number, direct: number): Promise<void> {
  if (!sshdAvailable()) return console.log("throughput ssh -R: skipped (needs root and sshd)");
  await using sshd = await startSshd();
  for (const cipher of ["aes128-gcm", "aes256-gcm"]) {
    await sshTunnel(sshd, cipher, iperfPort, direct);
  }
}

async function sshTunnel(
  sshd: Sshd,
  cipher: string,
  iperfPort: number,
  direct: number,
): Promise<void> {
  await using forward = await reverseForward(sshd, iperfPort, `${cipher}@openssh.com`);
  const up = await iperfRun(forward.port);
  console.log(
    `throughput ssh -R ${cipher}:  ${up.gbps.toFixed(2)} Gbit/s (ratio ${
      (up.gbps / direct).toFixed(2)
    }, machine ${up.cpuPerGB.toFixed(2)} CPU-s/GB)`,
  );
}

if (import.meta.main) {
  console.log(
    `dfrp bench, Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} cores, ${
      new Date().toISOString()
    }`,
  );
  await throughput();
  await (await import("./idle_bench.ts")).idleBench();
  await (await import("./http_bench.ts")).httpBench();
  await (await import("./cluster_bench.ts")).clusterBench().catch((err) =>
    console.log(`cluster: skipped (${(err as Error).message})`)
  );
  await (await import("./quic_transport_bench.ts")).quicTransportBench();
  await (await import("./small_bench.ts")).smallBench();
  await (await import("./udp_bench.ts")).udpBench();
  if (Deno.uid?.() === 0) await (await import("./p2p_bench.ts")).p2pBench();
}
