/**
 * xtcp in the NAT lab (`tests/_netns.ts`, needs root), every path in one run
 * so the ratios hold on a busy machine: one connection echoing `BENCH_P2P_MIB`
 * MiB (default 32) from host a to a TCP echo on host b
 *
 * - direct: host a to host b through both routers (a port forward on router
 *   b stands in for the punched hole), no dfrp;
 * - via server (stcp): dfrp client → server → dfrp client;
 * - p2p (xtcp): dfrp visitor ⇄ owner, QUIC over the punched UDP path, once
 *   per congestion controller (`DFRP_XTCP_CC`, one client pair each; on a
 *   lossy path the punch's loss probes pick BBR whatever it says, and the
 *   row names what was measured and picked);
 * - raw QUIC: Deno's QUIC with nothing of dfrp (`quic_peer.ts`), on the same
 *   links, the ceiling of xtcp, once per congestion controller;
 *
 * then, in a second lab whose routers drop 5% of forwarded UDP packets (≈10%
 * end to end per direction), xtcp and raw QUIC again. Each path runs
 * `BENCH_P2P_RUNS` times (default 2), interleaved; the best run counts.
 * "CPU ms/MiB" is the user+system time of the processes in the path (dfrp
 * server and clients, or both QUIC peers; not the echo or the sender) per
 * MiB echoed — it does not depend on the machine's load the way Mbit/s does.
 * Then the UDP transports between client and server (`transport.protocol =
 * "kcp"` and `"quic"`) on the same lossy links: a tcp proxy on the server,
 * echoed by a client behind router b, without loss and with 5%.
 * Figures go to stdout; copy them to docs/performance.md.
 *
 * @example
 * ```ts
 * import { p2pBench } from "./p2p_bench.ts";
 * await p2pBench();
 * ```
 *
 * @module
 */

import { labAvailable, NatLab, PUBLIC_A, PUBLIC_B } from "../tests/_netns.ts";
import { tempFile } from "../tests/_harness.ts";
import { makeCerts } from "../tests/_certs.ts";

const MiB = 1024 * 1024;
const BYTES = Number(Deno.env.get("BENCH_P2P_MIB") ?? 32) * MiB;
const RUNS = Number(Deno.env.get("BENCH_P2P_RUNS") ?? 2);
const ROUTER_B_WAN = "100.64.2.2";
const CCS = ["default", "low-latency"] as const;

/** Clock ticks of user+system time `pid` has used so far (0 once it is gone). */
function cpuTicks(pid: number): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

interface Sample {
  mbit: number;
  cpuMsPerMiB: number;
}

/** A router-b port forward to host b, as the punched hole is for xtcp. */
async function forward(lab: NatLab, proto: "tcp" | "udp", port: number, loss: boolean) {
  const wan = `${lab.id}wb`;
  const ipt = (...args: string[]) => lab.exec(lab.ns.routerB, ["iptables", ...args]);
  await ipt(
    "-t",
    "nat",
    "-A",
    "PREROUTING",
    "-i",
    wan,
    "-p",
    proto,
    "--dport",
    String(port),
    "-j",
    "DNAT",
    "--to-destination",
    `10.99.2.2:${port}`,
  );
  // After the loss rule, if any: forwarded packets are dropped like the tunnel's.
  await ipt(
    "-I",
    "FORWARD",
    loss ? "2" : "1",
    "-i",
    wan,
    "-p",
    proto,
    "--dport",
    String(port),
    "-j",
    "ACCEPT",
  );
}

