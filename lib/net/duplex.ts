/**
 * The one byte-stream shape every layer above the transport speaks.
 *
 * `Deno.Conn` already satisfies it, and so does a multiplexed stream
 * (`lib/mux/`), so a relay, a proxy or a plugin never needs to know whether
 * it holds a socket or a stream inside a shared connection.
 *
 * @example
 * ```ts
 * import type { Duplex } from "./duplex.ts";
 * const conn: Duplex = await Deno.connect({ port: 80 });
 * await conn.write(new TextEncoder().encode("GET / HTTP/1.0\r\n\r\n"));
 * ```
 *
 * @module
 */

/** A readable, writable, half-closable byte stream. */
export interface Duplex {
  /** Reads into `p`; resolves to the byte count, or `null` at end of stream. */
  read(p: Uint8Array): Promise<number | null>;
  /** Writes some of `p`; resolves to how many bytes were taken (maybe fewer than `p.length`). */
  write(p: Uint8Array): Promise<number>;
  /** Ends the writing half: the peer reads end of stream, and may still send. */
  closeWrite(): Promise<void>;
  /** Closes both halves and frees the resources; safe to call more than once. */
  close(): void;
  /**
   * Optional zero-copy read: the next chunk as the stream holds it, or `null` at
   * end of stream. The caller owns the chunk. For parsers that keep what they
   * read; bulk copies use `read()` into a reused buffer, which is faster.
   */
  readChunk?(): Promise<Uint8Array | null>;
  /**
   * Optional: aborts once the stream is broken from the other side (a mux
   * stream reset, or its session died before the peer's end of stream), so
   * that whoever relays it can close the other end even while blocked on it.
   */
  readonly signal?: AbortSignal;
  /**
   * Optional, the cheap form of `signal` for one owner: calls `cb` once when
   * the stream breaks (at once if it has); returns a function that forgets it.
   */
  onBreak?(cb: () => void): () => void;
  /** Optional abort: the peer sees a reset rather than a clean end of stream. */
  reset?(): void;
  /**
   * Optional: writes all of `p` at once and returns true when that needs no
   * waiting; otherwise writes nothing and returns false (call `write`). Lets
   * a relay skip an `await` per chunk (a mux stream with window and room).
   */
  tryWrite?(p: Uint8Array): boolean;
}

/**
 * A connection to a peer, as a transport (TCP, TLS, WebSocket, QUIC) produces
 * it: a {@linkcode Duplex} with the peer's address for logs and limits.
 *
 * @example
 * ```ts
 * import type { TransportConn } from "./duplex.ts";
 * function describe(conn: TransportConn): string {
 *   return `connection from ${conn.remoteAddr}`;
 * }
 * ```
 */
export interface TransportConn extends Duplex {
  /** "host:port" of the peer. */
  readonly remoteAddr: string;
}

/**
 * Writes all of `data`, looping over short writes.
 *
 * @example
 * ```ts
 * import { writeAll } from "./duplex.ts";
 * const conn = await Deno.connect({ port: 7 });
 * await writeAll(conn, new Uint8Array(1 << 20));
 * ```
 */
export async function writeAll(w: Pick<Duplex, "write">, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) {
    off += await w.write(off === 0 ? data : data.subarray(off));
  }
}

/**
 * Reads exactly `p.length` bytes, or throws if the stream ends first.
 *
 * @example
 * ```ts
 * import { readFull } from "./duplex.ts";
 * const conn = await Deno.connect({ port: 7 });
 * const header = new Uint8Array(8);
 * await readFull(conn, header);
 * ```
 */
export async function readFull(r: Pick<Duplex, "read">, p: Uint8Array): Promise<void> {
  let off = 0;
  while (off < p.length) {
    const n = await r.read(p.subarray(off));
    if (n === null) {
      throw new Deno.errors.UnexpectedEof(`stream ended after ${off} of ${p.length} bytes`);
    }
    off += n;
  }
}
