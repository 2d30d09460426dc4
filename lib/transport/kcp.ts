/**
 * KCP transport (`transport.protocol = "kcp"`, server `kcpBindPort`), as in
 * frp: the KCP ARQ protocol ({@linkcode KcpEngine}) over UDP, chosen for
 * lossy or long links where TCP backs off too far. Each dfrp connection
 * (the control connection, or a pooled work connection with `tcpMux =
 * false`) is one KCP conversation with a random id; the client dials from a
 * fresh UDP port, the server tells conversations apart by address and id.
 *
 * KCP has no handshake: a client is "connected" at once and finds out that
 * nobody answers when its login times out. The end of stream and a reset are
 * dfrp's additions (see `kcp_engine.ts`), so both ends run dfrp, as with
 * every dfrp transport.
 *
 * @example
 * ```ts
 * import { dialKcp, listenKcp } from "./kcp.ts";
 * const server = listenKcp("127.0.0.1", 0, (conn) => conn.close());
 * const conn = await dialKcp("127.0.0.1", server.port);
 * conn.close();
 * server.close();
 * ```
 *
 * @module
 */

import { lookup } from "node:dns/promises";
import {
  CMD_PUSH,
  CMD_RST,
  DEFAULT_KCP_TUNING,
  KcpEngine,
  type KcpTuning,
  peekSegment,
  resetSegment,
} from "./kcp_engine.ts";
import type { TransportConn } from "./transport.ts";

/** How long a closed conversation keeps retransmitting what the peer has not acknowledged. */
const LINGER_MS = 10_000;
/** Conversations one server endpoint holds at most (each costs buffers until it ends). */
const MAX_CONVERSATIONS = 16_384;
/** Bytes a writer may have unacknowledged before `write` waits. */
const WRITE_HIGH_WATER = 4 << 20;
/** Largest datagram read. */
const RECEIVE_BUFFER = 65_536;

function addrKey(addr: Deno.NetAddr): string {
  return addr.hostname.includes(":")
    ? `[${addr.hostname}]:${addr.port}`
    : `${addr.hostname}:${addr.port}`;
}

/** One UDP socket and the conversations on it, driven by one clock. */
class Endpoint {
  readonly conns = new Map<string, KcpConn>();
  #timer: ReturnType<typeof setInterval>;
  #closed = false;

  constructor(
    readonly socket: DatagramSender & { close?(): void },
    readonly tuning: KcpTuning,
  ) {
    this.#timer = setInterval(() => this.tick(), tuning.interval);
  }

  send(datagram: Uint8Array, to: Deno.NetAddr): void {
    if (this.#closed) return;
    this.socket.send(datagram, to).catch(() => {
      // A full socket buffer or an unreachable peer: KCP retransmits.
    });
  }

  tick(): void {
    for (const conn of this.conns.values()) conn.tick();
  }

  remove(key: string): void {
    this.conns.delete(key);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    for (const conn of [...this.conns.values()]) conn.abort();
    this.socket.close?.();
  }
}

/** What a KCP listener sends through: a UDP socket, or one shared with another service. */
export interface DatagramSender {
  /** Sends one datagram to `to`. */
  send(datagram: Uint8Array, to: Deno.NetAddr): Promise<number>;
}

/** One KCP conversation as a {@linkcode TransportConn}. */
export class KcpConn implements TransportConn {
  readonly #engine: KcpEngine;
  #readWaiter?: () => void;
  #writeWaiter?: () => void;
  #closedLocally = false;
  #lingerUntil = 0;
  #gone = false;

  /**
   * @param endpoint the socket this conversation lives on
   * @param key the endpoint's name for it (`addr/conv`)
   * @param peer where datagrams go
   * @param conv the conversation id
   * @param onGone called once the conversation is forgotten
   */
  constructor(
    readonly endpoint: Endpoint,
    readonly key: string,
    readonly peer: Deno.NetAddr,
    conv: number,
    readonly onGone: () => void = () => {},
  ) {
    this.#engine = new KcpEngine(conv, (d) => endpoint.send(d, peer), endpoint.tuning);
  }

  /** "host:port" of the peer. */
  get remoteAddr(): string {
    return addrKey(this.peer);
  }

