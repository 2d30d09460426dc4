/**
 * Two connected loopback TCP sockets with Nagle off, for tests and the
 * in-process benches.
 *
 * @example
 * ```ts
 * import { tcpPair } from "./_tcp_pair.ts";
 * const [a, b] = await tcpPair();
 * await a.write(new Uint8Array([1]));
 * ```
 *
 * @module
 */

/**
 * A dialed socket and the socket its listener accepted.
 *
 * @example
 * ```ts
 * import { tcpPair } from "./_tcp_pair.ts";
 * const [client, server] = await tcpPair();
 * client.close();
 * server.close();
 * ```
 */
export async function tcpPair(): Promise<[Deno.TcpConn, Deno.TcpConn]> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const [a, b] = await Promise.all([
    Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }),
    listener.accept(),
  ]);
  listener.close();
  a.setNoDelay(true);
  b.setNoDelay(true);
  return [a, b];
}
