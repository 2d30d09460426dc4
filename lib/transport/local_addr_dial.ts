/**
 * `transport.connectServerLocalIP`: TCP connections to the server from a
 * chosen local address (a machine with several addresses, a firewall that
 * lets one of them out).
 *
 * `Deno.connect` has no local-address option, but Deno's `node:net` binds
 * the socket before connecting when given `localAddress`, so these dials go
 * through it and come back as a {@linkcode NodeSocketConn}. Everything above
 * (TLS through `node:tls`, WebSocket, a `proxyURL` tunnel) runs on that as
 * on any connection. QUIC and KCP bind their UDP socket to the address
 * instead (`quic.ts`, `kcp.ts`).
 *
 * @example
 * ```ts
 * import { dialTcpFrom } from "./local_addr_dial.ts";
 * const conn = await dialTcpFrom("203.0.113.7", 7000, "192.0.2.10", 10_000);
 * conn.close();
 * ```
 *
 * @module
 */

import net from "node:net";
import { NodeSocketConn } from "./node_socket_conn.ts";
import type { TransportConn } from "./transport.ts";

/**
 * Dials `host:port` over TCP from `localAddress` (any free port), with Nagle
 * off like every dfrp connection; gives up after `timeoutMs` (0 = never).
 * Fails with the local address named when it cannot be bound.
 *
 * @example
 * ```ts
 * import { dialTcpFrom } from "./local_addr_dial.ts";
 * const conn = await dialTcpFrom("127.0.0.1", 7000, "127.0.0.2", 5000);
 * ```
 */
export function dialTcpFrom(
  host: string,
  port: number,
  localAddress: string,
  timeoutMs: number,
): Promise<TransportConn> {
  return new Promise((resolve, reject) => {
    // allowHalfOpen: the peer's FIN must not end our writing half (relays
    // half-close one direction while the other still flows).
    const socket = net.connect({ host, port, localAddress, allowHalfOpen: true });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const fail = (err: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    const onError = (err: Error) =>
      fail(new Error(`dial ${host}:${port} from ${localAddress}: ${err.message}`));
    if (timeoutMs > 0) {
      timer = setTimeout(
        () =>
          fail(
            new Deno.errors.TimedOut(
              `dial ${host}:${port} from ${localAddress} timed out after ${timeoutMs} ms`,
            ),
          ),
        timeoutMs,
      );
    }
    socket.once("error", onError);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.removeListener("error", onError);
      socket.setNoDelay(true);
      const remote = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
      resolve(new NodeSocketConn(socket, remote));
    });
  });
}
