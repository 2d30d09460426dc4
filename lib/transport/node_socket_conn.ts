/**
 * Bridges between Node-style streams (what `node:tls` speaks) and dfrp's
 * {@linkcode TransportConn}, both ways:
 *
 * - {@linkcode NodeSocketConn} wraps a `net.Socket` / `tls.TLSSocket` so the
 *   mux, relays and proxies can read and write it like any connection;
 * - {@linkcode toNodeStream} wraps a `TransportConn` as a `stream.Duplex`, so
 *   `node:tls` can run on top of a connection whose first bytes were already
 *   peeked, or on top of a proxy tunnel or a WebSocket.
 *
 * Deno's own TLS cannot verify client certificates, skip verification per
 * connection, or start a server handshake on an accepted socket; `node:tls`
 * can, hence this bridge.
 *
 * @example
 * ```ts
 * import tls from "node:tls";
 * import { NodeSocketConn } from "./node_socket_conn.ts";
 * const socket = tls.connect({ host: "127.0.0.1", port: 7000, rejectUnauthorized: false });
 * const conn = new NodeSocketConn(socket, "127.0.0.1:7000");
 * await conn.write(new Uint8Array([1, 2, 3]));
 * ```
 *
 * @module
 */

import { Duplex as NodeDuplex } from "node:stream";
import { ChunkQueue, type FlowControl } from "../net/chunk_queue.ts";
import type { NodeStreamLike } from "../net/node_stream.ts";
import type { TransportConn } from "./transport.ts";

export type { FlowControl } from "../net/chunk_queue.ts";

/** The parts of a Node socket this adapter uses. */
export type NodeSocketLike = NodeStreamLike;

/**
 * Received bytes held before the flow is paused (back-pressure). Pausing
 * stalls the TLS pump for a round trip, so the bar sits above one mux stream
 * window's worth of records: 1 MiB doubled tunnel throughput over 256 KiB.
 */
const QUEUE_HIGH = 1024 * 1024;

/** A Node socket as a {@linkcode TransportConn}. */
export class NodeSocketConn extends ChunkQueue implements TransportConn {
  #closed = false;

  /**
   * @param socket a socket; data may arrive as soon as this is constructed
   * @param remoteAddr "host:port" of the peer, for logs
   * @param earlyEof when the stream ends before its first byte, throw this
   *   instead of reporting end of stream (a TLS 1.3 server refuses a client
   *   certificate only after the client's handshake is done)
   * @param flow how to stop and restart received data; by default the
   *   socket's own pause/resume
   */
  constructor(
    readonly socket: NodeSocketLike,
    readonly remoteAddr: string,
    readonly earlyEof?: () => Error,
    flow: FlowControl = socket,
  ) {
    super(QUEUE_HIGH, flow);
    // Flowing mode: Deno's node:tls loses 'end' after a paused spell (both in
    // 'readable' mode and after pause()/resume()), so a TLS socket is never
    // paused: `flow` holds back its ciphertext source instead.
    socket.on("data", (chunk: Uint8Array) => this.push(chunk));
    socket.on("end", () => this.finish());
    socket.on("error", (err: Error) => this.fail(err));
    socket.on("close", () => this.finish());
  }

  /** An end or error before the first byte is `earlyEof`'s error. */
  protected override endError(error: Error | null): Error | null {
    return !this.received && this.earlyEof ? this.earlyEof() : error;
  }

  /**
   * Writes all of `p`. The socket gets a copy, so the caller may reuse `p` at
   * once; the promise resolves at once too unless the socket's buffer is
   * full (then on 'drain'). Waiting for each write's callback instead would
   * cost a round trip through the TLS engine per chunk (3x slower).
   */
  write(p: Uint8Array): Promise<number> {
    if (this.error) return Promise.reject(this.error);
    if (this.#closed || this.socket.destroyed) {
      return Promise.reject(new Deno.errors.BrokenPipe("connection closed"));
    }
    if (this.socket.write(p.slice())) return Promise.resolve(p.length);
    return new Promise((resolve, reject) => {
      const done = (err?: Error) => {
        this.socket.removeListener("drain", onDrain);
        this.socket.removeListener("close", onClose);
        this.socket.removeListener("error", done);
        err ? reject(err) : resolve(p.length);
      };
      const onDrain = () => done();
      const onClose = () => done(new Deno.errors.BrokenPipe("connection closed"));
      this.socket.once("drain", onDrain);
      this.socket.once("close", onClose);
      this.socket.once("error", done);
    });
  }

  /** Ends the writing half (for TLS: a close_notify, then FIN). */
  closeWrite(): Promise<void> {
    if (this.#closed || this.socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      try {
        this.socket.end(() => resolve());
      } catch {
        resolve();
      }
      // A peer that never reads must not hang the caller.
      this.socket.once("error", () => resolve());
      this.socket.once("close", () => resolve());
    });
  }

  /** Destroys the socket once. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.socket.destroy();
    this.stop();
  }
}

/** A Node `stream.Duplex` over a connection, whose reading can be held. */
export interface NodeStreamOverConn extends NodeDuplex {
  /** Stops and restarts reading from the connection. */
  readonly flow: FlowControl;
}

/**
 * A {@linkcode TransportConn} as a Node `stream.Duplex`, for `node:tls` to
 * run over. Reads are pulled on demand (Node's back-pressure) unless `flow`
 * holds them; writes wait for the connection to take them.
 *
 * @example
 * ```ts
 * import tls from "node:tls";
 * import { toNodeStream } from "./node_socket_conn.ts";
 * import { dialTcp } from "../net/tcp_conn.ts";
 * const raw = await dialTcp("127.0.0.1", 7000, 5000);
 * const socket = tls.connect({ socket: toNodeStream(raw), rejectUnauthorized: false });
 * ```
 */
export function toNodeStream(conn: TransportConn): NodeStreamOverConn {
  let reading = false;
  let scratch: Uint8Array | null = null;
  let held = false;
  let release: (() => void) | null = null;
  const flow: FlowControl = {
    pause() {
      held = true;
    },
    resume() {
      held = false;
      const r = release;
      release = null;
      r?.();
    },
  };
  const stream = new NodeDuplex({
    allowHalfOpen: true,
    read() {
      if (reading) return;
      reading = true;
      (async () => {
        try {
          for (;;) {
            while (held) await new Promise<void>((r) => release = r);
            // The chunk goes to Node, which keeps it: a fresh buffer each time.
            const chunk = conn.readChunk
              ? await conn.readChunk()
              : await readCopy(conn, scratch ??= new Uint8Array(64 * 1024));
            if (chunk === null) {
              stream.push(null);
              return;
            }
            if (!stream.push(chunk)) break;
          }
        } catch (err) {
          stream.destroy(err as Error);
        } finally {
          reading = false;
        }
      })();
    },
    write(chunk: Uint8Array, _enc, cb) {
      writeAllTo(conn, chunk).then(() => cb(), (err) => cb(err));
    },
    final(cb) {
      conn.closeWrite().then(() => cb(), () => cb());
    },
    destroy(err, cb) {
      flow.resume();
      conn.close();
      cb(err);
    },
  });
  return Object.assign(stream, { flow });
}

async function readCopy(conn: TransportConn, scratch: Uint8Array): Promise<Uint8Array | null> {
  const n = await conn.read(scratch);
  return n === null ? null : scratch.slice(0, n);
}

async function writeAllTo(conn: TransportConn, data: Uint8Array): Promise<void> {
  for (let off = 0; off < data.length;) off += await conn.write(data.subarray(off));
}
