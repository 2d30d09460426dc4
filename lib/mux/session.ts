/**
 * A multiplexed session: many {@linkcode MuxStream}s over one {@linkcode Duplex}
 * (a TCP, TLS or other transport connection), with per-stream flow control,
 * keepalive and go-away. The wire format is described in `docs/mux.md`.
 *
 * @example
 * ```ts
 * import { MuxSession } from "./session.ts";
 * const conn = await Deno.connect({ port: 7000 });
 * const session = new MuxSession(conn, { client: true, onClose: (r) => console.log(r) });
 * const s = session.open();
 * await s.write(new TextEncoder().encode("ping"));
 * ```
 *
 * @module
 */

import type { Duplex } from "../net/duplex.ts";
import {
  FLAG_ACK,
  FLAG_FIN,
  FLAG_RST,
  FLAG_SYN,
  GO_AWAY_NORMAL,
  HEADER_SIZE,
  headerError,
  MAX_WINDOW,
  readU32,
  TYPE_DATA,
  TYPE_GO_AWAY,
  TYPE_PING,
  TYPE_WINDOW_UPDATE,
} from "./frame.ts";
import { MuxStream, type StreamHost } from "./stream.ts";
import { WriteQueue } from "./write_queue.ts";
import { BufferPool } from "./buffer_pool.ts";
import { copyBytes } from "./copy.ts";

/**
 * Options of a {@linkcode MuxSession}.
 *
 * @example
 * ```ts
 * import type { MuxOptions } from "./session.ts";
 * const opts: MuxOptions = { client: true, keepaliveIntervalMs: 10_000 };
 * ```
 */
export interface MuxOptions {
  /** true on the side that dialed: picks odd stream ids; the other side even. */
  client: boolean;
  /** send a PING this often (ms); 0 = off. Default 30_000. */
  keepaliveIntervalMs?: number;
  /**
   * close the session if no frame at all arrives for this long (ms); 0 = off.
   * Default: interval + min(2 × interval, 10 s), i.e. a ping unanswered for
   * up to 10 s (yamux's, so frp's, 30 + 10 s with the 30 s default).
   */
  keepaliveTimeoutMs?: number;
  /** per-stream receive window (bytes). Default 256 KiB. */
  streamWindow?: number;
  /**
   * Streams opened by the peer that may be open at once; a SYN beyond is
   * answered with RST and the session goes on. Default 16 384.
   */
  maxIncomingStreams?: number;
  /** called once with a reason when the session ends (peer gone, malformed frame, timeout, close) */
  onClose?: (reason: string) => void;
  /**
   * The connection below holds a small write back until the previous one is
   * acknowledged (Nagle's algorithm, which Deno cannot turn off on the
   * server's TLS socket). A stream's FIN is answered by nothing, so the TCP
   * ACK for it waits for the peer's delayed-ACK timer (40 ms on Linux) and
   * so does the next stream's SYN. With this set, a FIN is followed by a
   * PING (one at a time, until any byte arrives): its answer carries the ACK.
   */
  answerAfterFin?: boolean;
}

/** Size of the reused receive buffer. */
const READ_BUF = 256 * 1024;
/**
 * A DATA payload still missing more than this many bytes is read straight
 * into its own final buffer instead of being staged (and copied) through the
 * receive buffer.
 */
const DIRECT_READ_MIN = 32 * 1024;
/** Streams the peer opened that accept() has not taken yet; more are refused with RST. */
const MAX_ACCEPT_BACKLOG = 1024;
/** After go-away both sides close their write half; this bounds waiting for the peer's. */
const GO_AWAY_LINGER_MS = 5_000;
const DEFAULT_KEEPALIVE_MS = 30_000;
/** How long the peer may take to answer a ping before it counts as gone (yamux: 10 s). */
const PING_ANSWER_MS = 10_000;
/** Default of `maxIncomingStreams`: room for 10 000+ concurrent tunneled connections. */
export const DEFAULT_MAX_INCOMING_STREAMS = 16_384;
const DEFAULT_WINDOW = 256 * 1024;

