/**
 * Two ends of a real loopback TCP connection in this process, for tests of
 * the layers that sit on a connection (mux, relay, framing) without a server
 * or client process around them.
 *
 * @example
 * ```ts
 * import { tcpPair } from "./_tcp_pair.ts";
 * const [dialed, accepted] = await tcpPair();
 * await dialed.write(new Uint8Array([1]));
 * dialed.close();
 * accepted.close();
 * ```
 *
 * @module
 */

import { type TcpConn, wrapTcp } from "../lib/net/tcp_conn.ts";

/**
 * Listens on a free loopback port, connects to it and accepts: the dialed end first, the
 * accepted end second. With `noDelay`, both ends send small writes at once (no Nagle), as the
 * transports do.
 *
 * @example
 * ```ts
 * import { tcpPair } from "./_tcp_pair.ts";
 * const [a, b] = await tcpPair({ noDelay: true });
 * a.close();
 * b.close();
 * ```
 */
export async function tcpPair(
  { noDelay = false }: { noDelay?: boolean } = {},
): Promise<[Deno.TcpConn, Deno.TcpConn]> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const [a, b] = await Promise.all([
    Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }),
    listener.accept(),
  ]);
  listener.close();
  if (noDelay) {
    a.setNoDelay(true);
    b.setNoDelay(true);
  }
  return [a, b];
}

/**
 * {@linkcode tcpPair} wrapped as dfrp wraps its own connections (`wrapTcp`), for tests of the
 * layers that run on a connection (encryption, UDP framing, relays): [the dialing end, the
 * accepted end].
 *
 * @example
 * ```ts
 * import { socketPair } from "./_tcp_pair.ts";
 * const [client, server] = await socketPair();
 * await client.write(new TextEncoder().encode("hi"));
 * console.log(await server.read(new Uint8Array(2)));
 * ```
 */
export async function socketPair(): Promise<[TcpConn, TcpConn]> {
  const [a, b] = await tcpPair();
  return [wrapTcp(a), wrapTcp(b)];
}
