/**
 * CPU per small message of dfrp's own data path, in one process, so that
 * other load on the machine blurs it less than a throughput figure: 50
 * concurrent clients each send a 32-byte request and wait for its echo,
 * through user socket → relay → mux stream → mux session over loopback TCP →
 * mux stream → relay → backend socket → an echo loop, and back. Prints the
 * process's CPU time (user + system, `/proc/self/stat`) per round trip; the
 * clients and the echo loop cost the same in every tree, so a difference
 * between two trees is the relay's and the mux's. A row without dfrp (the
 * clients talk to the echo loop directly) shows what one socket hop costs.
 *
 * ```sh
 * git archive main | tar -x -C /tmp/old
 * deno run -A bench/msg_hops_bench.ts /tmp/old      # old and this tree, interleaved
 * ```
 *
 * @module
 */

import { tcpPair } from "../tests/_tcp_pair.ts";
import { cpuSeconds } from "./_tree.ts";

const HERE = new URL("../", import.meta.url).pathname;
const CLIENTS = 50;
const ROUND_TRIPS = Number(Deno.env.get("BENCH_ROUND_TRIPS") ?? 100_000);
const ROUNDS = Number(Deno.env.get("ROUNDS") ?? 3);

/** One measurement with the tree at `root`; prints µs per round trip as JSON. */
async function child(root: string): Promise<void> {
  const raw = root === "raw";
  const { MuxSession } = await import(`${raw ? HERE : root}/lib/mux/mod.ts`);
  const { relay } = await import(`${raw ? HERE : root}/lib/net/relay.ts`);
  const [ma, mb] = await tcpPair({ noDelay: true });
  const serverSide = new MuxSession(ma, { client: false });
  const clientSide = new MuxSession(mb, { client: true });
  const users: Deno.TcpConn[] = [];
  for (let i = 0; i < CLIENTS; i++) {
    const [user, userEnd] = await tcpPair({ noDelay: true });
    const [backend, backendEnd] = raw ? [user, userEnd] : await tcpPair({ noDelay: true });
    users.push(user);
    // The server relays its user socket into a new stream; the client relays
    // the accepted stream to its backend, which echoes. "raw": the clients
    // talk to the echo loop directly (one socket hop instead of three).
    if (!raw) {
      relay(userEnd, serverSide.open());
      relay((await clientSide.accept())!, backend);
    }
    (async () => {
      const buf = new Uint8Array(1024);
      for (let n; (n = await backendEnd.read(buf)) !== null;) {
        await backendEnd.write(buf.subarray(0, n));
      }
    })().catch(() => {});
  }
  const msg = new Uint8Array(32).fill(42);
  const ping = async (user: Deno.TcpConn, count: number) => {
    const buf = new Uint8Array(64);
    for (let i = 0; i < count; i++) {
      await user.write(msg);
      for (let got = 0; got < msg.length;) got += (await user.read(buf))!;
    }
  };
  await Promise.all(users.map((u) => ping(u, 200))); // warm-up
  const cpu0 = cpuSeconds(Deno.pid), t0 = performance.now();
  await Promise.all(users.map((u) => ping(u, ROUND_TRIPS / CLIENTS)));
  const cpu = cpuSeconds(Deno.pid) - cpu0, ms = performance.now() - t0;
  console.log(
    JSON.stringify({ cpuUs: cpu * 1e6 / ROUND_TRIPS, perSecond: ROUND_TRIPS / ms * 1000 }),
  );
  Deno.exit(0);
}

async function run(root: string): Promise<{ cpuUs: number; perSecond: number }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", import.meta.filename!, "--child", root],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  return JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
}

if (Deno.args[0] === "--child") {
  await child(Deno.args[1]);
} else {
  const trees: Array<[string, string]> = [["no dfrp (echo direct)", "raw"], ["this tree", HERE]];
  if (Deno.args[0]) trees.unshift([Deno.args[0], Deno.args[0]]);
  const all = new Map<string, number[]>();
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate the order so neither tree always runs on the warmer machine.
    for (const [name, root] of round % 2 ? [...trees].reverse() : trees) {
      const r = await run(root);
      all.set(name, [...all.get(name) ?? [], r.cpuUs]);
      console.log(
        `round ${round} ${name}: ${r.cpuUs.toFixed(1)} CPU µs per round trip, ` +
          `${r.perSecond.toFixed(0)} round trips/s (load ${Deno.loadavg()[0].toFixed(1)})`,
      );
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  for (const [name, xs] of all) {
    console.log(`${name}: median ${median(xs).toFixed(1)} CPU µs per round trip`);
  }
}