/**
 * One end of a multiplexed connection. The read loop starts in the
 * constructor; the session owns `conn` and closes it when it ends.
 *
 * @example
 * ```ts
 * import { MuxSession } from "./session.ts";
 * const listener = Deno.listen({ port: 7000 });
 * const server = new MuxSession(await listener.accept(), { client: false });
 * for (let s = await server.accept(); s; s = await server.accept()) {
 *   s.close();
 * }
 * ```
 */
export class MuxSession {
  #conn: Duplex;
  #window: number;
  #onClose?: (reason: string) => void;
  /** Internal (shared with streams): the single ordered writer. */
  readonly queue: WriteQueue;
  /** Internal (shared with streams): recycled payload buffers. */
  readonly pool: BufferPool = new BufferPool();
  #poolTakesAtLastPing = 0;
  #streams = new Map<number, MuxStream>();
  #nextId: number;
  #lastPeerId = 0;
  #peerParity: number;
  #acceptQueue: MuxStream[] = [];
  /** Streams the peer opened that are not freed yet, and the most allowed. */
  #incoming = 0;
  #maxIncoming: number;
  #acceptWaiters: Array<(s: MuxStream | null) => void> = [];
  #host: StreamHost;

  #closeReason: string | null = null;
  #goAwaySent = false;
  #goAwayReceived = false;
  /** Write half closed after go-away; waiting for the peer's end of stream. */
  #finishing = false;

  #keepaliveTimeout: number;
  #lastRx = Date.now();
  #pingTimer: ReturnType<typeof setInterval> | undefined;
  #deadTimer: ReturnType<typeof setTimeout> | undefined;
  #lingerTimer: ReturnType<typeof setTimeout> | undefined;
  #pingSeq = 0;
  #answerAfterFin: boolean;
  /** A PING went out after a FIN and nothing has arrived since. */
  #awaitingAnswer = false;

  #readDone: Promise<void>;
  #resolveClosed!: (reason: string) => void;
  /** Resolves with the reason once the session has ended and its loops have exited. */
  readonly closed: Promise<string>;

  constructor(conn: Duplex, opts: MuxOptions) {
    this.#conn = conn;
    this.#window = Math.max(1, Math.min(opts.streamWindow ?? DEFAULT_WINDOW, MAX_WINDOW));
    this.#onClose = opts.onClose;
    this.#nextId = opts.client ? 1 : 2;
    this.#peerParity = opts.client ? 0 : 1;
    this.#maxIncoming = opts.maxIncomingStreams ?? DEFAULT_MAX_INCOMING_STREAMS;
    this.#answerAfterFin = opts.answerAfterFin ?? false;
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    this.queue = new WriteQueue(conn, (err) => this.close(`write failed: ${errText(err)}`));
    this.#host = {
      queue: this.queue,
      pool: this.pool,
      closeReason: () => this.#closeReason,
      streamFreed: (s) => this.#streamFreed(s),
      finQueued: () => this.#finQueued(),
    };