  /** Takes a datagram from the socket. */
  input(datagram: Uint8Array): void {
    this.#engine.input(datagram);
    // Acks go out at once (kcp-go's ackNoDelay): the sender's window opens a
    // clock tick earlier, which is most of the throughput on a fast link.
    this.#engine.flush();
    this.#wake();
  }

  /** The endpoint's clock. */
  tick(): void {
    const engine = this.#engine;
    if (engine.busy) engine.flush();
    if (engine.dead) return this.#forget();
    if (this.#closedLocally && (engine.drained || performance.now() > this.#lingerUntil)) {
      this.#forget();
    }
    this.#wake();
  }

  #wake(): void {
    if (
      this.#readWaiter && (this.#engine.readable > 0 || this.#engine.ended || this.#engine.dead)
    ) {
      const w = this.#readWaiter;
      this.#readWaiter = undefined;
      w();
    }
    if (
      this.#writeWaiter && (this.#engine.unacknowledged < WRITE_HIGH_WATER || this.#engine.dead)
    ) {
      const w = this.#writeWaiter;
      this.#writeWaiter = undefined;
      w();
    }
  }

  #forget(): void {
    if (this.#gone) return;
    this.#gone = true;
    this.#engine.kill();
    this.endpoint.remove(this.key);
    this.#wake();
    this.onGone();
  }

