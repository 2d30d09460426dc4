/**
 * `transport.useCompression`: a {@linkcode Duplex} whose bytes cross the
 * wire as one raw DEFLATE stream per direction (the Web
 * `CompressionStream("deflate-raw")`).
 *
 * Deno's compressor ends every written chunk with a sync flush (the
 * `00 00 ff ff` marker), so the peer can inflate each write at once: an
 * interactive session (ssh, a shell) never waits for a full block, while
 * the dictionary still carries over between writes. `closeWrite` finishes
 * the stream, so the peer tells a finished stream from a truncated one.
 *
 * @example
 * ```ts
 * import { CompressedConn } from "./compressed_conn.ts";
 * const raw = await Deno.connect({ port: 7000 });
 * const conn = new CompressedConn(raw);
 * await conn.write(new TextEncoder().encode("hello hello hello"));
 * ```
 *
 * @module
 */

import { type Duplex, writeAll } from "./duplex.ts";

/** Bytes read from the inner stream at a time. */
const READ_BUFFER = 64 * 1024;

/** See the module doc. */
export class CompressedConn implements Duplex {
  #deflate = new CompressionStream("deflate-raw");
  #deflateIn = this.#deflate.writable.getWriter();
  #sending: Promise<void>;
  #inflate = new DecompressionStream("deflate-raw");
  #inflateOut = this.#inflate.readable.getReader();
  #receiving?: Promise<void>;
  #plain: Uint8Array = new Uint8Array(0);
  #ended = false;
  #sendError?: Error;

  /**
   * @param inner the stream that carries the compressed bytes
   * @param onError told why the stream was given up (corrupt input...)
   */
  constructor(readonly inner: Duplex, readonly onError?: (reason: string) => void) {
    this.#sending = this.#pumpOut();
  }

  // Compressed output goes to the wire as the compressor yields it; the
  // stream's back-pressure holds the next write until this loop took it.
  async #pumpOut(): Promise<void> {
    const reader = this.#deflate.readable.getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        if (value.length > 0) await writeAll(this.inner, value);
      }
    } catch (err) {
      this.#sendError = err as Error;
      reader.cancel(err).catch(() => {});
      this.inner.close();
    }
  }

  // The inflater's back-pressure paces this loop, so `buf` can be reused:
  // a write resolves only once the inflater consumed the chunk.
  async #pumpIn(): Promise<void> {
    const writer = this.#inflate.writable.getWriter();
    const buf = new Uint8Array(READ_BUFFER);
    try {
      for (let n; (n = await this.inner.read(buf)) !== null;) {
        await writer.write(buf.subarray(0, n));
      }
      await writer.close();
    } catch (err) {
      await writer.abort(err).catch(() => {});
    }
  }

  /** Reads inflated bytes; null when the peer finished its stream. */
  async read(p: Uint8Array): Promise<number | null> {
    while (this.#plain.length === 0) {
      if (this.#ended) return null;
      this.#receiving ??= this.#pumpIn();
      let chunk;
      try {
        chunk = await this.#inflateOut.read();
      } catch (err) {
        const reason = `compressed stream dropped: ${(err as Error).message}`;
        this.onError?.(reason);
        this.inner.close();
        throw new Error(reason);
      }
      if (chunk.done) {
        this.#ended = true;
        return null;
      }
      this.#plain = chunk.value;
    }
    const n = Math.min(p.length, this.#plain.length);
    p.set(this.#plain.subarray(0, n));
    this.#plain = this.#plain.subarray(n);
    return n;
  }

  /** Compresses and flushes all of `p`. */
  async write(p: Uint8Array): Promise<number> {
    if (this.#sendError) throw this.#sendError;
    if (p.length === 0) return 0;
    await this.#deflateIn.write(p as Uint8Array<ArrayBuffer>);
    if (this.#sendError) throw this.#sendError;
    return p.length;
  }

  /** Finishes the compressed stream, then ends the inner writing half. */
  async closeWrite(): Promise<void> {
    await this.#deflateIn.close();
    await this.#sending;
    if (this.#sendError) throw this.#sendError;
    await this.inner.closeWrite();
  }

  /** Closes the inner stream and drops both codecs. */
  close(): void {
    this.inner.close();
    this.#deflateIn.abort().catch(() => {});
    this.#inflateOut.cancel().catch(() => {});
  }

  /** The inner stream's: aborts when it breaks (see `Duplex.signal`). */
  get signal(): AbortSignal | undefined {
    return this.inner.signal;
  }

  /** Resets the inner stream (closes it if it cannot reset), then closes. */
  reset(): void {
    this.inner.reset?.();
    this.close();
  }
}
