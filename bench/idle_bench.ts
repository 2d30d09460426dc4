/**
 * Memory and descriptors per idle tunneled connection: a tcp proxy to an
 * echo service (its own process, not measured), `n`
 * connections opened through it with one round trip each, then idle for 2 s;
 * growth of the server's and the client's RSS divided by `n`, their open
 * descriptors, and then one more round trip on every connection to show they
 * all still echo. `BENCH_IDLE_CONNS` lists the counts (default
 * `1000,10000`; tcpMux off runs only the first, at most 1,000). One more row
 * (the first count, tcpMux on) first sends `BENCH_IDLE_BURST` bytes (default
 * 256 KiB, 0 skips it) through every connection and back, so the relay
 * buffers grow to full size, before the connections idle: what a connection
 * that once moved data keeps. As root with sshd installed, one more row: the
 * first count through `ssh -R` (OpenSSH), the yardstick. Needs `ulimit -n`
 * above twice the largest count (this process holds every user end).
 *
 * @example
 * ```ts
 * import { idleBench } from "./idle_bench.ts";
 * await idleBench();
 * ```
 *
 * @module
 */

import { freePort, startClient, startServer } from "../tests/_harness.ts";
import { reverseForward, sshdAvailable, startSshd } from "../tests/_sshd.ts";

const COUNTS = (Deno.env.get("BENCH_IDLE_CONNS") ?? "1000,10000").split(",").map(Number);
const BURST = Number(Deno.env.get("BENCH_IDLE_BURST") ?? 256 * 1024);

const ECHO = `
const l = Deno.listen({ hostname: "127.0.0.1", port: Number(Deno.args[0]) });
console.log("echo listening");
for await (const c of l) {
  (async () => {
    const b = new Uint8Array(16384);
    try { for (let n; (n = await c.read(b)) !== null;) await c.write(b.subarray(0, n)); } catch {}
    try { c.close(); } catch {}
  })();
}`;

/** RSS of `pid` in KiB. */
export function rssKiB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(status.match(/VmRSS:\s+(\d+) kB/)![1]);
}

function fds(pid: number): number {
  return [...Deno.readDirSync(`/proc/${pid}/fd`)].length;
}

async function roundTrip(conn: Deno.Conn, byte: number, buf: Uint8Array): Promise<boolean> {
  await conn.write(new Uint8Array([byte]));
  const n = await conn.read(buf);
  return n === 1 && buf[0] === byte;
}

/** The server's V8 heap in use and external memory (bytes), from its `/metrics`. */
async function serverHeap(port: number): Promise<{ heap: number; external: number }> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const value = (name: string) =>
    Number(new RegExp(`^${name}(?:\\{\\})? (\\S+)`, "m").exec(text)?.[1]);
  return { heap: value("deno_heap_used_bytes"), external: value("deno_external_memory_bytes") };
}

/** Sends `bytes` through `conn` and reads them back, both at once. */
async function burst(conn: Deno.Conn, bytes: number): Promise<void> {
  const send = async () => {
    const chunk = new Uint8Array(Math.min(bytes, 64 * 1024));
    for (let sent = 0; sent < bytes; sent += chunk.length) {
      await conn.write(chunk.subarray(0, Math.min(chunk.length, bytes - sent)));
    }
  };
  const receive = async () => {
    const buf = new Uint8Array(64 * 1024);
    for (let got = 0; got < bytes;) {
      const n = await conn.read(buf);
      if (n === null) throw new Error("closed during the burst");
      got += n;
    }
  };
  await Promise.all([send(), receive()]);
}

/**
 * Opens `n` connections to `port` (into `conns`), one round trip each, then
 * the burst if any, then 2 s of idle; returns the seconds the opening took.
 */
