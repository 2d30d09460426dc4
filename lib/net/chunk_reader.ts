/**
 * The reading half shared by adapters whose source hands out whole chunks
 * (a Node stream's `data` events, a QUIC stream's reads): `readChunk` gives
 * the next chunk, `read` copies into the caller's buffer and keeps what did
 * not fit for the next call. A subclass says only where chunks come from.
 *
 * @example
 * ```ts
 * import { ChunkReader } from "./chunk_reader.ts";
 * class OneChunk extends ChunkReader {
 *   #left: Uint8Array | null = new TextEncoder().encode("hello");
 *   protected nextChunk(): Promise<Uint8Array | null> {
 *     const chunk = this.#left;
 *     this.#left = null;
 *     return Promise.resolve(chunk);
 *   }
 * }
 * const reader = new OneChunk();
 * const p = new Uint8Array(3);
 * await reader.read(p); // 3: "hel"; "lo" waits for the next read
 * ```
 *
 * @module
 */

/** See the module doc. */
export abstract class ChunkReader {
  /** Bytes read but not yet returned. */
  #pending: Uint8Array | null = null;

  /** The next chunk from the source, the caller's to keep; null at end of stream. */
  protected abstract nextChunk(): Promise<Uint8Array | null>;

  /**
   * The next chunk for {@linkcode ChunkReader.read}, which copies it out at
   * once: a source may return a view into a buffer it reuses. By default
   * {@linkcode ChunkReader.nextChunk}.
   */
  protected nextChunkForRead(): Promise<Uint8Array | null> {
    return this.nextChunk();
  }

  /**
   * A pending chunk about to be handed out by
   * {@linkcode ChunkReader.readChunk}: a source that reuses its buffer
   * copies it here. By default the chunk itself.
   */
  protected keep(chunk: Uint8Array): Uint8Array {
    return chunk;
  }

  /** Next chunk as the source delivered it (no copy), or null at end of stream. */
  readChunk(): Promise<Uint8Array | null> {
    const chunk = this.#pending;
    if (chunk === null) return this.nextChunk();
    this.#pending = null;
    return Promise.resolve(this.keep(chunk));
  }

  /** Reads into `p`. */
  async read(p: Uint8Array): Promise<number | null> {
    let chunk = this.#pending;
    this.#pending = null;
    if (chunk === null) {
      chunk = await this.nextChunkForRead();
      if (chunk === null) return null;
    }
    const n = Math.min(p.length, chunk.length);
    p.set(n === chunk.length ? chunk : chunk.subarray(0, n));
    if (n < chunk.length) this.#pending = chunk.subarray(n);
    return n;
  }
}
