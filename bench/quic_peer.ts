/**
 * Deno's QUIC with nothing of dfrp around it, the ceiling the xtcp tunnel
 * and the QUIC transport can reach: `serve PORT CERTFILE [CC]` echoes every
 * bidirectional stream (writing its certificate's PEM to CERTFILE first);
 * `send HOST PORT BYTES CERTFILE [CC] [CHUNK]` sends BYTES in CHUNK-byte writes
 * (64 KiB by default) on one stream while reading the echo, and prints
 * `n=<bytes echoed> ms=<ms> cpuTicks=<its own user+system clock ticks>`. CC is `Deno.QuicTransportOptions.congestionControl`.
 *
 * @example
 * ```ts
 * // deno run -A bench/quic_peer.ts serve 7100 /tmp/cert.pem
 * // deno run -A bench/quic_peer.ts send 127.0.0.1 7100 67108864 /tmp/cert.pem
 * import { quicSend } from "./quic_peer.ts";
 * const { n, ms } = await quicSend("127.0.0.1", 7100, 1 << 20, "-----BEGIN CERTIFICATE-----...");
 * ```
 *
 * @module
 */

import { makeTunnelCert } from "../lib/p2p/tunnel_cert.ts";

type Cc = Deno.QuicTransportOptions["congestionControl"];
const NAME = "quic-peer";
const ALPN = "quic-peer";

async function serve(port: number, certFile: string, cc: Cc): Promise<void> {
  const pair = await makeTunnelCert(NAME);
  await Deno.writeTextFile(certFile, pair.cert);
  const endpoint = new Deno.QuicEndpoint({ hostname: "0.0.0.0", port });
  const listener = endpoint.listen({
    cert: pair.cert,
    key: pair.key,
    alpnProtocols: [ALPN],
    congestionControl: cc,
  });
  console.log("quic echo listening");
  for await (const incoming of listener) {
    (async () => {
      const conn = await incoming.accept();
      for await (const stream of conn.incomingBidirectionalStreams) {
        stream.readable.pipeTo(stream.writable).catch(() => {});
      }
    })().catch(() => {});
  }
}

/**
 * Sends `bytes` on one QUIC stream to an echo and reads them back.
 *
 * @example
 * ```ts
 * import { quicSend } from "./quic_peer.ts";
 * declare const pem: string;
 * console.log(await quicSend("127.0.0.1", 7100, 1 << 20, pem, "default"));
 * ```
 */
export async function quicSend(
  hostname: string,
  port: number,
  bytes: number,
  certPem: string,
  cc: Cc = "default",
  chunk = 64 * 1024,
): Promise<{ n: number; ms: number }> {
  const conn = await Deno.connectQuic<false>({
    hostname,
    port,
    caCerts: [certPem],
    serverName: NAME,
    alpnProtocols: [ALPN],
    congestionControl: cc,
  }) as Deno.QuicConn;
  const start = performance.now();
  const stream = await conn.createBidirectionalStream();
  const writing = (async () => {
    const writer = stream.writable.getWriter();
    const buf = new Uint8Array(chunk).fill(7);
    for (let off = 0; off < bytes; off += chunk) {
      await writer.write(buf.subarray(0, Math.min(chunk, bytes - off)));
    }
    await writer.close();
  })();
  let n = 0;
  for await (const part of stream.readable) n += part.length;
  await writing;
  const ms = Math.round(performance.now() - start);
  conn.close({ closeCode: 0, reason: "done" });
  return { n, ms };
}

if (import.meta.main) {
  const [mode, ...args] = Deno.args;
  if (mode === "serve") {
    await serve(Number(args[0]), args[1], (args[2] ?? "default") as Cc);
  } else if (mode === "send") {
    const [host, port, bytes, certFile, cc, chunk] = args;
    const r = await quicSend(
      host,
      Number(port),
      Number(bytes),
      await Deno.readTextFile(certFile),
      (cc ?? "default") as Cc,
      Number(chunk ?? 64 * 1024),
    );
    const stat = Deno.readTextFileSync("/proc/self/stat");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    console.log(`n=${r.n} ms=${r.ms} cpuTicks=${Number(fields[11]) + Number(fields[12])}`);
    Deno.exit(0);
  } else {
    throw new Error(
      "usage: quic_peer.ts serve PORT CERTFILE [CC] | send HOST PORT BYTES CERTFILE [CC] [CHUNK]",
    );
  }
}