async function lab(loss: number): Promise<Map<string, Sample[]>> {
  const results = new Map<string, Sample[]>();
  const add = (name: string, s: Sample) => results.set(name, [...(results.get(name) ?? []), s]);
  await using lab = await NatLab.create({ udpLoss: loss });
  const server = await lab.server(`bindPort = 7000\nauth.token = "t"`);
  await lab.echo(lab.ns.hostB, 9000, false, "0.0.0.0");
  await forward(lab, "tcp", 9000, loss > 0);
  const raw = new Map<string, { port: number; pid: number; cert: string }>();
  for (const [i, cc] of CCS.entries()) {
    const port = 7100 + i;
    const certFile = await tempFile("", "peer.pem");
    const peer = lab.spawn(lab.ns.hostB, "bench/quic_peer.ts", [
      "serve",
      String(port),
      certFile,
      cc,
    ], "quic_peer");
    await peer.waitFor(/quic echo listening/);
    await forward(lab, "udp", port, loss > 0);
    raw.set(cc, { port, pid: peer.child.pid, cert: certFile });
  }
  // One owner/visitor pair per congestion controller of the tunnel (the
  // clients read DFRP_XTCP_CC at start); the first pair also carries stcp.
  const dfrp = [server.child.pid];
  const tcpPaths: Array<[string, number, string, number[]]> = [
    ["direct (TCP, no dfrp)", 9000, ROUTER_B_WAN, []],
    ["via server (stcp)", 6001, "127.0.0.1", dfrp],
  ];
  for (const [i, cc] of CCS.entries()) {
    Deno.env.set("DFRP_XTCP_CC", cc);
    const types = i === 0 ? ["xtcp", "stcp"] : ["xtcp"];
    const owner = await lab.client(
      lab.ns.hostB,
      `serverAddr = "${PUBLIC_B}"\nserverPort = 7000\nauth.token = "t"\n` +
        types.map((type) =>
          `[[proxies]]\nname = "${type}${i}"\ntype = "${type}"\nsecretKey = "k"\nlocalPort = 9000\n`
        ).join(""),
    );
    await owner.waitFor(/start proxy success/);
    const vis = await lab.client(
      lab.ns.hostA,
      `serverAddr = "${PUBLIC_A}"\nserverPort = 7000\nauth.token = "t"\n` +
        types.map((type) =>
          `[[visitors]]\nname = "v-${type}${i}"\ntype = "${type}"\nserverName = "${type}${i}"\n` +
          `secretKey = "k"\nbindPort = ${type === "xtcp" ? 6000 + 2 * i : 6001}\n` +
          (type === "xtcp" ? "keepTunnelOpen = true\n" : "")
        ).join(""),
    );
    const open = await vis.waitFor(/open \(peer to peer\)(?:; (\d+)% .*control (\w+))?/, 30_000);
    const picked = open[2] ? `, ${open[1]}% probe loss → ${open[2]}` : "";
    const pids = [server.child.pid, owner.child.pid, vis.child.pid];
    if (i === 0) dfrp.push(owner.child.pid, vis.child.pid);
    tcpPaths.push([`p2p (xtcp), DFRP_XTCP_CC=${cc}${picked}`, 6000 + 2 * i, "127.0.0.1", pids]);
  }
  Deno.env.delete("DFRP_XTCP_CC");
  for (let run = 0; run < RUNS; run++) {
    for (const [name, port, host, pids] of tcpPaths) {
      if (loss && !name.startsWith("p2p")) continue;
      const before = pids.reduce((n, pid) => n + cpuTicks(pid), 0);
      const r = await lab.send(lab.ns.hostA, port, BYTES, host);
      const ticks = pids.reduce((n, pid) => n + cpuTicks(pid), 0) - before;
      if (r.got !== r.sent || r.n !== BYTES) throw new Error(`${name}: echo mismatch`);
      add(name, { mbit: BYTES * 8 / 1e6 / (r.ms / 1000), cpuMsPerMiB: ticks * 10 / (BYTES / MiB) });
    }
    for (const [cc, { port, pid, cert }] of raw) {
      const before = cpuTicks(pid);
      const out = await lab.exec(lab.ns.hostA, [
        Deno.execPath(),
        "run",
        "-A",
        "--quiet",
        new URL("./quic_peer.ts", import.meta.url).pathname,
        "send",
        ROUTER_B_WAN,
        String(port),
        String(BYTES),
        cert,
        cc,
      ]);
      const m = out.match(/n=(\d+) ms=(\d+) cpuTicks=(\d+)/);
      if (!m || Number(m[1]) !== BYTES) throw new Error(`quic_peer send printed: ${out}`);
      const ticks = cpuTicks(pid) - before + Number(m[3]);
      add(`raw Deno QUIC, congestionControl "${cc}"`, {
        mbit: BYTES * 8 / 1e6 / (Number(m[2]) / 1000),
        cpuMsPerMiB: ticks * 10 / (BYTES / MiB),
      });
    }
  }
  return results;
}

