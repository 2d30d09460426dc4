/**
 * One logical byte stream inside a {@linkcode MuxSession}: a {@linkcode Duplex}
 * with its own flow-control window, half-close and reset.
 *
 * @example
 * ```ts
 * import { MuxSession } from "./session.ts";
 * const conn = await Deno.connect({ port: 7000 });
 * const session = new MuxSession(conn, { client: true });
 * const stream = session.open();
 * await stream.write(new TextEncoder().encode("hello"));
 * await stream.closeWrite();
 * ```
 *
 * @module
 */

import type { Duplex } from "../net/duplex.ts";
import {
  FLAG_FIN,
  FLAG_RST,
  INITIAL_WINDOW,
  MAX_PAYLOAD,
  TYPE_DATA,
  TYPE_WINDOW_UPDATE,
} from "./frame.ts";
import type { WriteQueue } from "./write_queue.ts";
import type { BufferPool } from "./buffer_pool.ts";
import { copyBytes } from "./copy.ts";

/**
 * What a stream needs from its session; implemented by `MuxSession`.
 *
 * @example
 * ```ts
 * import type { StreamHost } from "./stream.ts";
 * const host: Partial<StreamHost> = { closeReason: () => null };
 * ```
 */
export interface StreamHost {
  readonly queue: WriteQueue;
  readonly pool: BufferPool;
  /** The session's close reason, or `null` while it is open. */
  closeReason(): string | null;
  /** The stream is done both ways (or reset): forget it. */
  streamFreed(stream: MuxStream): void;
  /** A FIN was queued (see `MuxOptions.answerAfterFin`). */
  finQueued?(): void;
}

type Waiter = { resolve: () => void; reject: (err: Error) => void };
/**
 * A blocked read(): data may be copied straight into `p`, and `resolve(n)`
 * settles the caller's own promise with the count (0: look at the queue again).
 */
type ReadWaiter = { resolve: (n: number) => void; p: Uint8Array | null };

/**
 * A multiplexed stream. Obtain one from `MuxSession.open()` or
 * `MuxSession.accept()`; it is a {@linkcode Duplex}, so relays treat it like a
 * socket.
 *
 * @example
 * ```ts
 * import { MuxSession } from "./session.ts";
 * const session = new MuxSession(await Deno.connect({ port: 7000 }), { client: true });
 * const s = session.open();
 * const buf = new Uint8Array(1024);
 * const n = await s.read(buf); // bytes, or null at the peer's FIN
 * s.close();
 * ```
 */
export class MuxStream implements Duplex {
  /** Stream id: odd when opened by the dialing side, even otherwise. */
  readonly id: number;
  #host: StreamHost;
  /** Receive window this side wants to offer. */
  #window: number;
  /** Bytes the peer may still send before it needs a WINDOW_UPDATE. */
  #recvCredit = INITIAL_WINDOW;
  /** Received, not yet consumed by the application. */
  #buffered = 0;
  #sendWindow = INITIAL_WINDOW;

  #chunks: Uint8Array[] = [];
  #head = 0;
  #readWaiter: ReadWaiter | null = null;
  #windowWaiter: Waiter | null = null;
  #writeBusy = false;
  #writeLockWaiters: Array<() => void> = [];

  #finQueued = false;
  #finSent = false;
  #remoteFin = false;
  /** The application called close(): incoming data is dropped (and re-granted). */
  #discard = false;
  #freed = false;
  /** Set by a reset either way or by the session's end; reads/writes then fail. */
  #error: Error | null = null;
  /** Reset, or the session ended before the peer's FIN: `signal` aborts. */
  #broken = false;
  /** Made on the first `signal` read, so a plain stream costs nothing. */
  #abortCtl: AbortController | null = null;
  /** Callbacks from {@linkcode onBreak} (a relay's: one, usually). */
  #onBreak: Array<() => void> | null = null;

  /**
   * Internal: sessions create streams. Use `MuxSession.open()`/`accept()`.
   *
   * @example
   * ```ts
   * import { MuxSession } from "./session.ts";
   * const s = new MuxSession(await Deno.connect({ port: 7000 }), { client: true }).open();
   * ```
   */
  constructor(host: StreamHost, id: number, window: number) {
    this.#host = host;
    this.id = id;
    this.#window = window;
  }

