/**
 * The transport interface, after rathole's: bind, accept, handshake, connect.
 * The control connection and the multiplexer sit on top of whatever a transport
 * yields, so TLS, WebSocket and QUIC slot in as one file each without the
 * proxies noticing.
 *
 * @example
 * ```ts
 * import { tcpTransport } from "./tcp.ts";
 * const listener = await tcpTransport.bind("127.0.0.1", 0);
 * const conn = await tcpTransport.connect("127.0.0.1", listener.port, { timeoutMs: 1000 });
 * ```
 *
 * @module
 */

import type { TransportConn } from "../net/duplex.ts";

export type { TransportConn };

/** A bound listening endpoint. */
export interface TransportListener {
  /** The port actually bound (useful after binding port 0). */
  readonly port: number;
  /** Next raw connection; `null` once closed. Cheap: no handshake runs here. */
  accept(): Promise<TransportConn | null>;
  /** Stops listening; pending `accept` calls resolve to `null`. */
  close(): void;
}

/** Options for {@linkcode Transport.connect}. */
export interface ConnectOptions {
  /** Give up dialing after this long. */
  timeoutMs: number;
}

/** One way of carrying bytes between client and server. */
export interface Transport {
  /** Name as in `transport.protocol` ("tcp", "websocket", ...). */
  readonly name: string;
  /** Listens on `hostname:port`. */
  bind(hostname: string, port: number): Promise<TransportListener>;
  /**
   * Server side: turns an accepted raw connection into a ready one (a TLS or
   * WebSocket handshake); runs per connection so one slow peer stalls no other.
   */
  handshake(conn: TransportConn): Promise<TransportConn>;
  /** Client side: dials and completes any handshake. */
  connect(host: string, port: number, opts: ConnectOptions): Promise<TransportConn>;
}