function report(title: string, results: Map<string, Sample[]>): void {
  console.log(`\n${title}, ${BYTES / MiB} MiB echoed, best of ${RUNS}; load ${loadavg()}`);
  const best = (name: string) => Math.max(...results.get(name)!.map((s) => s.mbit));
  console.log(
    "| path | Mbit/s each way (runs) | ratio of direct | ratio of stcp | CPU ms/MiB |\n" +
      "| --- | --- | --- | --- | --- |",
  );
  for (const [name, samples] of results) {
    const ratio = (of: string) => results.has(of) ? (best(name) / best(of)).toFixed(2) : "-";
    console.log(
      `| ${name} | ${best(name).toFixed(0)} (${
        samples.map((s) => s.mbit.toFixed(0)).join(", ")
      }) | ` +
        `${ratio("direct (TCP, no dfrp)")} | ${ratio("via server (stcp)")} | ` +
        `${
          name.startsWith("direct")
            ? "-"
            : Math.min(...samples.map((s) => s.cpuMsPerMiB)).toFixed(1)
        } |`,
    );
  }
}

function loadavg(): string {
  return Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
}

/**
 * Echo throughput of a tcp proxy whose client reaches the server over KCP
 * and over QUIC, both behind router b, with `loss` on both routers' UDP.
 * The sender runs in the server's namespace, so only the tunnel crosses the
 * lossy link.
 *
 * @example
 * ```ts
 * import { labTransports } from "./p2p_bench.ts";
 * await labTransports(0.05);
 * ```
 */
export async function labTransports(loss: number): Promise<void> {
  await using lab = await NatLab.create({ udpLoss: loss });
  const certs = await makeCerts();
  await lab.server(
    `bindPort = 7000\nkcpBindPort = 7000\nquicBindPort = 7001\nauth.token = "t"\n` +
      `transport.tls.certFile = "${certs.serverCert}"\ntransport.tls.keyFile = "${certs.serverKey}"`,
  );
  await lab.echo(lab.ns.hostB, 9000);
  const bytes = Math.min(BYTES, (loss ? 4 : 16) * MiB);
  const label = loss ? ` (${loss * 100}% UDP loss)` : "";
  for (const [protocol, serverPort, remotePort] of [["kcp", 7000, 6100], ["quic", 7001, 6101]]) {
    const client = await lab.client(
      lab.ns.hostB,
      `serverAddr = "${PUBLIC_B}"\nserverPort = ${serverPort}\nauth.token = "t"\n` +
        `transport.protocol = "${protocol}"\ntransport.tls.trustedCaFile = "${certs.ca}"\n` +
        `transport.tls.serverName = "localhost"\n` +
        `[[proxies]]\nname = "${protocol}"\ntype = "tcp"\nlocalPort = 9000\nremotePort = ${remotePort}\n`,
    );
    try {
      await client.waitFor(new RegExp(`\\[${protocol}\\] start proxy success`));
      const t0 = performance.now();
      const r = await lab.send(lab.ns.pub, remotePort as number, bytes);
      if (r.got !== r.sent || r.n !== bytes) throw new Error(`${protocol}: echo mismatch`);
      const mbit = (bytes * 8 / 1e6) / (r.ms / 1000);
      console.log(
        `lab transport ${protocol}${label}, ${bytes / MiB} MiB echoed: ${r.ms} ms, ` +
          `${mbit.toFixed(0)} Mbit/s each way (${
            ((performance.now() - t0) / 1000).toFixed(1)
          } s, ` +
          `load ${Deno.loadavg()[0].toFixed(1)})`,
      );
    } catch (err) {
      console.log(`lab transport ${protocol}${label}: failed: ${(err as Error).message}`);
    } finally {
      await client.stop("SIGKILL");
    }
  }
  await Deno.remove(certs.dir, { recursive: true });
}

/** Runs the lab benchmark, or says why not. */
export async function p2pBench(): Promise<void> {
  if (!(await labAvailable())) {
    console.log("p2p lab: skipped (needs root, ip netns and iptables)");
    return;
  }
  const startLoad = loadavg();
  console.log(`p2p lab: load at start ${startLoad}`);
  report("p2p lab, no loss", await lab(0));
  report("p2p lab, 5% UDP loss on each router", await lab(0.05));
  await labTransports(0);
  await labTransports(0.05);
}

if (import.meta.main) await p2pBench();
