/**
 * The KCP ARQ protocol (skywind3000/kcp, the one frp's `kcp` transport uses
 * through kcp-go), as a pure state machine: bytes in with {@linkcode
 * KcpEngine.send}, datagrams out through `output`, datagrams in with
 * {@linkcode KcpEngine.input}, bytes out with {@linkcode KcpEngine.read}.
 * No sockets and no timers: the owner calls {@linkcode KcpEngine.flush} on a
 * clock (every `interval` ms) and after input.
 *
 * Segment header (24 bytes, little-endian), as in the reference:
 *
 * | conv u32 | cmd u8 | frg u8 | wnd u16 | ts u32 | sn u32 | una u32 | len u32 | data |
 *
 * Commands: 81 push (data), 82 ack, 83 window probe (ask), 84 window size (tell).
 * dfrp runs KCP in stream mode (`frg` is always 0) with frp's tuning: no
 * delay, fast resend after 2 duplicate acks, no congestion window. Two
 * additions of dfrp's own, because a transport needs an end of stream and
 * KCP has none: a push with no data is the sender's end of stream (ordered
 * and retransmitted like data), and command 85 is a reset (the peer does not
 * know this conversation; sent in answer to a segment of an unknown one).
 *
 * @example
 * ```ts
 * import { KcpEngine } from "./kcp_engine.ts";
 * const a: KcpEngine = new KcpEngine(1, (d) => b.input(d));
 * const b: KcpEngine = new KcpEngine(1, (d) => a.input(d));
 * a.send(new TextEncoder().encode("hi"));
 * a.flush();
 * b.flush(); // acks
 * console.log(new TextDecoder().decode(b.read(new Uint8Array(8)) ?? undefined));
 * ```
 *
 * @module
 */

/** Bytes of a segment header. */
export const KCP_OVERHEAD = 24;
/** Data. */
export const CMD_PUSH = 81;
/** Acknowledges one segment. */
export const CMD_ACK = 82;
/** Asks the peer for its receive window. */
export const CMD_WASK = 83;
/** Tells the peer our receive window. */
export const CMD_WINS = 84;
/** dfrp's addition: the receiver does not know this conversation. */
export const CMD_RST = 85;

/** Tuning; frp's values (kcp-go `SetNoDelay(1, 20, 2, 1)`, MTU 1350) except where noted. */
export interface KcpTuning {
  /** Largest datagram sent, header included. */
  mtu: number;
  /**
   * Segments in flight at most (frp: 128). 128 segments of 1350 bytes fit a
   * default Linux UDP receive buffer (208 KiB); a larger burst overflows it
   * and is lost on the spot.
   */
  sendWindow: number;
  /** Segments the receiver buffers (frp: 512). */
  receiveWindow: number;
  /** Clock of {@linkcode KcpEngine.flush}, in ms. dfrp: 10 (frp 20). */
  interval: number;
  /** Duplicate acks that trigger a fast resend. */
  fastResend: number;
  /** Transmissions after which a segment is resent on its timer only (KCP's fastlimit). */
  fastLimit: number;
  /** Smallest retransmission timeout, ms (KCP's no-delay mode). */
  minRto: number;
  /** Transmissions of one segment after which the link counts as dead. */
  deadLink: number;
  /**
   * KCP's congestion window (its `nc = 0`): halve on a fast resend, restart
   * from one segment on a timeout, grow as acks come. frp turns it off, which
   * keeps random loss from slowing a link down but lets bursts overflow a busy
   * receiver's socket buffer; see docs/transports.md for both measured.
   */
  congestionControl: boolean;
}

/** dfrp's defaults; see {@linkcode KcpTuning}. */
export const DEFAULT_KCP_TUNING: KcpTuning = {
  mtu: 1350,
  sendWindow: 128,
  receiveWindow: 512,
  interval: 10,
  fastResend: 2,
  fastLimit: 5,
  minRto: 30,
  deadLink: 20,
  congestionControl: false,
};

const MAX_RTO = 60_000;
const PROBE_INIT = 7_000;
const PROBE_LIMIT = 120_000;

interface Segment {
  sn: number;
  ts: number;
  data: Uint8Array;
  resendAt: number;
  rto: number;
  fastAck: number;
  xmit: number;
}

