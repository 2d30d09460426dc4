/**
 * The TLS tunnel against `ssh -R` aes256-gcm in one run: dfrp's defaults and
 * `transport.tls.force = true` from this tree, optionally the defaults of an
 * older tree too (e.g. `git archive <commit> | tar -x -C /tmp/old`), rows
 * interleaved over `ROUNDS` rounds, best of each. Reports throughput and the
 * CPU both dfrp processes spent per GB (`/proc/PID/stat`), which other load on
 * the machine disturbs less than throughput.
 *
 * ```sh
 * deno run -A bench/tls_compare.ts [/path/to/older/tree]
 * ```
 *
 * @module
 */

import { freePort } from "../tests/_harness.ts";
import { reverseForward, sshdAvailable, startSshd } from "../tests/_sshd.ts";
import { cpuSeconds, spawnTree as spawn } from "./_tree.ts";

const SECONDS = Number(Deno.env.get("BENCH_SECONDS") ?? 4);
const ROUNDS = Number(Deno.env.get("ROUNDS") ?? 2);
const HERE = new URL("../", import.meta.url).pathname;

interface Row {
  gbps: number;
  /** CPU seconds of the dfrp processes per GB moved; NaN for ssh. */
  cpuPerGB: number;
}

/** One iperf3 stream to `port`, tried twice (iperf3 refuses a test while it winds down the last). */
async function iperf(port: number): Promise<number> {
  for (let attempt = 0;; attempt++) {
    const out = await new Deno.Command("iperf3", {
      args: ["-c", "127.0.0.1", "-p", String(port), "-t", String(SECONDS), "-J"],
      stdout: "piped",
      stderr: "null",
    }).output();
    try {
      const bps = JSON.parse(new TextDecoder().decode(out.stdout)).end.sum_received.bits_per_second;
      if (typeof bps === "number") return bps / 1e9;
    } catch {
      // Retried below.
    }
    if (attempt > 0) throw new Error("iperf3 failed twice");
    await new Promise((r) => setTimeout(r, 2000));
  }
}

async function dfrp(root: string, serverExtra: string, iperfPort: number): Promise<Row> {
  const bindPort = freePort();
  const remotePort = freePort();
  const server = await spawn(root, "server.ts", `bindPort = ${bindPort}\n${serverExtra}`, /listen/);
  const client = await spawn(
    root,
    "client.ts",
    `serverAddr = "127.0.0.1"\nserverPort = ${bindPort}\n[[proxies]]\nname = "b"\ntype = "tcp"\n` +
      `localPort = ${iperfPort}\nremotePort = ${remotePort}\n`,
    /start proxy success/,
  );
  try {
    const before = cpuSeconds(server.pid) + cpuSeconds(client.pid);
    const gbps = await iperf(remotePort);
    const used = cpuSeconds(server.pid) + cpuSeconds(client.pid) - before;
    return { gbps, cpuPerGB: used / (gbps * SECONDS / 8) };
  } finally {
    for (const p of [client, server]) {
      p.kill("SIGKILL");
      await p.status;
    }
  }
}

if (!sshdAvailable()) throw new Error("needs root and sshd for the ssh -R yardstick");
const iperfPort = freePort();
const iperfServer = new Deno.Command("iperf3", {
  args: ["-s", "-p", String(iperfPort)],
  stdout: "null",
  stderr: "null",
}).spawn();
await new Promise((r) => setTimeout(r, 500));
await using sshd = await startSshd();

async function ssh(): Promise<Row> {
  await using forward = await reverseForward(sshd, iperfPort, "aes256-gcm@openssh.com");
  return { gbps: await iperf(forward.port), cpuPerGB: NaN };
}

const rows: Array<[string, () => Promise<Row>]> = [
  ["ssh -R aes256-gcm", ssh],
  ["TLS, defaults", () => dfrp(HERE, "", iperfPort)],
  ["TLS, tls.force = true", () => dfrp(HERE, "transport.tls.force = true", iperfPort)],
];
const older = Deno.args[0];
if (older) rows.push([`TLS, defaults (${older})`, () => dfrp(older, "", iperfPort)]);

const best = new Map<string, Row>();
const cpu = new Map<string, string[]>();
try {
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, run] of rows) {
      const row = await run();
      console.log(`round ${round} ${name}: ${row.gbps.toFixed(2)} Gbit/s`);
      if (row.gbps > (best.get(name)?.gbps ?? -1)) best.set(name, row);
      cpu.set(name, [...cpu.get(name) ?? [], row.cpuPerGB.toFixed(2)]);
    }
  }
} finally {
  iperfServer.kill("SIGKILL");
  await iperfServer.status;
}
const ssh256 = best.get("ssh -R aes256-gcm")!.gbps;
console.log("| row | Gbit/s (best) | of ssh -R | dfrp processes CPU-s/GB (each round) |");
for (const [name, row] of best) {
  console.log(
    `| ${name} | ${row.gbps.toFixed(2)} | ${(row.gbps / ssh256).toFixed(2)} | ${
      cpu.get(name)!.join(" / ")
    } |`,
  );
}
