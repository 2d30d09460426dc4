/**
 * The single writer of a session: frames from every stream are copied into one
 * owned buffer while the previous buffer is being written to the connection,
 * so many small frames leave in one `conn.write` and a payload is copied
 * exactly once on the way out.
 *
 * @example
 * ```ts
 * import { WriteQueue } from "./write_queue.ts";
 * import { TYPE_PING, FLAG_SYN } from "./frame.ts";
 * const conn = await Deno.connect({ port: 7000 });
 * const q = new WriteQueue(conn, (err) => console.error(err));
 * q.control(TYPE_PING, FLAG_SYN, 0, 1);
 * await q.drained();
 * ```
 *
 * @module
 */

import { type Duplex, writeAll } from "../net/duplex.ts";
import { encodeHeader, HEADER_SIZE, TYPE_DATA } from "./frame.ts";
import { copyBytes } from "./copy.ts";

/**
 * Bytes of frames a buffer takes before data writers wait for the next flush:
 * one maximum DATA frame plus its header fits whole, so a 256 KiB write is
 * not cut into a big and a tiny frame.
 */
const DATA_CAP = 256 * 1024 + 64;
/**
 * Room kept past DATA_CAP so control frames (window updates, pings, FIN, RST)
 * never wait behind data: the read loop must not block on the writer.
 */
const CONTROL_SLACK = 8 * 1024;
/** Below this much room a writer waits for a fresh buffer instead of cutting tiny frames. */
const MIN_SPLIT = 4 * 1024;
/**
 * Control frames queued past the slack: a peer that sends frames needing
 * answers but never reads ours would otherwise grow this list without end.
 */
const MAX_OVERFLOW = 4096;

/**
 * Buffers outgoing frames and writes them with one loop.
 *
 * @example
 * ```ts
 * import { WriteQueue } from "./write_queue.ts";
 * const conn = await Deno.connect({ port: 7000 });
 * const q = new WriteQueue(conn, () => conn.close());
 * await q.data(1, 0, new Uint8Array(10), 0, 10);
 * ```
 */
export class WriteQueue {
  #conn: Duplex;
  #onError: (err: unknown) => void;
  #fill: Uint8Array;
  #spare: Uint8Array | null = null;
  #fillLen = 0;
  /** Control frames that did not fit; always written after the fill buffer. */
  #overflow: Uint8Array[] = [];
  #spaceWaiters: Array<() => void> = [];
  #drainWaiters: Array<() => void> = [];
  #wake: (() => void) | null = null;
  #writing = false;
  #stopped = false;
  /** Resolves when the loop has exited (stop() or a write error). */
  readonly done: Promise<void>;

  constructor(conn: Duplex, onError: (err: unknown) => void) {
    this.#conn = conn;
    this.#onError = onError;
    this.#fill = new Uint8Array(DATA_CAP + CONTROL_SLACK);
    this.done = this.#loop();
  }

  /** True once stop() was called or a write failed. */
  get stopped(): boolean {
    return this.#stopped;
  }

  /**
   * Payload bytes a DATA frame may carry right now without waiting, given
   * `want` bytes to send; 0 means call {@linkcode waitSpace} first.
   */
  room(want: number): number {
    const room = DATA_CAP - this.#fillLen - HEADER_SIZE;
    if (room >= want) return want;
    return room >= MIN_SPLIT ? room : 0;
  }

  /** Resolves after the next buffer swap (or at stop). */
  waitSpace(): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    return new Promise((resolve) => this.#spaceWaiters.push(resolve));
  }