  /**
   * Internal: window to grant beyond {@linkcode INITIAL_WINDOW} right after the
   * stream is created (0 when the wanted window is not larger).
   */
  _takeInitialGrant(): number {
    const extra = Math.max(0, this.#window - INITIAL_WINDOW);
    this.#recvCredit += extra;
    return extra;
  }

  /** Internal: the peer may send `n` more bytes; false means it overran its window. */
  _admit(n: number): boolean {
    if (n > this.#recvCredit) return false;
    this.#recvCredit -= n;
    return true;
  }

  /**
   * Internal: a DATA payload arrived (already admitted) as a view into the
   * session's receive buffer, valid only during this call. A blocked read()
   * gets it copied straight into its buffer: no staging copy, no allocation.
   */
  _onPayload(src: Uint8Array): void {
    if (this.#discard || this.#error || this.#remoteFin) {
      // Nobody will read it: grant it back at once so the peer can finish.
      this.#buffered += src.length;
      this.#consumed(src.length);
      return;
    }
    const w = this.#readWaiter;
    if (!w || !w.p) {
      const chunk = this.#host.pool.take(src.length);
      copyBytes(chunk, 0, src);
      this._onData(chunk);
      return;
    }
    const n = Math.min(src.length, w.p.length);
    copyBytes(w.p, 0, n === src.length ? src : src.subarray(0, n));
    this.#readWaiter = null;
    // Count the remainder as buffered before granting, or the grant would overshoot.
    this.#buffered += src.length;
    if (n < src.length) {
      const rest = this.#host.pool.take(src.length - n);
      copyBytes(rest, 0, src.subarray(n));
      this.#chunks.push(rest);
    }
    this.#consumed(n);
    w.resolve(n);
  }

  /** Internal: a DATA payload arrived (already admitted). */
  _onData(chunk: Uint8Array): void {
    if (this.#discard || this.#error || this.#remoteFin) {
      // Nobody will read it: grant it back at once so the peer can finish.
      this.#buffered += chunk.length;
      this.#consumed(chunk.length);
      this.#host.pool.give(chunk);
      return;
    }
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    this.#wakeReader();
  }

  /** Internal: the peer granted `delta` more bytes; false if the window would overflow. */
  _onWindowUpdate(delta: number, max: number): boolean {
    if (this.#sendWindow + delta > max) return false;
    this.#sendWindow += delta;
    const w = this.#windowWaiter;
    if (w && delta > 0) {
      this.#windowWaiter = null;
      w.resolve();
    }
    return true;
  }

  /** Internal: the peer's FIN. */
  _onFin(): void {
    if (this.#remoteFin) return;
    this.#remoteFin = true;
    this.#wakeReader();
    this.#maybeFree();
  }

  /** Internal: the peer's RST. */
  _onReset(): void {
    this.#abort(new Deno.errors.ConnectionReset(`mux stream ${this.id} reset by peer`), true);
    this.#break();
    this.#free();
  }

  /** Internal: the session ended; the host forgets every stream itself. */
  _onSessionClose(reason: string): void {
    this.#freed = true;
    this.#abort(new Deno.errors.ConnectionAborted(`mux session closed: ${reason}`), false);
    // A stream whose FIN arrived did complete its way in; what it still has
    // to write fails on its own when tried.
    if (!this.#remoteFin) this.#break();
  }

  /**
   * Aborts when the stream breaks: a reset either way, or the session ended
   * before the peer's FIN. A relay listens to it to close its other end even
   * while blocked on that end (a backend that stopped reading).
   *
   * @example
   * ```ts
   * import { MuxSession } from "./session.ts";
   * const s = new MuxSession(await Deno.connect({ port: 7000 }), { client: true }).open();
   * const backend = await Deno.connect({ port: 8080 });
   * s.signal.addEventListener("abort", () => backend.close());
   * ```
   */
  get signal(): AbortSignal {
    if (!this.#abortCtl) {
      this.#abortCtl = new AbortController();
      if (this.#broken) this.#abortCtl.abort(this.#error);
    }
    return this.#abortCtl.signal;
  }

  /**
   * Calls `cb` once when the stream breaks, as {@linkcode signal} aborts (at
   * once if it already has); returns a function that forgets `cb`. What a
   * relay uses: no `AbortController` and event listeners per connection.
   *
   * @example
   * ```ts
   * import { MuxSession } from "./session.ts";
   * const s = new MuxSession(await Deno.connect({ port: 7000 }), { client: true }).open();
   * const backend = await Deno.connect({ port: 8080 });
   * const forget = s.onBreak(() => backend.close());
   * forget();
   * ```
   */
  onBreak(cb: () => void): () => void {
    if (this.#broken) {
      cb();
      return () => {};
    }
    (this.#onBreak ??= []).push(cb);
    return () => {
      const list = this.#onBreak;
      const i = list ? list.indexOf(cb) : -1;
      if (i >= 0) list!.splice(i, 1);
    };
  }

  /**
   * Reads into `p`; resolves to the byte count or `null` after the peer's FIN.
   * Rejects after a reset or if the session ends before the FIN.
   *
   * @example
   * ```ts
   * import { MuxSession } from "./session.ts";
   * const s = new MuxSession(await Deno.connect({ port: 7000 }), { client: true }).open();
   * const n = await s.read(new Uint8Array(4096));
   * ```
   */
  read(p: Uint8Array): Promise<number | null> {
    // Not an async function: a read that a payload completes settles the
    // caller's promise straight from the session's read loop, one hop per
    // message instead of three (docs/performance.md, "per-message hops").
    try {
      if (this.#head < this.#chunks.length) return Promise.resolve(this.#readBuffered(p));
      // A clean FIN wins over a later session end: the stream did complete.
      if (this.#remoteFin || this.#discard) return Promise.resolve(null);
      if (this.#error) return Promise.reject(this.#error);
      if (p.length > 0) return this.#waitRead(p);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#readSlow(p);
  }

  /** Copies from the queue into `p` (the queue must not be empty). */
  #readBuffered(p: Uint8Array): number {
    if (p.length === 0) return 0;
    const chunk = this.#chunks[this.#head];
    let n: number;
    if (chunk.length <= p.length) {
      copyBytes(p, 0, chunk);
      n = chunk.length;
      this.#shift();
      this.#host.pool.give(chunk);
    } else {
      n = p.length;
      copyBytes(p, 0, chunk.subarray(0, n));
      this.#chunks[this.#head] = chunk.subarray(n);
    }
    this.#consumed(n);
    return n;
  }

  /**
   * Waits for the next payload, copied straight into `p` by `_onPayload`;
   * any other wake-up (a pooled chunk, FIN, reset, close) hands the caller's
   * promise to the general loop.
   */
  #waitRead(p: Uint8Array): Promise<number | null> {
    if (this.#readWaiter) {
      return Promise.reject(new Deno.errors.Busy(`mux stream ${this.id}: concurrent reads`));
    }
    const { promise, resolve } = Promise.withResolvers<number | null>();
    this.#readWaiter = { resolve: (n) => resolve(n > 0 ? n : this.#readSlow(p)), p };
    return promise;
  }

  async #readSlow(p: Uint8Array): Promise<number | null> {
    for (;;) {
      if (this.#head < this.#chunks.length) return this.#readBuffered(p);
      // A clean FIN wins over a later session end: the stream did complete.
      if (this.#remoteFin || this.#discard) return null;
      if (this.#error) throw this.#error;
      const n = await this.#waitReadable(p);
      if (n > 0) return n;
    }
  }

  /**
   * Zero-copy read: the next received payload as is (the caller owns it), or
   * `null` after the peer's FIN. Rejects like {@linkcode read}.
   *
   * @example
   * ```ts
   * import { MuxSession } from "./session.ts";
   * const s = new MuxSession(await Deno.connect({ port: 7000 }), { client: true }).open();
   * for (let c = await s.readChunk(); c; c = await s.readChunk()) console.log(c.length);
   * ```
   */
  async readChunk(): Promise<Uint8Array | null> {
    for (;;) {
      if (this.#head < this.#chunks.length) {
        const chunk = this.#chunks[this.#head];
        this.#shift();
        this.#consumed(chunk.length);
        return chunk;
      }
      // A clean FIN wins over a later session end: the stream did complete.
      if (this.#remoteFin || this.#discard) return null;
      if (this.#error) throw this.#error;
      await this.#waitReadable(null);
    }
  }

  /**
   * Writes all of `p` (the count is always `p.length`). Waits while the peer's
   * window is exhausted; resolves once the bytes are copied into the session's
   * send buffer, so `p` may be reused right away. Rejects after closeWrite(),
   * a reset, or the session's end.
   *
   * @example
   * ```ts
   * import { MuxSession } from "./session.ts";
   * const s = new MuxSession(await Deno.connect({ port: 7000 }), { client: true }).open();
   * await s.write(new Uint8Array(1 << 20));
   * ```
   */
  write(p: Uint8Array): Promise<number> {
    // A small write with window and buffer room needs no async frame at all.
    return this.tryWrite(p) ? Promise.resolve(p.length) : this.#writeSlow(p);
  }

  /**
   * Writes all of `p` now if that needs no waiting (no other write in
   * progress, enough window, room in the session's buffer) and returns true;
   * otherwise writes nothing and returns false (then call {@linkcode write},
   * which also reports why a stream cannot be written). Saves a relay an
   * `await` per message.
   *
   * @example
   * ```ts
   * import { MuxSession } from "./session.ts";
   * const s = new MuxSession(await Deno.connect({ port: 7000 }), { client: true }).open();
   * const msg = new TextEncoder().encode("PING\r\n");
   * if (!s.tryWrite(msg)) await s.write(msg);
   * ```
   */
  tryWrite(p: Uint8Array): boolean {
    const n = p.length;
    if (
      this.#writeBusy || this.#error || this.#finQueued || n > this.#sendWindow ||
      n > MAX_PAYLOAD || this.#host.closeReason() !== null
    ) return false;
    if (n === 0) return true;
    const q = this.#host.queue;
    if (q.room(n) !== n) return false;
    q.putData(this.id, 0, p, 0, n);
    this.#sendWindow -= n;
    return true;
  }

  async #writeSlow(p: Uint8Array): Promise<number> {
    this.#checkWritable();
    if (p.length === 0) return 0;
    if (this.#writeBusy) await this.#lockWrite();
    else this.#writeBusy = true;
    try {
      const q = this.#host.queue;
      let off = 0;
      while (off < p.length) {
        this.#checkWritable();
        if (this.#sendWindow === 0) {
          await this.#waitWindow();
          continue;
        }
        const want = Math.min(p.length - off, this.#sendWindow, MAX_PAYLOAD);
        const n = q.room(want);
        if (n === 0) {
          await q.waitSpace();
          continue;
        }
        q.putData(this.id, 0, p, off, n);
        this.#sendWindow -= n;
        off += n;
      }
      return p.length;
    } finally {
      this.#unlockWrite();
    }
  }

  /**
   * Half-closes: sends FIN after everything written so far. The peer reads end
   * of stream; this side may keep reading. Safe to call more than once.
   *
   * @example
   * ```ts
   * import { MuxSession } from "./session.ts";
   * const s = new MuxSession(await Deno.connect({ port: 7000 }), { client: true }).open();
   * await s.write(new TextEncoder().encode("request"));
   * await s.closeWrite();
   * ```
   */
  async closeWrite(): Promise<void> {
    if (this.#finQueued || this.#error) return;
    this.#finQueued = true;
    // FIN must follow any write still in progress.
    if (this.#writeBusy) await this.#lockWrite();
    else this.#writeBusy = true;
    try {
      if (!this.#error) {
        this.#host.queue.control(TYPE_DATA, FLAG_FIN, this.id, 0);
        this.#finSent = true;
        this.#host.finQueued?.();
      }
    } finally {
      this.#unlockWrite();
    }
    this.#maybeFree();
  }

  /**
   * Done with both halves: sends FIN if not yet sent and drops unread and
   * future incoming data (still granting window, so the peer can finish). The
   * stream is freed once the peer's FIN arrives too. Safe to call more than once.
   * If a write is blocked on the peer's window, the stream is reset instead
   * (that write rejects, the peer sees RST).
   *
   * @example
   * ```ts
   * import { MuxSession } from "./session.ts";
   * const s = new MuxSession(await Deno.connect({ port: 7000 }), { client: true }).open();
   * s.close();
   * ```
   */
  close(): void {
    if (this.#discard) return;
    // A write waiting for window the peer does not grant would hold the FIN
    // (and the caller) forever: its bytes cannot all arrive, so say so.
    if (this.#windowWaiter) return this.reset();
    this.#discard = true;
    const dropped = this.#buffered;
    this.#chunks = [];
    this.#head = 0;
    if (dropped > 0 && !this.#freed) this.#consumed(dropped);
    this.#wakeReader();
    if (!this.#finQueued) this.closeWrite().catch(() => {});
  }

  /**
   * Aborts both directions at once (RST): unsent data is lost, the peer's
   * pending and later reads and writes reject, and so do this side's.
   *
   * @example
   * ```ts
   * import { MuxSession } from "./session.ts";
   * const s = new MuxSession(await Deno.connect({ port: 7000 }), { client: true }).open();
   * s.reset();
   * ```
   */
  reset(): void {
    if (this.#freed) return;
    this.#host.queue.control(TYPE_WINDOW_UPDATE, FLAG_RST, this.id, 0);
    this.#abort(new Deno.errors.ConnectionReset(`mux stream ${this.id} reset`), true);
    this.#break();
    this.#free();
  }

  #break(): void {
    if (this.#broken) return;
    this.#broken = true;
    this.#abortCtl?.abort(this.#error);
    const callbacks = this.#onBreak;
    this.#onBreak = null;
    if (callbacks) {
      for (const cb of callbacks) {
        try {
          cb();
        } catch {
          // One failing callback must not keep the others from running.
        }
      }
    }
  }

  #checkWritable(): void {
    if (this.#error) throw this.#error;
    if (this.#finQueued) {
      throw new Deno.errors.BrokenPipe(`mux stream ${this.id}: write after closeWrite`);
    }
    const reason = this.#host.closeReason();
    if (reason !== null) throw new Deno.errors.ConnectionAborted(`mux session closed: ${reason}`);
  }

  #consumed(n: number): void {
    this.#buffered -= n;
    if (this.#remoteFin || this.#freed) return;
    // Grant only in big steps: one WINDOW_UPDATE per half window, not per read.
    const delta = this.#window - (this.#recvCredit + this.#buffered);
    if (delta >= this.#window >>> 1) {
      this.#recvCredit += delta;
      this.#host.queue.control(TYPE_WINDOW_UPDATE, 0, this.id, delta);
    }
  }

  #shift(): void {
    this.#head++;
    if (this.#head === this.#chunks.length) {
      this.#chunks.length = 0;
      this.#head = 0;
    } else if (this.#head >= 64 && this.#head * 2 >= this.#chunks.length) {
      this.#chunks = this.#chunks.slice(this.#head);
      this.#head = 0;
    }
  }

  /** Resolves with the bytes copied straight into `p` (0: look at the queue again). */
  async #waitReadable(p: Uint8Array | null): Promise<number> {
    if (this.#readWaiter) throw new Deno.errors.Busy(`mux stream ${this.id}: concurrent reads`);
    return await new Promise<number>((resolve) => {
      this.#readWaiter = { resolve, p: p && p.length > 0 ? p : null };
    });
  }

  #wakeReader(): void {
    const w = this.#readWaiter;
    if (w) {
      this.#readWaiter = null;
      w.resolve(0);
    }
  }

  #waitWindow(): Promise<void> {
    return new Promise((resolve, reject) => (this.#windowWaiter = { resolve, reject }));
  }

  #lockWrite(): Promise<void> {
    return new Promise((resolve) => this.#writeLockWaiters.push(resolve));
  }

  #unlockWrite(): void {
    const next = this.#writeLockWaiters.shift();
    // Ownership passes straight to the next writer, so #writeBusy stays true.
    if (next) next();
    else this.#writeBusy = false;
  }

  #abort(err: Error, dropBuffered: boolean): void {
    if (this.#error) return;
    this.#error = err;
    if (dropBuffered) {
      this.#chunks = [];
      this.#head = 0;
      this.#buffered = 0;
    }
    const r = this.#readWaiter;
    this.#readWaiter = null;
    // Readers just retry and find the error (or their remaining data).
    r?.resolve(0);
    const w = this.#windowWaiter;
    this.#windowWaiter = null;
    w?.reject(err);
    // A write waiting for room in the session's buffer retries and finds the error.
    if (this.#writeBusy) this.#host.queue.wakeWriters();
  }

  #maybeFree(): void {
    if (this.#finSent && this.#remoteFin) this.#free();
  }

  #free(): void {
    if (this.#freed) return;
    this.#freed = true;
    this.#host.streamFreed(this);
  }
}