  /** Reads into `p`; `null` at the peer's end of stream or when the link died. */
  async read(p: Uint8Array): Promise<number | null> {
    for (;;) {
      if (this.#closedLocally) return null;
      const got = this.#engine.read(p);
      if (got !== null) return got.length;
      if (this.#engine.ended || this.#engine.dead || this.#gone) return null;
      await new Promise<void>((resolve) => this.#readWaiter = resolve);
    }
  }

  /** Queues all of `p`; waits while too much is unacknowledged. */
  async write(p: Uint8Array): Promise<number> {
    while (this.#engine.unacknowledged >= WRITE_HIGH_WATER && !this.#engine.dead) {
      await new Promise<void>((resolve) => this.#writeWaiter = resolve);
    }
    if (this.#closedLocally || this.#engine.dead || this.#gone) {
      throw new Error("kcp: connection closed");
    }
    this.#engine.send(p);
    this.#engine.flush();
    return p.length;
  }

  /** Sends the end of stream after what was written; the peer reads `null`. */
  closeWrite(): Promise<void> {
    if (!this.#gone) {
      this.#engine.end();
      this.#engine.flush();
    }
    return Promise.resolve();
  }

  /** Ends the stream and forgets the conversation once the peer has it all (or after a linger). */
  close(): void {
    if (this.#closedLocally) return;
    this.#closedLocally = true;
    this.#lingerUntil = performance.now() + LINGER_MS;
    if (!this.#gone) {
      this.#engine.end();
      this.#engine.flush();
    }
    this.#wake();
  }

  /** Forgets the conversation now, without waiting for acknowledgements. */
  abort(): void {
    this.#closedLocally = true;
    this.#forget();
  }
}

/** A running KCP listener. */
export interface KcpServer {
  /** The UDP port bound. */
  readonly port: number;
  /** Stops listening and forgets every conversation. */
  close(): void;
}

/**
 * Listens for KCP on `hostname:port` (UDP) and hands every new conversation
 * to `onConn`, as the TCP listener hands connections.
 *
 * @example
 * ```ts
 * import { listenKcp } from "./kcp.ts";
 * const server = listenKcp("0.0.0.0", 7000, (conn) => conn.close());
 * server.close();
 * ```
 */
export function listenKcp(
  hostname: string,
  port: number,
  onConn: (conn: KcpConn) => void,
  tuning: Partial<KcpTuning> = {},
): KcpServer {
  const socket = Deno.listenDatagram({ hostname, port, transport: "udp" });
  const input = kcpInput(socket, onConn, tuning);
  receiveEach(socket, (datagram, from) => input.take(datagram, from));
  return {
    port: (socket.addr as Deno.NetAddr).port,
    close: () => {
      input.close();
      socket.close();
    },
  };
}

/** The server side of KCP without a socket of its own; see {@linkcode kcpInput}. */
export interface KcpInput {
  /** Takes one datagram from `from`. */
  take(datagram: Uint8Array, from: Deno.NetAddr): void;
  /** Forgets every conversation (the socket stays open). */
  close(): void;
}

/**
 * KCP's server side over a UDP socket that someone else reads, so that KCP
 * can share a port (frp's example sets `kcpBindPort = bindPort`, where dfrp
 * also answers STUN): the reader hands over every datagram that is not its
 * own, and replies go out through `sender`.
 *
 * @example
 * ```ts
 * import { kcpInput } from "./kcp.ts";
 * const socket = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
 * const kcp = kcpInput(socket, (conn) => conn.close());
 * const [datagram, from] = await socket.receive();
 * kcp.take(datagram, from as Deno.NetAddr);
 * ```
 */
export function kcpInput(
  sender: DatagramSender,
  onConn: (conn: KcpConn) => void,
  tuning: Partial<KcpTuning> = {},
): KcpInput {
  const endpoint = new Endpoint({ send: (d, to) => sender.send(d, to) }, {
    ...DEFAULT_KCP_TUNING,
    ...tuning,
  });
  return {
    take(datagram, peer) {
      const seg = peekSegment(datagram);
      if (!seg) return;
      const key = `${addrKey(peer)}/${seg.conv}`;
      const known = endpoint.conns.get(key);
      if (known) return known.input(datagram);
      // Data from a peer that has received nothing yet (una 0) opens a
      // conversation: its first datagrams may arrive in any order. Anything
      // else belongs to one we forgot (or never had): tell the peer.
      if (seg.cmd === CMD_RST) return;
      const opening = seg.cmd === CMD_PUSH && seg.una === 0 &&
        seg.sn < endpoint.tuning.receiveWindow;
      if (!opening || endpoint.conns.size >= MAX_CONVERSATIONS) {
        return endpoint.send(resetSegment(seg.conv), peer);
      }
      const conn = new KcpConn(endpoint, key, { ...peer }, seg.conv);
      endpoint.conns.set(key, conn);
      conn.input(datagram);
      onConn(conn);
    },
    close: () => endpoint.close(),
  };
}

/**
 * Opens a KCP conversation to `host:port` from a fresh UDP port. Resolves at
 * once: KCP has no handshake, so a server that is not there shows as a login
 * that times out.
 *
 * @example
 * ```ts
 * import { dialKcp } from "./kcp.ts";
 * const conn = await dialKcp("127.0.0.1", 7000);
 * await conn.write(new TextEncoder().encode("hello"));
 * conn.close();
 * ```
 */
export async function dialKcp(
  host: string,
  port: number,
  tuning: Partial<KcpTuning> = {},
  localIP = "",
): Promise<KcpConn> {
  // getaddrinfo, as a TCP dial resolves: /etc/hosts and "localhost" work too.
  const { address, family } = await lookup(host);
  const v6 = family === 6;
  const socket = Deno.listenDatagram({
    // transport.connectServerLocalIP, else any address of the family.
    hostname: localIP || (v6 ? "::" : "0.0.0.0"),
    port: 0,
    transport: "udp",
  });
  const endpoint = new Endpoint(socket, { ...DEFAULT_KCP_TUNING, ...tuning });
  const peer: Deno.NetAddr = { transport: "udp", hostname: address, port };
  const conv = crypto.getRandomValues(new Uint32Array(1))[0];
  const conn = new KcpConn(endpoint, "client", peer, conv, () => endpoint.close());
  endpoint.conns.set("client", conn);
  receiveEach(socket, (datagram, from) => {
    // Only the server may speak on this port: anyone else is ignored.
    if (from.port !== port || from.hostname !== address) return;
    conn.input(datagram);
  });
  return conn;
}

/**
 * Hands every datagram `socket` receives to `take` until the socket closes.
 * The datagram is a view into one reused buffer: `take` must use it before
 * it returns.
 */
async function receiveEach(
  socket: Deno.DatagramConn,
  take: (datagram: Uint8Array, from: Deno.NetAddr) => void,
): Promise<void> {
  const buf = new Uint8Array(RECEIVE_BUFFER);
  for (;;) {
    let datagram: Uint8Array, from: Deno.Addr;
    try {
      [datagram, from] = await socket.receive(buf);
    } catch {
      return; // closed
    }
    take(datagram, from as Deno.NetAddr);
  }
}