/**
 * Chunks of bytes, and `null` end-of-stream markers, consumed from the front
 * through an offset into the first chunk: the send queue (what `send` took)
 * and the receive queue (in-order data for `read`) both drain this way.
 */
class ChunkFifo {
  readonly chunks: Array<Uint8Array | null> = [];
  /** Bytes of `chunks[0]` already taken. */
  offset = 0;

  get length(): number {
    return this.chunks.length;
  }

  /**
   * Copies bytes into `dst` from position `at` until `dst` is full, the queue
   * is empty or an end marker is next; returns the position reached.
   */
  drainInto(dst: Uint8Array, at: number): number {
    while (at < dst.length && this.chunks.length > 0) {
      const chunk = this.chunks[0];
      if (chunk === null) break;
      const take = Math.min(dst.length - at, chunk.length - this.offset);
      dst.set(chunk.subarray(this.offset, this.offset + take), at);
      at += take;
      this.offset += take;
      if (this.offset === chunk.length) {
        this.chunks.shift();
        this.offset = 0;
      }
    }
    return at;
  }
}

/** One KCP conversation's state. */
export class KcpEngine {
  readonly tuning: KcpTuning;
  #mss: number;
  #sndUna = 0;
  #sndNxt = 0;
  #rcvNxt = 0;
  #rmtWnd: number;
  #cwnd = 1;
  #ssthresh = 2;
  #incr = 0;
  #srtt = 0;
  #rttVar = 0;
  #rto = 200;
  /** Bytes waiting for a sequence number; `null` marks the end of stream. */
  #sndQueue = new ChunkFifo();
  #queuedBytes = 0;
  #sndBuf: Segment[] = [];
  #rcvBuf = new Map<number, Uint8Array>();
  #rcvQueue = new ChunkFifo();
  #acks: number[] = [];
  #tellWindow = false;
  #probeAt = 0;
  #probeWait = 0;
  #sentEnd = false;
  #receivedEnd = false;
  #dead = false;
  #out: Uint8Array;
  #outLen = 0;

  /**
   * @param conv the conversation id both sides share
   * @param output sends one datagram; it owns the array it is given
   * @param tuning see {@linkcode KcpTuning}
   */
  constructor(
    readonly conv: number,
    readonly output: (datagram: Uint8Array) => void,
    tuning: Partial<KcpTuning> = {},
  ) {
    this.tuning = { ...DEFAULT_KCP_TUNING, ...tuning };
    this.#mss = this.tuning.mtu - KCP_OVERHEAD;
    this.#rmtWnd = this.tuning.receiveWindow;
    this.#rto = Math.max(this.tuning.minRto, 200);
    this.#out = new Uint8Array(this.tuning.mtu);
  }

