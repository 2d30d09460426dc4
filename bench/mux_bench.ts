/**
 * Single-stream throughput of the multiplexer against a raw TCP copy over
 * loopback, in one process and across two processes.
 *
 * @example
 * ```ts
 * // deno run -A bench/mux_bench.ts [megabytes=2048]
 * // MUX_WINDOW=4194304 sets streamWindow; ONLY2=1 runs only the two-process rows.
 * ```
 *
 * @module
 */

import { MuxSession } from "../lib/mux/mod.ts";
import type { Duplex } from "../lib/net/duplex.ts";
import { tcpPair } from "../tests/_tcp_pair.ts";

const CHUNK = 256 * 1024;
const WIN = Number(Deno.env.get("MUX_WINDOW") ?? 256 * 1024);

async function send(w: Duplex, total: number): Promise<void> {
  const buf = new Uint8Array(CHUNK);
  for (let sent = 0; sent < total; sent += CHUNK) {
    let off = 0;
    while (off < CHUNK) off += await w.write(off ? buf.subarray(off) : buf);
  }
  await w.closeWrite();
}

async function drain(r: Duplex, zeroCopy = false): Promise<number> {
  let got = 0;
  if (zeroCopy && r.readChunk) {
    for (let c = await r.readChunk(); c; c = await r.readChunk()) got += c.length;
    return got;
  }
  const buf = new Uint8Array(CHUNK);
  for (let n = await r.read(buf); n !== null; n = await r.read(buf)) got += n;
  return got;
}

function gbps(bytes: number, ms: number): string {
  return (bytes * 8 / ms / 1e6).toFixed(2);
}

async function rawInProcess(total: number): Promise<number> {
  const [a, b] = await tcpPair({ noDelay: true });
  const t0 = performance.now();
  const [, got] = await Promise.all([send(a, total), drain(b)]);
  const ms = performance.now() - t0;
  a.close();
  b.close();
  if (got !== total) throw new Error(`raw: got ${got} of ${total}`);
  return ms;
}

async function muxInProcess(total: number, zeroCopy: boolean): Promise<number> {
  const [a, b] = await tcpPair({ noDelay: true });
  const client = new MuxSession(a, { client: true, streamWindow: WIN });
  const server = new MuxSession(b, { client: false, streamWindow: WIN });
  const t0 = performance.now();
  const s = client.open();
  const [, got] = await Promise.all([
    send(s, total),
    server.accept().then((p) => drain(p!, zeroCopy)),
  ]);
  const ms = performance.now() - t0;
  client.close();
  server.close();
  await Promise.all([client.closed, server.closed]);
  if (got !== total) throw new Error(`mux: got ${got} of ${total}`);
  return ms;
}

/** Child process: receives on one side, prints the byte count. */
async function child(port: number, mode: string): Promise<void> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  conn.setNoDelay(true);
  if (mode === "raw") {
    console.log(await drain(conn));
    conn.close();
    return;
  }
  const session = new MuxSession(conn, { client: true, streamWindow: WIN });
  const s = (await session.accept())!;
  console.log(await drain(s));
  session.close();
  await session.closed;
}

async function twoProcess(total: number, mode: "raw" | "mux"): Promise<number> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const proc = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", import.meta.filename!, "--child", String(listener.addr.port), mode],
    stdout: "piped",
  }).spawn();
  const conn = await listener.accept();
  listener.close();
  conn.setNoDelay(true);
  let ms: number;
  if (mode === "raw") {
    const t0 = performance.now();
    await send(conn, total);
    const out = await proc.output();
    ms = performance.now() - t0;
    conn.close();
    checkChild(out.stdout, total);
  } else {
    const session = new MuxSession(conn, { client: false, streamWindow: WIN });
    const t0 = performance.now();
    await send(session.open(), total);
    const out = await proc.output();
    ms = performance.now() - t0;
    session.close();
    await session.closed;
    checkChild(out.stdout, total);
  }
  return ms;
}

function checkChild(stdout: Uint8Array, total: number): void {
  const got = Number(new TextDecoder().decode(stdout).trim());
  if (got !== total) throw new Error(`child got ${got} of ${total}`);
}

if (Deno.args[0] === "--child") {
  await child(Number(Deno.args[1]), Deno.args[2]);
} else {
  const total = Number(Deno.args[0] ?? 2048) * 1024 * 1024;
  const rows: Array<[string, number]> = [];
  for (let round = 0; round < 3; round++) {
    if (!Deno.env.get("ONLY2")) rows.push(["raw, one process", await rawInProcess(total)]);
    if (!Deno.env.get("ONLY2")) {
      rows.push(["mux readChunk, one process", await muxInProcess(total, true)]);
    }
    if (!Deno.env.get("ONLY2")) {
      rows.push(["mux read(buf), one process", await muxInProcess(total, false)]);
    }
    rows.push(["raw, two processes", await twoProcess(total, "raw")]);
    rows.push(["mux, two processes", await twoProcess(total, "mux")]);
  }
  const byName = new Map<string, number[]>();
  for (const [name, ms] of rows) byName.set(name, [...(byName.get(name) ?? []), ms]);
  console.log(`${total / 1024 / 1024} MiB per run, Gbit/s (median of 3):`);
  for (const [name, list] of byName) {
    const sorted = list.map((ms) => Number(gbps(total, ms))).sort((x, y) => x - y);
    console.log(`  ${name.padEnd(28)} ${sorted[1].toFixed(2)}   (runs: ${sorted.join(", ")})`);
  }
}
