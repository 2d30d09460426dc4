/**
 * A connection whose first bytes were already read (to sniff the protocol)
 * and are handed out again before the rest, so a listener can peek and pass
 * the connection on untouched.
 *
 * @example
 * ```ts
 * import { PrefixedConn } from "./prefixed_conn.ts";
 * import { wrapTcp } from "./tcp_conn.ts";
 * const listener = Deno.listen({ port: 0 });
 * const raw = wrapTcp(await listener.accept());
 * const head = new Uint8Array(4);
 * const n = (await raw.read(head)) ?? 0;
 * const conn = new PrefixedConn(raw, head.subarray(0, n)); // reads start at head again
 * ```
 *
 * @module
 */

import type { TransportConn } from "./duplex.ts";

/** See the module doc. */
export class PrefixedConn implements TransportConn {
  #prefix: Uint8Array | null;

  /**
   * @param inner the connection to read on from
   * @param prefix bytes already taken from `inner`
   */
  constructor(readonly inner: TransportConn, prefix: Uint8Array) {
    this.#prefix = prefix.length > 0 ? prefix : null;
  }

  /** Peer address of the inner connection. */
  get remoteAddr(): string {
    return this.inner.remoteAddr;
  }

  /** Reads the prefix first, then from the inner connection. */
  read(p: Uint8Array): Promise<number | null> {
    const prefix = this.#prefix;
    if (prefix === null) return this.inner.read(p);
    const n = Math.min(p.length, prefix.length);
    p.set(prefix.subarray(0, n));
    this.#prefix = n < prefix.length ? prefix.subarray(n) : null;
    return Promise.resolve(n);
  }

  /** Writes to the inner connection. */
  write(p: Uint8Array): Promise<number> {
    return this.inner.write(p);
  }

  /** Half-closes the inner connection. */
  closeWrite(): Promise<void> {
    return this.inner.closeWrite();
  }

  /** Closes the inner connection. */
  close(): void {
    this.inner.close();
  }
}
