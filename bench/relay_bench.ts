/**
 * The tunnel's data path in one process, without the control plane: a user
 * socket → `relay()` → a mux stream over loopback TCP → `relay()` → a
 * backend socket, against a raw socket copy. Measures what `lib/net/relay.ts`
 * and `lib/mux/` cost per byte (the write-progress watch included).
 *
 * @example
 * ```ts
 * // deno run -A bench/relay_bench.ts [megabytes=1024]
 * ```
 *
 * @module
 */

import { MuxSession, TUNNEL_STREAM_WINDOW } from "../lib/mux/mod.ts";
import { relay } from "../lib/net/relay.ts";
import { tcpPair } from "../tests/_tcp_pair.ts";

const MB = Number(Deno.args[0] ?? 1024);
const CHUNK = 256 * 1024;

/** Sends `total` bytes into `w` and counts what arrives at `r`; Gbit/s. */
async function measure(w: Deno.Conn, r: Deno.Conn, total: number): Promise<number> {
  const send = async () => {
    const buf = new Uint8Array(CHUNK);
    for (let sent = 0; sent < total; sent += CHUNK) {
      for (let off = 0; off < CHUNK;) off += await w.write(off ? buf.subarray(off) : buf);
    }
    await w.closeWrite();
  };
  const drain = async () => {
    const buf = new Uint8Array(CHUNK);
    let got = 0;
    for (let n; (n = await r.read(buf)) !== null;) got += n;
    return got;
  };
  const t0 = performance.now();
  const [, got] = await Promise.all([send(), drain()]);
  const ms = performance.now() - t0;
  if (got !== total) throw new Error(`got ${got} of ${total}`);
  return total * 8 / ms / 1e6;
}

async function tunnel(total: number): Promise<number> {
  const [user, serverUser] = await tcpPair({ noDelay: true });
  const [clientLocal, backend] = await tcpPair({ noDelay: true });
  const [dialed, accepted] = await tcpPair({ noDelay: true });
  const server = new MuxSession(accepted, { client: false, streamWindow: TUNNEL_STREAM_WINDOW });
  const client = new MuxSession(dialed, { client: true, streamWindow: TUNNEL_STREAM_WINDOW });
  const up = server.open();
  const down = (await Promise.all([client.accept(), up.write(new Uint8Array(0))]))[0]!;
  const relays = Promise.all([relay(serverUser, up), relay(down, clientLocal)]);
  const gbps = await measure(user, backend, total);
  user.close();
  backend.close();
  await relays;
  server.close();
  client.close();
  return gbps;
}

async function raw(total: number): Promise<number> {
  const [a, b] = await tcpPair({ noDelay: true });
  const gbps = await measure(a, b, total);
  a.close();
  b.close();
  return gbps;
}

const total = MB * 1024 * 1024;
const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows: Array<[string, (n: number) => Promise<number>]> = [
  ["raw socket copy", raw],
  ["user → relay → mux → relay → backend", tunnel],
];
console.log(`${MB} MiB per run, Gbit/s (median of 5):`);
for (const [name, fn] of rows) {
  const runs: number[] = [];
  for (let i = 0; i < 5; i++) runs.push(await fn(total));
  console.log(
    `  ${name.padEnd(38)} ${median([...runs]).toFixed(2)}   (runs: ${
      runs.map((r) => r.toFixed(2)).join(", ")
    })`,
  );
}
