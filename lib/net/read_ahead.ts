/**
 * A connection whose first read has already been started, so its bytes can
 * travel with whatever is sent first on the other side (the server's
 * `StartWorkConn`): Deno polls a read once when it is called, so bytes that
 * were already waiting settle it within a few microtask turns, and a
 * protocol where the server speaks first simply finds it still pending and
 * relays as usual.
 *
 * @example
 * ```ts
 * import { ReadAhead } from "./read_ahead.ts";
 * import { wrapTcp } from "./tcp_conn.ts";
 * const listener = Deno.listen({ port: 0 });
 * const user = new ReadAhead(wrapTcp(await listener.accept()), 1024);
 * await user.settle();
 * const head = user.takeHead(); // the first bytes, or null if none came yet
 * ```
 *
 * @module
 */

import type { Duplex } from "./duplex.ts";

/** See the module doc. Reads go to `inner` once the first one is consumed. */
export class ReadAhead implements Duplex {
  #buf: Uint8Array;
  #first: Promise<number | null> | null;
  #rest: Uint8Array | null = null;
  #got: number | null | undefined = undefined;

  /**
   * @param inner the connection; its first read starts now
   * @param size the most bytes that first read takes
   */
  constructor(readonly inner: Duplex, size: number) {
    this.#buf = new Uint8Array(size);
    const first = inner.read(this.#buf);
    this.#first = first;
    // A failed read is reported to whoever reads next, not here.
    first.then((n) => this.#got = n, () => {});
  }

  /** Waits a few microtask turns: long enough for a read whose bytes were waiting. */
  async settle(turns = 8): Promise<void> {
    for (let i = 0; i < turns && this.#got === undefined; i++) await null;
  }

  /**
   * The first read's bytes if it has settled with some: they are the
   * caller's to send, and reads continue after them. Otherwise null.
   */
  takeHead(): Uint8Array | null {
    const n = this.#got;
    if (this.#first === null || typeof n !== "number") return null;
    this.#first = null;
    return this.#buf.subarray(0, n);
  }

  /** The first read's result (pending or not), then straight from `inner`. */
  read(p: Uint8Array): Promise<number | null> {
    const rest = this.#rest;
    if (rest) {
      const k = Math.min(rest.length, p.length);
      p.set(rest.subarray(0, k));
      this.#rest = k < rest.length ? rest.subarray(k) : null;
      return Promise.resolve(k);
    }
    const first = this.#first;
    if (first === null) return this.inner.read(p);
    this.#first = null;
    return first.then((n) => {
      if (n === null) return null;
      const k = Math.min(n, p.length);
      p.set(this.#buf.subarray(0, k));
      if (k < n) this.#rest = this.#buf.subarray(k, n);
      return k;
    });
  }

  /** Writes to `inner`. */
  write(p: Uint8Array): Promise<number> {
    return this.inner.write(p);
  }

  /** Half-closes `inner`. */
  closeWrite(): Promise<void> {
    return this.inner.closeWrite();
  }

  /** Closes `inner`. */
  close(): void {
    this.inner.close();
  }
}
