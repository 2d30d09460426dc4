/**
 * A QUIC bidirectional stream as a {@linkcode TransportConn}, so the
 * ordinary relay loop carries it: the QUIC transport to the server and the
 * xtcp tunnel between peers both use it. `read` fills a reused buffer of
 * its own with a BYOB read (the caller's buffer cannot be lent: a BYOB read
 * detaches it), copies into the caller's buffer and keeps the rest for the
 * next call.
 *
 * @example
 * ```ts
 * import { QuicStreamConn } from "./quic_stream.ts";
 * declare const conn: Deno.QuicConn;
 * const stream = new QuicStreamConn(await conn.createBidirectionalStream(), "10.0.0.2:7000");
 * await stream.write(new TextEncoder().encode("hi"));
 * ```
 *
 * @module
 */

import { ChunkReader } from "../net/chunk_reader.ts";
import type { TransportConn } from "./transport.ts";

/** First size of the reused read buffer; it grows ×4 while reads fill it. */
const FIRST_READ = 16 * 1024;
/** Largest reused read buffer (a read takes at most this much at once). */
const MAX_READ = 256 * 1024;
/** Size of the fresh buffer {@linkcode QuicStreamConn.readChunk} reads into. */
const CHUNK = 64 * 1024;

/** A QUIC bidirectional stream as a {@linkcode TransportConn}. */
export class QuicStreamConn extends ChunkReader implements TransportConn {
  #reader: ReadableStreamBYOBReader;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  /**
   * The reused buffer `read` fills: a BYOB read transfers it and hands it
   * back, so no chunk is allocated per read (Deno's default reader allocates
   * 64 KiB per read and returns ~50 KiB: measured 1300 reads per 64 MiB
   * against 520 with BYOB into 256 KiB).
   */
  #buf: Uint8Array | null = null;
  #closed = false;

  /**
   * @param stream the stream to own
   * @param remoteAddr "host:port" of the peer
   */
  constructor(stream: Deno.QuicBidirectionalStream, readonly remoteAddr: string) {
    super();
    this.#reader = stream.readable.getReader({ mode: "byob" });
    this.#writer = stream.writable.getWriter();
  }

  /**
   * BYOB-reads into `view`; null at the stream's FIN. With `reused`, `view`
   * is the reused buffer: it comes back as `#buf`, grown ×4 when the read
   * filled it.
   */
  async #fill(view: Uint8Array, reused: boolean): Promise<Uint8Array | null> {
    for (;;) {
      const { value, done } = await this.#reader.read(view);
      if (done || !value) return null;
      if (value.length > 0) {
        if (reused) {
          const full = value.length === value.buffer.byteLength;
          this.#buf = full && value.length < MAX_READ
            ? new Uint8Array(value.length * 4)
            : new Uint8Array(value.buffer);
        }
        return value;
      }
      view = new Uint8Array(value.buffer);
    }
  }

  /** A fresh chunk, the caller's to keep, or null at the stream's FIN. */
  protected nextChunk(): Promise<Uint8Array | null> {
    return this.#fill(new Uint8Array(CHUNK), false);
  }

  /** A view into the reused buffer, which grows while reads fill it. */
  protected override nextChunkForRead(): Promise<Uint8Array | null> {
    return this.#fill(this.#buf ?? new Uint8Array(FIRST_READ), true);
  }

  /** A pending view into the reused buffer must not outlive the next read. */
  protected override keep(chunk: Uint8Array): Uint8Array {
    return chunk.buffer === this.#buf?.buffer ? chunk.slice() : chunk;
  }

  /**
   * Writes all of `p`. Deno's QUIC sink has taken its own copy once the write
   * resolves (hash-checked transfers under 5% loss pass with a reused relay
   * buffer), so no copy is made here.
   */
  async write(p: Uint8Array): Promise<number> {
    await this.#writer.write(p);
    return p.length;
  }

  /** Sends FIN on the stream. */
  async closeWrite(): Promise<void> {
    try {
      await this.#writer.close();
    } catch {
      // Already closed or reset.
    }
  }

  /** Resets both directions. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#writer.abort().catch(() => {});
    this.#reader.cancel().catch(() => {});
  }
}