    const interval = opts.keepaliveIntervalMs ?? DEFAULT_KEEPALIVE_MS;
    this.#keepaliveTimeout = opts.keepaliveTimeoutMs ??
      (interval > 0 ? interval + Math.min(2 * interval, PING_ANSWER_MS) : 0);
    if (interval > 0) {
      this.#pingTimer = setInterval(() => this.#sendPing(), interval);
    }
    if (this.#keepaliveTimeout > 0) {
      this.#deadTimer = setTimeout(() => this.#checkAlive(), this.#keepaliveTimeout);
    }
    this.#readDone = this.#readLoop();
  }

  /** True once the session has ended. */
  get isClosed(): boolean {
    return this.#closeReason !== null;
  }

  /** Streams not yet freed (both FINs or a reset), including ones not accepted yet. */
  get streamCount(): number {
    return this.#streams.size;
  }

  /**
   * Opens a stream without waiting for the peer: data may follow at once.
   * Throws if the session is closed or going away.
   *
   * @example
   * ```ts
   * import { MuxSession } from "./session.ts";
   * const session = new MuxSession(await Deno.connect({ port: 7000 }), { client: true });
   * const s = session.open();
   * ```
   */
  open(): MuxStream {
    if (this.#closeReason !== null) {
      throw new Deno.errors.ConnectionAborted(`mux session closed: ${this.#closeReason}`);
    }
    if (this.#goAwaySent || this.#goAwayReceived) {
      throw new Deno.errors.ConnectionRefused("mux session is going away");
    }
    const id = this.#nextId;
    if (id > 0xffff_ffff) throw new Deno.errors.ConnectionRefused("mux stream ids exhausted");
    this.#nextId += 2;
    const s = new MuxStream(this.#host, id, this.#window);
    this.#streams.set(id, s);
    this.queue.control(TYPE_WINDOW_UPDATE, FLAG_SYN, id, s._takeInitialGrant());
    return s;
  }

  /**
   * The next stream the peer opened; `null` once the session is closed or
   * going away (after the streams already announced).
   *
   * @example
   * ```ts
   * import { MuxSession } from "./session.ts";
   * const session = new MuxSession((await Deno.listen({ port: 7000 }).accept()), { client: false });
   * const s = await session.accept();
   * ```
   */
  accept(): Promise<MuxStream | null> {
    const s = this.#acceptQueue.shift();
    if (s) return Promise.resolve(s);
    if (this.#closeReason !== null || this.#goAwaySent || this.#goAwayReceived) {
      return Promise.resolve(null);
    }
    return new Promise((resolve) => this.#acceptWaiters.push(resolve));
  }

  /**
   * Sends GO_AWAY: no new streams either way from now on; existing ones
   * finish, then the session closes by itself (`closed` resolves). Resolves
   * once the GO_AWAY frame has been written.
   *
   * @example
   * ```ts
   * import { MuxSession } from "./session.ts";
   * const session = new MuxSession(await Deno.connect({ port: 7000 }), { client: true });
   * await session.goAway();
   * console.log(await session.closed);
   * ```
   */
  async goAway(): Promise<void> {
    if (this.#closeReason !== null) return;
    if (!this.#goAwaySent) {
      this.#goAwaySent = true;
      this.queue.control(TYPE_GO_AWAY, 0, 0, GO_AWAY_NORMAL);
      this.#endAccepts();
    }
    const drained = this.queue.drained();
    this.#maybeFinish();
    await drained;
  }

  /**
   * Closes at once: every stream's pending and later reads and writes fail
   * (data already received stays readable), and the connection is closed.
   * Safe to call more than once; only the first reason counts.
   *
   * @example
   * ```ts
   * import { MuxSession } from "./session.ts";
   * const session = new MuxSession(await Deno.connect({ port: 7000 }), { client: true });
   * session.close("shutting down");
   * ```
   */
  close(reason = "closed locally"): void {
    if (this.#closeReason !== null) return;
    this.#closeReason = reason;
    clearInterval(this.#pingTimer);
    clearTimeout(this.#deadTimer);
    clearTimeout(this.#lingerTimer);
    this.queue.stop();
    try {
      this.#conn.close();
    } catch {
      // Already closed by the peer or the transport: nothing left to release.
    }
    const streams = [...this.#streams.values()];
    this.#streams.clear();
    this.#incoming = 0;
    this.#acceptQueue = [];
    for (const s of streams) s._onSessionClose(reason);
    this.#endAccepts();
    try {
      this.#onClose?.(reason);
    } catch {
      // A failing callback must not keep the session half-closed.
    }
    Promise.all([this.#readDone, this.queue.done]).then(
      () => this.#resolveClosed(reason),
      () => this.#resolveClosed(reason),
    );
  }

  #endAccepts(): void {
    const waiters = this.#acceptWaiters;
    this.#acceptWaiters = [];
    for (const w of waiters) w(null);
  }

  #streamFreed(s: MuxStream): void {
    if (this.#streams.get(s.id) === s) {
      this.#streams.delete(s.id);
      if ((s.id & 1) === this.#peerParity) this.#incoming--;
    }
    const i = this.#acceptQueue.indexOf(s);
    if (i >= 0) this.#acceptQueue.splice(i, 1);
    this.#maybeFinish();
  }

  /**
   * Go-away with no streams left: flush, close our write half and wait for the
   * peer's end of stream, so neither side closes a socket with unread bytes
   * (which would make the kernel send RST and could destroy the peer's last frames).
   */
  #maybeFinish(): void {
    if (this.#finishing || this.#closeReason !== null || this.#streams.size > 0) return;
    if (!this.#goAwaySent && !this.#goAwayReceived) return;
    this.#finishing = true;
    clearInterval(this.#pingTimer);
    this.queue.drained().then(async () => {
      if (this.#closeReason !== null) return;
      this.queue.stop();
      this.#lingerTimer = setTimeout(
        () => this.close("go away: peer did not close its side"),
        GO_AWAY_LINGER_MS,
      );
      try {
        await this.#conn.closeWrite();
      } catch (err) {
        this.close(`go away: ${errText(err)}`);
      }
    });
  }

  #sendPing(): void {
    // Piggybacks on the keepalive tick: a pool unused for a whole interval is freed.
    if (this.pool.takes === this.#poolTakesAtLastPing) this.pool.trim();
    this.#poolTakesAtLastPing = this.pool.takes;
    this.#pingSeq = (this.#pingSeq + 1) >>> 0;
    this.queue.control(TYPE_PING, FLAG_SYN, 0, this.#pingSeq);
  }

  #finQueued(): void {
    if (!this.#answerAfterFin || this.#awaitingAnswer) return;
    this.#awaitingAnswer = true;
    // Any value: the answer only has to exist (keepalive ignores it too).
    this.queue.control(TYPE_PING, FLAG_SYN, 0, 0);
  }

  #checkAlive(): void {
    if (this.#closeReason !== null) return;
    const idle = Date.now() - this.#lastRx;
    if (idle >= this.#keepaliveTimeout) {
      this.close(`keepalive timeout: no frame from peer for ${idle} ms`);
    } else {
      this.#deadTimer = setTimeout(() => this.#checkAlive(), this.#keepaliveTimeout - idle);
    }
  }

  #onEof(): void {
    if (this.#finishing || (this.#goAwayReceived && this.#streams.size === 0)) {
      this.close("go away: session finished");
    } else {
      this.close("peer closed the connection");
    }
  }

  /**
   * Handles one header (already known to be complete). Returns the stream a
   * DATA payload goes to, `null` to discard it, or a string: the reason to
   * close the session.
   */
  #onHeader(type: number, flags: number, id: number, length: number): MuxStream | null | string {
    if (type === TYPE_PING) {
      if (flags & FLAG_SYN) this.queue.control(TYPE_PING, FLAG_ACK, 0, length);
      return null;
    }
    if (type === TYPE_GO_AWAY) {
      if (!this.#goAwayReceived) {
        this.#goAwayReceived = true;
        this.#endAccepts();
        this.#maybeFinish();
      }
      return null;
    }
    let s = this.#streams.get(id);
    if (flags & FLAG_SYN) {
      if ((id & 1) !== this.#peerParity) {
        return `peer opened stream ${id} with this side's id parity`;
      }
      if (id <= this.#lastPeerId) return `peer reopened stream id ${id}`;
      this.#lastPeerId = id;
      if (
        this.#goAwaySent || this.#goAwayReceived || this.#closeReason !== null ||
        this.#acceptQueue.length >= MAX_ACCEPT_BACKLOG || this.#incoming >= this.#maxIncoming
      ) {
        // Not an error: the peer may have opened before seeing our GO_AWAY,
        // or simply has too many streams open (a flood costs it its streams, not us memory).
        this.queue.control(TYPE_WINDOW_UPDATE, FLAG_RST, id, 0);
        return null;
      }
      s = new MuxStream(this.#host, id, this.#window);
      this.#streams.set(id, s);
      this.#incoming++;
      const extra = s._takeInitialGrant();
      if (extra > 0) this.queue.control(TYPE_WINDOW_UPDATE, 0, id, extra);
      const w = this.#acceptWaiters.shift();
      if (w) w(s);
      else this.#acceptQueue.push(s);
    }
    // Frames for unknown ids are late arrivals for streams already reset or freed.
    if (!s) return null;
    if (flags & FLAG_RST) {
      s._onReset();
      return null;
    }
    if (type === TYPE_WINDOW_UPDATE) {
      if (!s._onWindowUpdate(length, MAX_WINDOW)) return `window overflow on stream ${id}`;
    } else if (length > 0 && !s._admit(length)) {
      return `peer sent ${length} bytes beyond the granted window on stream ${id}`;
    }
    return s;
  }

  async #readLoop(): Promise<void> {
    const conn = this.#conn;
    const buf = new Uint8Array(READ_BUF);
    let start = 0;
    let end = 0;
    // A DATA payload in progress: its stream (null = discard), bytes missing, FIN flag.
    let pStream: MuxStream | null = null;
    let pLeft = -1;
    let pFin = false;
    try {
      for (;;) {
        if (start === end) {
          start = end = 0;
        } else if (start > 0) {
          // What is left is a partial header or a small partial payload: cheap to move.
          buf.copyWithin(0, start, end);
          end -= start;
          start = 0;
        }
        const n = await conn.read(buf.subarray(end));
        if (n === null) {
          this.#onEof();
          return;
        }
        if (this.#closeReason !== null) return;
        this.#lastRx = Date.now();
        this.#awaitingAnswer = false;
        end += n;
        for (;;) {
          if (pLeft >= 0) {
            const avail = end - start;
            if (avail >= pLeft) {
              if (pStream && pLeft > 0) pStream._onPayload(buf.subarray(start, start + pLeft));
              start += pLeft;
              pLeft = -1;
              if (pFin) pStream?._onFin();
              continue;
            }
            if (pStream === null) {
              pLeft -= avail;
              start = end;
              break;
            }
            if (pLeft - avail < DIRECT_READ_MIN) break;
            // Large remainder: read it straight into the payload's own buffer.
            const dest = this.pool.take(pLeft);
            copyBytes(dest, 0, buf.subarray(start, end));
            start = end;
            let got = avail;
            while (got < dest.length) {
              const m = await conn.read(dest.subarray(got));
              if (m === null) {
                this.#onEof();
                return;
              }
              if (this.#closeReason !== null) return;
              this.#lastRx = Date.now();
              got += m;
            }
            const s = pStream;
            pLeft = -1;
            s._onData(dest);
            if (pFin) s._onFin();
            continue;
          }
          if (end - start < HEADER_SIZE) break;
          const version = buf[start];
          const type = buf[start + 1];
          const flags = (buf[start + 2] << 8) | buf[start + 3];
          const id = readU32(buf, start + 4);
          const length = readU32(buf, start + 8);
          start += HEADER_SIZE;
          const bad = headerError(version, type, id, length);
          if (bad !== null) {
            this.close(`protocol error: ${bad}`);
            return;
          }
          const r = this.#onHeader(type, flags, id, length);
          if (typeof r === "string") {
            this.close(`protocol error: ${r}`);
            return;
          }
          if (this.#closeReason !== null) return;
          if (type === TYPE_DATA) {
            pStream = r;
            pLeft = length;
            pFin = (flags & FLAG_FIN) !== 0;
          }
        }
      }
    } catch (err) {
      this.close(this.#closeReason ?? `read failed: ${errText(err)}`);
    }
  }
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
