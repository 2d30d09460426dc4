/**
 * One QUIC bidirectional stream of an xtcp tunnel as a `Duplex`, so the
 * ordinary relay loop carries it. QUIC delivers chunks of its own choosing;
 * `read` copies from the current chunk into the caller's reused buffer and
 * keeps the rest for the next call.
 *
 * @example
 * ```ts
 * import { QuicStreamDuplex } from "./quic_stream.ts";
 * declare const conn: Deno.QuicConn;
 * const stream = new QuicStreamDuplex(await conn.createBidirectionalStream());
 * await stream.write(new TextEncoder().encode("hi"));
 * ```
 *
 * @module
 */

import type { Duplex } from "../net/duplex.ts";

/** See the module doc. */
export class QuicStreamDuplex implements Duplex {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #pending: Uint8Array | null = null;
  #closed = false;

  /** @param stream the stream to own */
  constructor(stream: Deno.QuicBidirectionalStream) {
    this.#reader = stream.readable.getReader();
    this.#writer = stream.writable.getWriter();
  }

  /** The next chunk as QUIC delivered it (the caller owns it), or null at FIN. */
  async readChunk(): Promise<Uint8Array | null> {
    if (this.#pending) {
      const chunk = this.#pending;
      this.#pending = null;
      return chunk;
    }
    for (;;) {
      const { value, done } = await this.#reader.read();
      if (done) return null;
      if (value.length > 0) return value;
    }
  }

  /** Reads into `p`. */
  async read(p: Uint8Array): Promise<number | null> {
    const chunk = await this.readChunk();
    if (chunk === null) return null;
    const n = Math.min(p.length, chunk.length);
    p.set(n === chunk.length ? chunk : chunk.subarray(0, n));
    if (n < chunk.length) this.#pending = chunk.subarray(n);
    return n;
  }

  /**
   * Writes all of `p`. The stream keeps the bytes it is given until they are
   * acknowledged, and relays reuse their buffer, so it gets a copy.
   */
  async write(p: Uint8Array): Promise<number> {
    await this.#writer.write(p.slice());
    return p.length;
  }

  /** Sends FIN. */
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
