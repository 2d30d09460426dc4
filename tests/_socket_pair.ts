/**
 * The two ends of a real loopback TCP connection, wrapped as dfrp wraps its own (`wrapTcp`), for
 * tests of the layers that run on a connection (encryption, UDP framing, relays).
 *
 * @example
 * ```ts
 * import { socketPair } from "./_socket_pair.ts";
 * const [a, b] = await socketPair();
 * a.close();
 * b.close();
 * ```
 *
 * @module
 */

import { type TcpConn, wrapTcp } from "../lib/net/tcp_conn.ts";

/**
 * Connects to a one-shot listener on 127.0.0.1 and returns [the dialing end, the accepted end].
 *
 * @example
 * ```ts
 * import { socketPair } from "./_socket_pair.ts";
 * const [client, server] = await socketPair();
 * await client.write(new TextEncoder().encode("hi"));
 * console.log(await server.read(new Uint8Array(2)));
 * ```
 */
export async function socketPair(): Promise<[TcpConn, TcpConn]> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const [a, b] = await Promise.all([
    Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }),
    listener.accept(),
  ]);
  listener.close();
  return [wrapTcp(a), wrapTcp(b)];
}
