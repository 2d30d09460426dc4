/**
 * xtcp in the NAT lab (`tests/_netns.ts`, needs root): echo throughput of
 * one connection peer to peer (QUIC over the punched path) against the same
 * service through the server (stcp), both hosts behind MASQUERADE routers;
 * and peer to peer again with 5% UDP loss on both routers. Figures go to
 * stdout; copy them to docs/p2p.md.
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

/** Runs the lab benchmark, or says why not. */
export async function p2pBench(): Promise<void> {
  if (!(await labAvailable())) {
    console.log("p2p lab: skipped (needs root, ip netns and iptables)");
    return;
  }
  await run(0);
  await run(0.05);
}

if (import.meta.main) await p2pBench();