  /**
   * Copies one DATA frame (header + `p[off, off+n)`) into the buffer. The
   * caller must have checked {@linkcode room} in the same tick.
   */
  putData(streamId: number, flags: number, p: Uint8Array, off: number, n: number): void {
    const at = this.#fillLen;
    encodeHeader(this.#fill, at, TYPE_DATA, flags, streamId, n);
    copyBytes(this.#fill, at + HEADER_SIZE, n === p.length ? p : p.subarray(off, off + n));
    this.#fillLen = at + HEADER_SIZE + n;
    this.#kick();
  }

  /**
   * Queues a DATA frame, waiting for buffer room as needed.
   * Rejects if the queue stops first.
   */
  async data(streamId: number, flags: number, p: Uint8Array, off: number, n: number) {
    while (this.room(n) < n) {
      if (this.#stopped) throw new Deno.errors.BrokenPipe("mux writer stopped");
      await this.waitSpace();
    }
    if (this.#stopped) throw new Deno.errors.BrokenPipe("mux writer stopped");
    this.putData(streamId, flags, p, off, n);
  }

  /**
   * Queues a header-only frame without ever waiting; frames keep the order of
   * the calls across data and control. Returns false if the writer is stopped
   * or the peer has let too much pile up.
   */
  control(type: number, flags: number, streamId: number, length: number): boolean {
    if (this.#stopped) return false;
    const at = this.#fillLen;
    if (this.#overflow.length === 0 && at + HEADER_SIZE <= this.#fill.length) {
      encodeHeader(this.#fill, at, type, flags, streamId, length);
      this.#fillLen = at + HEADER_SIZE;
    } else {
      if (this.#overflow.length >= MAX_OVERFLOW) {
        this.#fail(new Deno.errors.WouldBlock("peer is not reading: control backlog full"));
        return false;
      }
      const f = new Uint8Array(HEADER_SIZE);
      encodeHeader(f, 0, type, flags, streamId, length);
      this.#overflow.push(f);
    }
    this.#kick();
    return true;
  }

  /**
   * Wakes every writer waiting in {@linkcode waitSpace}; they look at the room
   * again (a stream that was reset then fails its write instead of waiting).
   */
  wakeWriters(): void {
    const s = this.#spaceWaiters;
    this.#spaceWaiters = [];
    for (const r of s) r();
  }

  /** Resolves when everything queued so far has been written (or the writer stopped). */
  drained(): Promise<void> {
    if (this.#stopped || (!this.#writing && this.#fillLen === 0 && this.#overflow.length === 0)) {
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  /** Ends the loop; queued bytes not yet written are dropped. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#fillLen = 0;
    this.#overflow = [];
    this.#wakeAll();
  }

  #kick(): void {
    const w = this.#wake;
    if (w) {
      this.#wake = null;
      w();
    }
  }

  #wakeAll(): void {
    this.#kick();
    const s = this.#spaceWaiters;
    this.#spaceWaiters = [];
    for (const r of s) r();
    const d = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const r of d) r();
  }

  #fail(err: unknown): void {
    if (this.#stopped) return;
    this.stop();
    this.#onError(err);
  }

  async #loop(): Promise<void> {
    try {
      while (!this.#stopped) {
        if (this.#fillLen === 0 && this.#overflow.length === 0) {
          const d = this.#drainWaiters;
          if (d.length) {
            this.#drainWaiters = [];
            for (const r of d) r();
          }
          await new Promise<void>((resolve) => (this.#wake = resolve));
          continue;
        }
        // Swap first: writers fill the other buffer while this one is written.
        const out = this.#fill;
        const len = this.#fillLen;
        const overflow = this.#overflow;
        // The second buffer is allocated on first need, so a session that never
        // sends much holds one.
        this.#fill = this.#spare ?? new Uint8Array(DATA_CAP + CONTROL_SLACK);
        this.#spare = null;
        this.#fillLen = 0;
        if (overflow.length) this.#overflow = [];
        const waiters = this.#spaceWaiters;
        if (waiters.length) {
          this.#spaceWaiters = [];
          for (const r of waiters) r();
        }
        this.#writing = true;
        await writeAll(this.#conn, out.subarray(0, len));
        for (const f of overflow) await writeAll(this.#conn, f);
        this.#writing = false;
        this.#spare = out;
      }
    } catch (err) {
      this.#writing = false;
      this.#fail(err);
    } finally {
      this.#wakeAll();
    }
  }
}
