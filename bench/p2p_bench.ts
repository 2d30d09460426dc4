/**
 * xtcp in the NAT lab (`tests/_netns.ts`, needs root): echo throughput of
 * one connection peer to peer (QUIC over the punched path) against the same
 * service through the server (stcp), both hosts behind MASQUERADE routers;
 * and peer to peer again with 5% UDP loss on both routers. Then the UDP
 * transports between client and server (`transport.protocol = "kcp"` and
 * `"quic"`) on the same lossy links: a tcp proxy on the server, echoed by a
 * client behind router b, without loss and with 5%. Figures go to stdout;
 * copy them to docs/p2p.md and docs/performance.md.
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
import { makeCerts } from "../tests/_certs.ts";

const MiB = 1024 * 1024;
const BYTES = Number(Deno.env.get("BENCH_P2P_MIB") ?? 32) * MiB;

async function run(loss: number): Promise<void> {
  await using lab = await NatLab.create({ udpLoss: loss });
  await lab.server(`bindPort = 7000\nauth.token = "t"`);
  await lab.echo(lab.ns.hostB, 9000);
  const owner = await lab.client(
    lab.ns.hostB,
    `serverAddr = "${PUBLIC_B}"\nserverPort = 7000\nauth.token = "t"\n` +
      ["xtcp", "stcp"].map((type) =>
        `[[proxies]]\nname = "${type}"\ntype = "${type}"\nsecretKey = "k"\nlocalPort = 9000\n`
      ).join(""),
  );
  await owner.waitFor(/\[stcp\] start proxy success/);
  const vis = await lab.client(
    lab.ns.hostA,
    `serverAddr = "${PUBLIC_A}"\nserverPort = 7000\nauth.token = "t"\n` +
      [["xtcp", 6000], ["stcp", 6001]].map(([type, port]) =>
        `[[visitors]]\nname = "v-${type}"\ntype = "${type}"\nserverName = "${type}"\n` +
        `secretKey = "k"\nbindPort = ${port}\n${type === "xtcp" ? "keepTunnelOpen = true\n" : ""}`
      ).join(""),
  );
  await vis.waitFor(/open \(peer to peer\)/, 30_000);
  const label = loss ? ` (${loss * 100}% UDP loss)` : "";
  for (const [name, port] of [["p2p (xtcp)", 6000], ["via server (stcp)", 6001]] as const) {
    if (loss && port === 6001) continue;
    const r = await lab.send(lab.ns.hostA, port, BYTES);
    if (r.got !== r.sent || r.n !== BYTES) throw new Error(`${name}: echo mismatch`);
    const mbit = (BYTES * 8 / 1e6) / (r.ms / 1000);
    console.log(
      `p2p lab${label}, ${BYTES / MiB} MiB echoed through ${name}: ${r.ms} ms, ` +
        `${mbit.toFixed(0)} Mbit/s each way`,
    );
  }
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
  await run(0);
  await run(0.05);
  await labTransports(0);
  await labTransports(0.05);
}

if (import.meta.main) await p2pBench();
