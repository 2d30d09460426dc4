/**
 * A buffered reader for HTTP/1.x over a {@linkcode Duplex}: finds message
 * heads, then hands the body out in the chunks it already holds, so bodies
 * stream through one reused buffer without being collected. It reads with
 * `read()` even where the source offers `readChunk()`: a mux stream copies
 * straight into a waiting reader's buffer, while a chunk handed over is a
 * fresh small array per message, which costs more than the copy.
 *
 * @example
 * ```ts
 * import { HttpReader } from "./http_reader.ts";
 * const conn = await Deno.connect({ port: 80 });
 * const reader = new HttpReader(conn);
 * const head = await reader.readHead(64 * 1024); // bytes up to the blank line
 * ```
 *
 * @module
 */

import type { Duplex } from "../../net/duplex.ts";
import { findHeadEnd, HttpError } from "./http_parser.ts";

const EMPTY = new Uint8Array(0);
/** First buffer; enough for most heads and small bodies. */
const INITIAL_BUFFER = 16 * 1024;
/** A busy body stream grows the buffer to this. */
const MAX_BUFFER = 256 * 1024;

/** See the module doc. */
export class HttpReader {
  #buf: Uint8Array = EMPTY;
  /** Unread bytes: a view of `#buf`. */
  #data: Uint8Array = EMPTY;
  #scanned = 0;

  /** @param src the stream to read */
  constructor(readonly src: Duplex) {}

  /** How many unread bytes are held. */
  get buffered(): number {
    return this.#data.length;
  }

  /**
   * The unread bytes held, without reading (empty when none): a view valid
   * until {@linkcode consume} and the next read.
   */
  get held(): Uint8Array {
    return this.#data;
  }

  /**
   * Reads until a complete head is held and returns it (a view valid until
   * the next call). Resolves to null when the stream ends before any byte.
   * Throws {@linkcode HttpError} 431 past `limit` bytes, and
   * `Deno.errors.UnexpectedEof` when the stream ends inside a head.
   */
  async readHead(limit: number, tooLargeStatus = 431): Promise<Uint8Array | null> {
    for (;;) {
      const end = findHeadEnd(this.#data, this.#scanned);
      if (end >= 0) {
        const head = this.#data.subarray(0, end);
        this.#data = this.#data.subarray(end);
        this.#scanned = 0;
        return head;
      }
      if (this.#data.length >= limit) {
        throw new HttpError(tooLargeStatus, `message head larger than ${limit} bytes`);
      }
      this.#scanned = Math.max(0, this.#data.length - 3);
      const had = this.#data.length;
      if (!this.#filled(await this.#read())) {
        if (had === 0) return null;
        throw new Deno.errors.UnexpectedEof("stream ended inside a message head");
      }
    }
  }

  /**
   * The unread bytes held, reading more first when none are; null at end of
   * stream. The view stays valid until {@linkcode consume} and the next read.
   */
  async peek(): Promise<Uint8Array | null> {
    if (this.#data.length === 0 && !this.#filled(await this.#read())) return null;
    return this.#data;
  }

  /** Marks the first `n` bytes of what {@linkcode peek} returned as read. */
  consume(n: number): void {
    this.#data = this.#data.subarray(n);
  }

  /** Takes every unread byte held (for a protocol switch); the view is the caller's. */
  drain(): Uint8Array {
    const out = this.#data;
    this.#data = EMPTY;
    return out;
  }

  /**
   * Reads what the source yields next in behind `#data`; {@linkcode #filled}
   * takes the count. Two plain methods rather than one async one: a read
   * per message then costs one promise, not two.
   */
  #read(): Promise<number | null> {
    const held = this.#data.length;
    if (held === 0) {
      if (this.#buf.length === 0) this.#buf = new Uint8Array(INITIAL_BUFFER);
      return this.src.read(this.#buf);
    }
    // A head split across reads: gather it at the start of our own buffer.
    if (this.#buf.length < held * 2 || this.#buf.length < INITIAL_BUFFER) {
      const bigger = new Uint8Array(Math.max(INITIAL_BUFFER, held * 2));
      bigger.set(this.#data);
      this.#buf = bigger;
      this.#data = bigger.subarray(0, held);
    } else if (this.#data.byteOffset !== 0) {
      this.#buf.copyWithin(0, this.#data.byteOffset, this.#data.byteOffset + held);
      this.#data = this.#buf.subarray(0, held);
    }
    return this.src.read(this.#buf.subarray(held));
  }

  /** Adds `n` bytes read by {@linkcode #read} to `#data`; false at end of stream. */
  #filled(n: number | null): boolean {
    if (n === null) return false;
    const held = this.#data.length;
    if (held > 0) {
      this.#data = this.#buf.subarray(0, held + n);
      return true;
    }
    this.#data = this.#buf.subarray(0, n);
    // A full read means bulk data is flowing: read bigger next time.
    if (n === this.#buf.length && this.#buf.length < MAX_BUFFER) {
      this.#buf = new Uint8Array(this.#buf.length * 4);
      this.#buf.set(this.#data);
      this.#data = this.#buf.subarray(0, n);
    }
    return true;
  }
}
