/**
 * Finds where a chunked body ends without changing a byte of it: the proxy
 * forwards chunked bodies as they are (sizes, extensions, trailers) and only
 * needs to know where the next message on a keep-alive connection starts.
 *
 * Every line of the framing must end in CRLF (RFC 9112 §7.1): a bare LF is a
 * framing error. Servers that accept a bare LF and servers that do not find
 * different ends for the same body, which is how request smuggling starts, so
 * such a body is refused instead of forwarded.
 *
 * @example
 * ```ts
 * import { ChunkedScanner } from "./chunked.ts";
 * const scanner = new ChunkedScanner();
 * const body = new TextEncoder().encode("3\r\nabc\r\n0\r\n\r\nGET /next");
 * scanner.scan(body); // 15: the bytes that belong to this body
 * scanner.done; // true
 * ```
 *
 * @module
 */

import { HttpError } from "./http_parser.ts";

enum State {
  Size,
  Ext,
  SizeLf,
  Data,
  DataCr,
  DataLf,
  TrailerStart,
  Trailer,
  TrailerLf,
  EndLf,
  Done,
}

/** A size line or trailer line longer than this is refused. */
export const MAX_CHUNK_LINE = 4096;

/** See the module doc. One scanner per body. */
export class ChunkedScanner {
  #state = State.Size;
  #size = 0;
  #digits = 0;
  #line = 0;
  #remaining = 0;

  /**
   * @param status the HTTP status a framing error carries (400 for a
   * request body, 502 for a response body)
   */
  constructor(readonly status = 400) {}

  /** Whether the last chunk and trailers have been seen. */
  get done(): boolean {
    return this.#state === State.Done;
  }

  /**
   * Consumes the bytes of `p` that belong to the body; returns how many
   * (less than `p.length` only when the body ended inside `p`). Throws
   * {@linkcode HttpError} on a framing error.
   */
  scan(p: Uint8Array): number {
    let i = 0;
    while (i < p.length) {
      const state = this.#state;
      if (state === State.Done) return i;
      if (state === State.Data) {
        const n = Math.min(this.#remaining, p.length - i);
        this.#remaining -= n;
        i += n;
        if (this.#remaining === 0) this.#state = State.DataCr;
        continue;
      }
      this.#byte(p[i++]);
    }
    return i;
  }

  #fail(what: string): never {
    throw new HttpError(this.status, `bad chunked encoding: ${what}`);
  }

  #byte(b: number): void {
    if (++this.#line > MAX_CHUNK_LINE) this.#fail("line too long");
    switch (this.#state) {
      case State.Size: {
        const digit = hexValue(b);
        if (digit >= 0) {
          if (++this.#digits > 12) this.#fail("chunk size too large");
          this.#size = this.#size * 16 + digit;
        } else if (this.#digits === 0) {
          this.#fail("missing chunk size");
        } else if (b === 0x3b || b === 0x20 || b === 0x09) {
          this.#state = State.Ext;
        } else if (b === 0x0d) {
          this.#state = State.SizeLf;
        } else if (b === 0x0a) {
          this.#bareLf("chunk size");
        } else {
          this.#fail("invalid character in chunk size");
        }
        return;
      }
      case State.Ext:
        if (b === 0x0d) this.#state = State.SizeLf;
        else if (b === 0x0a) this.#bareLf("chunk extension");
        return;
      case State.SizeLf:
        if (b !== 0x0a) this.#fail("expected LF after chunk size");
        return this.#sizeLineEnd();
      case State.DataCr:
        if (b === 0x0d) this.#state = State.DataLf;
        else if (b === 0x0a) this.#bareLf("chunk data");
        else this.#fail("chunk data longer than its size");
        return;
      case State.DataLf:
        if (b !== 0x0a) this.#fail("expected LF after chunk data");
        return this.#nextChunk();
      case State.TrailerStart:
        this.#line = 1;
        if (b === 0x0d) this.#state = State.EndLf;
        else if (b === 0x0a) this.#bareLf("the last chunk");
        else this.#state = State.Trailer;
        return;
      case State.Trailer:
        if (b === 0x0d) this.#state = State.TrailerLf;
        else if (b === 0x0a) this.#bareLf("a trailer");
        return;
      case State.TrailerLf:
        if (b !== 0x0a) this.#fail("expected LF after trailer");
        this.#state = State.TrailerStart;
        return;
      case State.EndLf:
        if (b !== 0x0a) this.#fail("expected LF at the end of the body");
        this.#state = State.Done;
        return;
    }
  }

  #bareLf(after: string): never {
    this.#fail(`bare LF after ${after} (lines end in CRLF)`);
  }

  #sizeLineEnd(): void {
    if (this.#size === 0) {
      this.#state = State.TrailerStart;
    } else {
      this.#remaining = this.#size;
      this.#state = State.Data;
    }
  }

  #nextChunk(): void {
    this.#state = State.Size;
    this.#size = 0;
    this.#digits = 0;
    this.#line = 0;
  }
}

function hexValue(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  if (b >= 0x61 && b <= 0x66) return b - 0x57;
  if (b >= 0x41 && b <= 0x46) return b - 0x37;
  return -1;
}