async function openIdle(
  conns: Deno.Conn[],
  port: number,
  n: number,
  burstBytes: number,
): Promise<number> {
  const buf = new Uint8Array(1);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conns.push(conn);
    if (!await roundTrip(conn, i & 0xff, buf)) throw new Error(`connection ${i} did not echo`);
  }
  for (let i = 0; burstBytes > 0 && i < n; i += 50) {
    await Promise.all(conns.slice(i, i + 50).map((c) => burst(c, burstBytes)));
  }
  const openSeconds = (performance.now() - t0) / 1000;
  await new Promise((r) => setTimeout(r, 2000));
  return openSeconds;
}

/** How many of `conns` still echo one byte. */
async function stillEcho(conns: Deno.Conn[]): Promise<number> {
  let echoed = 0;
  for (let i = 0; i < conns.length; i += 200) {
    const batch = conns.slice(i, i + 200);
    const ok = await Promise.all(
      batch.map((c, j) => roundTrip(c, (i + j + 7) & 0xff, new Uint8Array(1))),
    );
    echoed += ok.filter(Boolean).length;
  }
  return echoed;
}

/** Pids of every process below `root` (its children, theirs, ...). */
function descendants(root: number): number[] {
  const parent = new Map<number, number>();
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${e.name}/stat`);
      parent.set(Number(e.name), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // Gone meanwhile.
    }
  }
  const out: number[] = [];
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, ppid] of parent) {
      if ((ppid === root || out.includes(ppid)) && !out.includes(pid)) {
        out.push(pid);
        grew = true;
      }
    }
  }
  return out;
}

/** The pid of the (first, i.e. oldest) process whose command line contains `needle`. */
function pidByCmdline(needle: string): number {
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name) || Number(e.name) === Deno.pid) continue;
    try {
      const cmd = Deno.readTextFileSync(`/proc/${e.name}/cmdline`).replaceAll("\0", " ");
      if (cmd.includes(needle)) return Number(e.name);
    } catch {
      // Gone meanwhile.
    }
  }
  throw new Error(`no process runs "${needle}"`);
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/**
 * The yardstick: the same `n` idle connections through `ssh -R` (OpenSSH,
 * one SSH connection carrying a channel per connection). Server side: every
 * process of the sshd (its per-connection session processes); client: ssh.
 */
async function sshRun(n: number, echoPort: number): Promise<void> {
  if (!sshdAvailable()) return console.log("memory, ssh -R: skipped (no sshd, or not root)");
  const conns: Deno.Conn[] = [];
  try {
    await using sshd = await startSshd();
    await using forward = await reverseForward(sshd, echoPort);
    await new Promise((r) => setTimeout(r, 1000));
    const master = pidByCmdline(`${sshd.dir}/sshd_config`);
    const sides = [[master, ...descendants(master)], [pidByCmdline(`${forward.port}:127.0.0.1:`)]];
    const before = sides.map((pids) => sum(pids.map(rssKiB)));
    const fdsBefore = sides.map((pids) => sum(pids.map(fds)));
    const openSeconds = await openIdle(conns, forward.port, n, 0);
    const after = sides.map((pids) => sum(pids.map(rssKiB)));
    const per = after.map((a, i) => ((a - before[i]) / n).toFixed(1));
    const fdGrowth = sides.map((pids, i) => sum(pids.map(fds)) - fdsBefore[i]);
    const echoed = await stillEcho(conns);
    console.log(
      `memory, ${n} idle connections, ssh -R (OpenSSH): ` +
        `sshd +${per[0]} KiB/conn (${sides[0].length} processes, RSS ${after[0]} KiB, ` +
        `+${fdGrowth[0]} fds), ssh +${per[1]} KiB/conn (RSS ${after[1]} KiB, +${
          fdGrowth[1]
        } fds), ` +
        `${echoed}/${n} still echo, opened in ${openSeconds.toFixed(1)} s ` +
        `(load ${Deno.loadavg()[0].toFixed(1)})`,
    );
  } catch (err) {
    console.log(`memory, ${n} connections, ssh -R: failed: ${(err as Error).message}`);
  } finally {
    for (const c of conns) c.close();
  }
}

async function run(
  n: number,
  tcpMux: boolean,
  echoPort: number,
  burstBytes = 0,
): Promise<void> {
  const webPort = freePort();
  const server = await startServer(
    `transport.tcpMux = ${tcpMux}\ntransport.maxPoolCount = 100\n` +
      `webServer.addr = "127.0.0.1"\nwebServer.port = ${webPort}\nenablePrometheus = true`,
  );
  const remotePort = freePort();
  const client = await startClient(`
serverAddr = "127.0.0.1"
serverPort = ${server.port}
transport.tcpMux = ${tcpMux}
transport.poolCount = ${tcpMux ? 1 : 50}
[[proxies]]
name = "idle"
type = "tcp"
localPort = ${echoPort}
remotePort = ${remotePort}
`);
  const conns: Deno.Conn[] = [];
  try {
    await client.waitFor(/\[idle\] start proxy success/);
    await new Promise((r) => setTimeout(r, 1000));
    const pids = [server.child.pid, client.child.pid];
    const before = pids.map(rssKiB);
    const heapBefore = await serverHeap(webPort);
    const fdsBefore = pids.map(fds);
    const openSeconds = await openIdle(conns, remotePort, n, burstBytes);
    const after = pids.map(rssKiB);
    const heapAfter = await serverHeap(webPort);
    const heapPer = ((heapAfter.heap - heapBefore.heap) / n / 1024).toFixed(1);
    const extPer = ((heapAfter.external - heapBefore.external) / n / 1024).toFixed(1);
    const per = after.map((a, i) => ((a - before[i]) / n).toFixed(1));
    const fdGrowth = pids.map((p, i) => fds(p) - fdsBefore[i]);
    const echoed = await stillEcho(conns);
    console.log(
      `memory, ${n} idle connections, tcpMux ${tcpMux ? "on" : "off"}` +
        `${burstBytes ? ` after a ${burstBytes >> 10} KiB burst each` : ""}: ` +
        `server +${per[0]} KiB/conn (V8 heap +${heapPer}, external +${extPer}; ` +
        `RSS ${after[0]} KiB, +${fdGrowth[0]} fds), ` +
        `client +${per[1]} KiB/conn (RSS ${after[1]} KiB, +${fdGrowth[1]} fds), ` +
        `${echoed}/${n} still echo, opened in ${openSeconds.toFixed(1)} s ` +
        `(load ${Deno.loadavg()[0].toFixed(1)})`,
    );
  } catch (err) {
    console.log(`memory, ${n} connections, tcpMux ${tcpMux}: failed: ${(err as Error).message}`);
  } finally {
    for (const c of conns) c.close();
    await client.stop("SIGKILL");
    await server.stop("SIGKILL");
  }
}

/**
 * Prints one row per count with tcpMux on, and one (at most 1,000) with it off.
 *
 * @example
 * ```ts
 * import { idleBench } from "./idle_bench.ts";
 * await idleBench();
 * ```
 */
export async function idleBench(): Promise<void> {
  const echoPort = freePort();
  const echo = new Deno.Command(Deno.execPath(), {
    args: ["eval", ECHO, String(echoPort)],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  try {
    const reader = echo.stdout.getReader();
    await reader.read(); // "echo listening"
    reader.releaseLock();
    for (const n of COUNTS) await run(n, true, echoPort);
    if (BURST > 0) await run(COUNTS[0], true, echoPort, BURST);
    await sshRun(COUNTS[0], echoPort);
    // Four descriptors per connection on the server: more than 1,000 needs a high `ulimit -n`.
    await run(Math.min(1000, COUNTS[0]), false, echoPort);
  } finally {
    echo.kill("SIGKILL");
    await echo.status;
  }
}

if (import.meta.main) await idleBench();