  /** Bytes accepted by {@linkcode send} and not yet acknowledged. */
  get unacknowledged(): number {
    let n = this.#queuedBytes;
    for (const seg of this.#sndBuf) n += seg.data.length;
    return n;
  }

  /** In-order bytes ready for {@linkcode read}. */
  get readable(): number {
    let n = -this.#rcvQueue.offset;
    for (const chunk of this.#rcvQueue.chunks) n += chunk!.length;
    return n;
  }

  /** The peer's end of stream has been read past (nothing more will come). */
  get ended(): boolean {
    return this.#receivedEnd && this.#rcvQueue.length === 0;
  }

  /** Our end of stream was sent and everything we sent is acknowledged. */
  get drained(): boolean {
    return this.#sentEnd && this.#sndQueue.length === 0 && this.#sndBuf.length === 0;
  }

  /** A segment was sent `deadLink` times without an ack, or the peer reset us. */
  get dead(): boolean {
    return this.#dead;
  }

  /** Whether a flush has anything to do besides keeping time. */
  get busy(): boolean {
    return this.#sndQueue.length > 0 || this.#sndBuf.length > 0 || this.#acks.length > 0 ||
      this.#tellWindow;
  }

  /** Queues a copy of `data` for sending. */
  send(data: Uint8Array): void {
    if (this.#sentEnd) throw new Error("kcp: write after end of stream");
    if (data.length === 0) return;
    this.#sndQueue.chunks.push(data.slice());
    this.#queuedBytes += data.length;
  }

  /** Queues the end of stream, ordered after everything sent before it. */
  end(): void {
    if (this.#sentEnd) return;
    this.#sentEnd = true;
    this.#sndQueue.chunks.push(null);
  }

  /** Marks the conversation dead (a reset from the peer, or the owner gave up). */
  kill(): void {
    this.#dead = true;
  }

  /** Copies in-order bytes into `p`; `null` when none are buffered. */
  read(p: Uint8Array): Uint8Array | null {
    if (this.#rcvQueue.length === 0) return null;
    const fullBefore = this.#rcvQueue.length >= this.tuning.receiveWindow;
    const n = this.#rcvQueue.drainInto(p, 0);
    this.#moveReceived();
    // The sender stopped at a zero window: tell it there is room again
    // instead of waiting for its probe.
    if (fullBefore && this.#rcvQueue.length < this.tuning.receiveWindow) this.#tellWindow = true;
    return p.subarray(0, n);
  }

  /**
   * Takes one datagram from the peer. Returns false when it is not a KCP
   * datagram of this conversation (the caller may then answer with a reset).
   */
  input(datagram: Uint8Array, now = clock()): boolean {
    const view = new DataView(datagram.buffer, datagram.byteOffset, datagram.byteLength);
    let offset = 0;
    let maxAck = -1;
    let maxAckTs = 0;
    const unaBefore = this.#sndUna;
    let any = false;
    while (datagram.length - offset >= KCP_OVERHEAD) {
      const conv = view.getUint32(offset, true);
      if (conv !== this.conv) return any;
      const cmd = datagram[offset + 4];
      const wnd = view.getUint16(offset + 6, true);
      const ts = view.getUint32(offset + 8, true);
      const sn = view.getUint32(offset + 12, true);
      const una = view.getUint32(offset + 16, true);
      const len = view.getUint32(offset + 20, true);
      offset += KCP_OVERHEAD;
      if (len > datagram.length - offset) return any;
      if (cmd < CMD_PUSH || cmd > CMD_RST) return any;
      any = true;
      if (cmd === CMD_RST) {
        this.#dead = true;
        return true;
      }
      this.#rmtWnd = wnd;
      this.#acknowledgeBelow(una);
      if (cmd === CMD_ACK) {
        const rtt = (now - ts) | 0;
        if (rtt >= 0) this.#updateRtt(rtt);
        this.#acknowledge(sn);
        if (sn > maxAck) {
          maxAck = sn;
          maxAckTs = ts;
        }
      } else if (cmd === CMD_PUSH) {
        if (sn < this.#rcvNxt + this.tuning.receiveWindow) {
          this.#acks.push(sn, ts);
          if (sn >= this.#rcvNxt && !this.#rcvBuf.has(sn)) {
            this.#rcvBuf.set(sn, datagram.slice(offset, offset + len));
          }
        }
      } else if (cmd === CMD_WASK) {
        this.#tellWindow = true;
      }
      offset += len;
    }
    if (this.tuning.congestionControl && this.#sndUna > unaBefore) this.#grow();
    if (maxAck >= 0) {
      // A later segment was acknowledged: an earlier one sent no later than it
      // was probably lost. (One resent since then may simply be on its way.)
      for (const seg of this.#sndBuf) {
        if (seg.sn < maxAck && seg.ts <= maxAckTs) seg.fastAck++;
      }
    }
    this.#moveReceived();
    return any;
  }

  /** Sends what is due: acks, window talk, new segments, retransmissions. */
  flush(now = clock()): void {
    if (this.#dead) return;
    const t = this.tuning;
    const wnd = Math.max(0, t.receiveWindow - this.#rcvQueue.length);
    const acks = this.#acks;
    for (let i = 0; i < acks.length; i += 2) this.#emit(CMD_ACK, wnd, acks[i + 1], acks[i]);
    acks.length = 0;

    if (this.#rmtWnd === 0) {
      if (this.#probeWait === 0) {
        this.#probeWait = PROBE_INIT;
        this.#probeAt = now + this.#probeWait;
      } else if (now >= this.#probeAt) {
        this.#probeWait = Math.min(PROBE_LIMIT, this.#probeWait * 1.5);
        this.#probeAt = now + this.#probeWait;
        this.#emit(CMD_WASK, wnd, 0, 0);
      }
    } else {
      this.#probeWait = 0;
    }
    if (this.#tellWindow) {
      this.#tellWindow = false;
      this.#emit(CMD_WINS, wnd, 0, 0);
    }

    // Stream mode: new segments take up to one MSS from the queue.
    let window = Math.min(t.sendWindow, Math.max(this.#rmtWnd, 1));
    if (t.congestionControl) window = Math.min(window, this.#cwnd);
    const limit = this.#sndUna + window;
    while (this.#sndNxt < limit && this.#sndQueue.length > 0) {
      const data = this.#takeSegment();
      this.#sndBuf.push({
        sn: this.#sndNxt++,
        ts: 0,
        data,
        resendAt: 0,
        rto: this.#rto,
        fastAck: 0,
        xmit: 0,
      });
    }

    let fastResent = false, timedOut = false;
    for (const seg of this.#sndBuf) {
      let due = false;
      if (seg.xmit === 0) {
        due = true;
        seg.rto = this.#rto;
        seg.resendAt = now + seg.rto;
      } else if (now >= seg.resendAt) {
        due = true;
        timedOut = true;
        seg.rto += seg.rto / 2; // no-delay mode: grow by half, not double
        if (seg.rto > MAX_RTO) seg.rto = MAX_RTO;
        seg.resendAt = now + seg.rto;
      } else if (seg.fastAck >= t.fastResend && seg.xmit <= t.fastLimit) {
        due = true;
        fastResent = true;
        seg.fastAck = 0;
        seg.resendAt = now + seg.rto;
      }
      if (!due) continue;
      seg.xmit++;
      seg.ts = now;
      if (seg.xmit >= t.deadLink) this.#dead = true;
      this.#emit(CMD_PUSH, wnd, now, seg.sn, seg.data);
    }
    this.#sendOut();
    if (t.congestionControl && fastResent) {
      this.#ssthresh = Math.max(2, Math.floor((this.#sndNxt - this.#sndUna) / 2));
      this.#cwnd = this.#ssthresh + t.fastResend;
      this.#incr = this.#cwnd * this.#mss;
    }
    if (t.congestionControl && timedOut) {
      this.#ssthresh = Math.max(2, Math.floor(this.#cwnd / 2));
      this.#cwnd = 1;
      this.#incr = this.#mss;
    }
  }

  #takeSegment(): Uint8Array {
    const q = this.#sndQueue;
    const first = q.chunks[0];
    if (first === null) {
      q.chunks.shift();
      return new Uint8Array(0); // the end of stream: a push without data
    }
    const available = first.length - q.offset;
    if (available >= this.#mss || q.length === 1 || q.chunks[1] === null) {
      const take = Math.min(available, this.#mss);
      const data = first.subarray(q.offset, q.offset + take);
      q.offset += take;
      this.#queuedBytes -= take;
      if (q.offset === first.length) {
        q.chunks.shift();
        q.offset = 0;
      }
      return data;
    }
    // Small writes: join them into one segment of up to one MSS.
    const data = new Uint8Array(Math.min(this.#mss, this.#queuedBytes));
    const n = q.drainInto(data, 0);
    this.#queuedBytes -= n;
    return n === data.length ? data : data.subarray(0, n);
  }

  #emit(cmd: number, wnd: number, ts: number, sn: number, data?: Uint8Array): void {
    const size = KCP_OVERHEAD + (data?.length ?? 0);
    if (this.#outLen + size > this.#out.length) this.#sendOut();
    const out = this.#out;
    const view = new DataView(out.buffer, this.#outLen, KCP_OVERHEAD);
    view.setUint32(0, this.conv, true);
    out[this.#outLen + 4] = cmd;
    out[this.#outLen + 5] = 0;
    view.setUint16(6, Math.min(wnd, 0xffff), true);
    view.setUint32(8, ts >>> 0, true);
    view.setUint32(12, sn >>> 0, true);
    view.setUint32(16, this.#rcvNxt >>> 0, true);
    view.setUint32(20, data?.length ?? 0, true);
    if (data) out.set(data, this.#outLen + KCP_OVERHEAD);
    this.#outLen += size;
  }

  #sendOut(): void {
    if (this.#outLen === 0) return;
    const datagram = this.#out.subarray(0, this.#outLen);
    // The output owns what it is given (sends are asynchronous): hand over
    // this buffer and start a new one.
    this.#out = new Uint8Array(this.tuning.mtu);
    this.#outLen = 0;
    this.output(datagram);
  }

  /** Congestion window after acks moved `sndUna` forward (KCP's slow start and avoidance). */
  #grow(): void {
    const mss = this.#mss;
    if (this.#cwnd >= this.#rmtWnd) return;
    if (this.#cwnd < this.#ssthresh) {
      this.#cwnd++;
      this.#incr += mss;
    } else {
      if (this.#incr < mss) this.#incr = mss;
      this.#incr += (mss * mss) / this.#incr + mss / 16;
      if ((this.#cwnd + 1) * mss <= this.#incr) this.#cwnd++;
    }
    if (this.#cwnd > this.#rmtWnd) {
      this.#cwnd = this.#rmtWnd;
      this.#incr = this.#rmtWnd * mss;
    }
  }

  #acknowledgeBelow(una: number): void {
    let i = 0;
    while (i < this.#sndBuf.length && this.#sndBuf[i].sn < una) i++;
    if (i > 0) this.#sndBuf.splice(0, i);
    this.#sndUna = this.#sndBuf.length > 0 ? this.#sndBuf[0].sn : this.#sndNxt;
  }

  #acknowledge(sn: number): void {
    if (sn < this.#sndUna || sn >= this.#sndNxt) return;
    const buf = this.#sndBuf;
    // Segments are in order: a binary search finds the acked one.
    let lo = 0, hi = buf.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (buf[mid].sn === sn) {
        buf.splice(mid, 1);
        break;
      }
      if (buf[mid].sn < sn) lo = mid + 1;
      else hi = mid - 1;
    }
    this.#sndUna = buf.length > 0 ? buf[0].sn : this.#sndNxt;
  }

  #updateRtt(rtt: number): void {
    if (this.#srtt === 0) {
      this.#srtt = rtt;
      this.#rttVar = rtt / 2;
    } else {
      const delta = Math.abs(rtt - this.#srtt);
      this.#rttVar = (3 * this.#rttVar + delta) / 4;
      this.#srtt = Math.max(1, (7 * this.#srtt + rtt) / 8);
    }
    const rto = this.#srtt + Math.max(this.tuning.interval, 4 * this.#rttVar);
    this.#rto = Math.min(MAX_RTO, Math.max(this.tuning.minRto, rto));
  }

  #moveReceived(): void {
    while (this.#rcvQueue.length < this.tuning.receiveWindow) {
      const data = this.#rcvBuf.get(this.#rcvNxt);
      if (data === undefined) break;
      this.#rcvBuf.delete(this.#rcvNxt);
      this.#rcvNxt++;
      if (data.length === 0) this.#receivedEnd = true;
      else if (!this.#receivedEnd) this.#rcvQueue.chunks.push(data);
    }
  }
}

const start = performance.now();
/** Milliseconds on a monotonic clock, as KCP's `current`. */
function clock(): number {
  return Math.floor(performance.now() - start);
}

/**
 * Reads the conversation id and command of a datagram's first segment, or
 * `null` when it is too short to be KCP.
 *
 * @example
 * ```ts
 * import { peekSegment } from "./kcp_engine.ts";
 * peekSegment(new Uint8Array(24)); // { conv: 0, cmd: 0, sn: 0, una: 0 }
 * ```
 */
export function peekSegment(
  datagram: Uint8Array,
): { conv: number; cmd: number; sn: number; una: number } | null {
  if (datagram.length < KCP_OVERHEAD) return null;
  const view = new DataView(datagram.buffer, datagram.byteOffset, datagram.byteLength);
  return {
    conv: view.getUint32(0, true),
    cmd: datagram[4],
    sn: view.getUint32(12, true),
    una: view.getUint32(16, true),
  };
}

/**
 * A reset for conversation `conv`: tells a peer that we do not know it.
 *
 * @example
 * ```ts
 * import { resetSegment } from "./kcp_engine.ts";
 * resetSegment(7).length; // 24
 * ```
 */
export function resetSegment(conv: number): Uint8Array {
  const out = new Uint8Array(KCP_OVERHEAD);
  const view = new DataView(out.buffer);
  view.setUint32(0, conv, true);
  out[4] = CMD_RST;
  return out;
}
