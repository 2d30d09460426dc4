/**
 * Datagrams over a byte stream: the framing a udp proxy's work connection
 * carries (see `docs/protocol.md`, "UDP").
 *
 *     +-------------------+------------------+------------------+-----------------+
 *     | payload len: u16  | addr len: u8     | addr: "ip:port"  | payload         |
 *     +-------------------+------------------+------------------+-----------------+
 *
 * The address is the user's (the sender on the server side), so replies find
 * their way back to the sender they answer.
 *
 * @example
 * ```ts
 * import { UdpFrameReader, UdpFrameWriter } from "./udp_frame.ts";
 * const conn = await Deno.connect({ port: 7000 });
 * const writer = new UdpFrameWriter(conn);
 * writer.send("1.2.3.4:5353", new Uint8Array([1, 2, 3]));
 * const reader = new UdpFrameReader(conn);
 * const frame = await reader.next();
 * console.log(frame?.addr, frame?.payload.length);
 * ```
 *
 * @module
 */

import { type Duplex, writeAll } from "./duplex.ts";

/** Bytes before the address: payload length (u16) and address length (u8). */
export const UDP_FRAME_HEADER = 3;
/** The largest payload a frame can carry. */
export const MAX_UDP_PAYLOAD = 0xffff;
/** The longest address a frame can carry. */
export const MAX_UDP_ADDR = 0xff;
/** The largest frame on the wire. */
export const MAX_UDP_FRAME = UDP_FRAME_HEADER + MAX_UDP_ADDR + MAX_UDP_PAYLOAD;
/** Framed bytes a work connection may have queued before new datagrams are dropped, as UDP may. */
export const UDP_MAX_BACKLOG = 1 << 20;

/**
 * Writes `hostname:port`, bracketing IPv6 hosts.
 *
 * @example
 * ```ts
 * import { formatUdpAddr } from "./udp_frame.ts";
 * formatUdpAddr("::1", 53); // "[::1]:53"
 * ```
 */
export function formatUdpAddr(hostname: string, port: number): string {
  return hostname.includes(":") ? `[${hostname}]:${port}` : `${hostname}:${port}`;
}

/**
 * Reads `ip:port` or `[ipv6]:port`; null when it is neither.
 *
 * @example
 * ```ts
 * import { parseUdpAddr } from "./udp_frame.ts";
 * parseUdpAddr("[::1]:53"); // { hostname: "::1", port: 53 }
 * ```
 */
export function parseUdpAddr(addr: string): { hostname: string; port: number } | null {
  const colon = addr.lastIndexOf(":");
  if (colon <= 0) return null;
  let hostname = addr.slice(0, colon);
  const portText = addr.slice(colon + 1);
  if (!/^\d{1,5}$/.test(portText)) return null;
  const port = Number(portText);
  if (port > 65535) return null;
  if (hostname.startsWith("[")) {
    if (!hostname.endsWith("]")) return null;
    hostname = hostname.slice(1, -1);
  } else if (hostname.includes(":")) {
    return null;
  }
  return hostname ? { hostname, port } : null;
}

/** One decoded frame; `payload` is only valid until the next `next()`. */
export interface UdpFrame {
  addr: string;
  payload: Uint8Array;
}

/**
 * Decodes frames from a stream over one reused buffer. The work connection
 * belongs to the udp proxy alone, so reading ahead is safe.
 *
 * @example
 * ```ts
 * import { UdpFrameReader } from "./udp_frame.ts";
 * const conn = await Deno.connect({ port: 7000 });
 * const reader = new UdpFrameReader(conn);
 * for (let f; (f = await reader.next()) !== null;) console.log(f.addr);
 * ```
 */
export class UdpFrameReader {
  #buf = new Uint8Array(2 * MAX_UDP_FRAME);
  #start = 0;
  #end = 0;
  #frame: UdpFrame = { addr: "", payload: this.#buf.subarray(0, 0) };
  // Senders repeat, so decoding the same address bytes again is skipped.
  #lastAddr = new Uint8Array(MAX_UDP_ADDR);
  #lastAddrLen = -1;
  #decoder = new TextDecoder();

  /** @param src the stream to read frames from */
  constructor(readonly src: Pick<Duplex, "read">) {}

  /**
   * The next frame, or null at a clean end of stream. Throws on a stream
   * that ends inside a frame or carries an empty address.
   */
  async next(): Promise<UdpFrame | null> {
    if (!await this.#fill(UDP_FRAME_HEADER)) return null;
    const buf = this.#buf;
    const s = this.#start;
    const payloadLen = (buf[s] << 8) | buf[s + 1];
    const addrLen = buf[s + 2];
    if (addrLen === 0) throw new Error("bad udp frame: empty address");
    const total = UDP_FRAME_HEADER + addrLen + payloadLen;
    if (!await this.#fill(total)) {
      throw new Deno.errors.UnexpectedEof("stream ended inside a udp frame");
    }
    const at = this.#start;
    const addrBytes = this.#buf.subarray(at + UDP_FRAME_HEADER, at + UDP_FRAME_HEADER + addrLen);
    if (!this.#sameAddr(addrBytes)) {
      this.#lastAddr.set(addrBytes);
      this.#lastAddrLen = addrLen;
      this.#frame.addr = this.#decoder.decode(addrBytes);
    }
    this.#frame.payload = this.#buf.subarray(at + UDP_FRAME_HEADER + addrLen, at + total);
    this.#start = at + total;
    return this.#frame;
  }

  #sameAddr(bytes: Uint8Array): boolean {
    if (bytes.length !== this.#lastAddrLen) return false;
    for (let i = 0; i < bytes.length; i++) if (bytes[i] !== this.#lastAddr[i]) return false;
    return true;
  }

  /** Makes `need` bytes available from `#start`; false if the stream ended with none buffered. */
  async #fill(need: number): Promise<boolean> {
    if (this.#end - this.#start >= need) return true;
    if (this.#start + need > this.#buf.length) {
      this.#buf.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
    }
    while (this.#end - this.#start < need) {
      const n = await this.src.read(this.#buf.subarray(this.#end));
      if (n === null) {
        if (this.#end === this.#start) return false;
        throw new Deno.errors.UnexpectedEof("stream ended inside a udp frame");
      }
      this.#end += n;
    }
    return true;
  }
}

/**
 * Frames gathered before a flush starts at once instead of after the next
 * macrotask. Each receive completes in its own macrotask, so without the wait
 * every datagram of a flood was its own write (68,837 flushes for 70,000
 * datagrams at 100 Mbit/s, measured); with it a flood becomes one write per
 * event-loop turn (1,857 flushes for 60,000).
 */
export const UDP_COALESCE_BYTES = 32 * 1024;
/**
 * A flush within this many ms of the last one waits a macrotask to gather
 * more; a datagram after a quiet spell goes out at once, so sparse traffic
 * (games, DNS) pays no timer and no delay.
 */
export const UDP_COALESCE_AFTER_MS = 1;

/**
 * Encodes frames into a pending buffer that one flush loop writes out, so a
 * burst of datagrams becomes few writes and senders never await. During a
 * flood (a flush within {@linkcode UDP_COALESCE_AFTER_MS} of the last) a
 * flush waits one macrotask (`setTimeout(0)`) so that the datagrams received
 * meanwhile go out in the same write, unless {@linkcode UDP_COALESCE_BYTES}
 * are already pending. When the backlog
 * reaches `maxPending` bytes new datagrams are dropped, as a full UDP socket
 * buffer would.
 *
 * @example
 * ```ts
 * import { UdpFrameWriter } from "./udp_frame.ts";
 * const conn = await Deno.connect({ port: 7000 });
 * const writer = new UdpFrameWriter(conn, 1 << 20, (err) => console.error(err));
 * if (!writer.send("127.0.0.1:5353", new Uint8Array(10))) console.log("dropped");
 * ```
 */
export class UdpFrameWriter {
  #pending: Uint8Array;
  #spare: Uint8Array = new Uint8Array(0);
  #len = 0;
  #flushing = false;
  #closed = false;
  #lastFlush = -Infinity;
  #encoder = new TextEncoder();

  /**
   * @param dst the stream to write frames to
   * @param maxPending the backlog above which datagrams are dropped
   * @param onError called once when a write fails; the writer is closed then
   */
  constructor(
    readonly dst: Pick<Duplex, "write">,
    readonly maxPending = 1 << 20,
    readonly onError?: (err: Error) => void,
  ) {
    this.#pending = new Uint8Array(Math.min(64 * 1024, maxPending));
  }

  /** Queues one datagram from/to `addr`; false if dropped (closed, too big, or backlog full). */
  send(addr: string, payload: Uint8Array): boolean {
    if (this.#closed || payload.length > MAX_UDP_PAYLOAD) return false;
    const need = UDP_FRAME_HEADER + addr.length * 3 + payload.length;
    if (this.#len + need > this.#pending.length && !this.#grow(this.#len + need)) return false;
    const buf = this.#pending;
    const at = this.#len;
    const room = Math.min(MAX_UDP_ADDR, buf.length - at - UDP_FRAME_HEADER);
    const { read, written } = this.#encoder.encodeInto(
      addr,
      buf.subarray(at + UDP_FRAME_HEADER, at + UDP_FRAME_HEADER + room),
    );
    if (read !== addr.length || written === 0) return false;
    buf[at] = payload.length >> 8;
    buf[at + 1] = payload.length & 0xff;
    buf[at + 2] = written;
    buf.set(payload, at + UDP_FRAME_HEADER + written);
    this.#len = at + UDP_FRAME_HEADER + written + payload.length;
    if (!this.#flushing) this.#flush();
    return true;
  }

  #grow(need: number): boolean {
    if (need > this.maxPending) return false;
    let size = this.#pending.length;
    while (size < need) size *= 2;
    const bigger = new Uint8Array(Math.min(size, Math.max(this.maxPending, need)));
    bigger.set(this.#pending.subarray(0, this.#len));
    this.#pending = bigger;
    return true;
  }

  async #flush(): Promise<void> {
    this.#flushing = true;
    try {
      const now = performance.now();
      if (now - this.#lastFlush < UDP_COALESCE_AFTER_MS && this.#len < UDP_COALESCE_BYTES) {
        await new Promise((r) => setTimeout(r, 0));
      }
      this.#lastFlush = now;
      while (this.#len > 0 && !this.#closed) {
        // Swap buffers so senders keep appending while this batch is written.
        const out = this.#pending;
        const n = this.#len;
        this.#pending = this.#spare.length >= out.length ? this.#spare : new Uint8Array(out.length);
        this.#spare = out;
        this.#len = 0;
        await writeAll(this.dst, out.subarray(0, n));
      }
    } catch (err) {
      this.close();
      this.onError?.(err as Error);
    } finally {
      this.#flushing = false;
    }
  }

  /** Stops writing; later `send`s return false. */
  close(): void {
    this.#closed = true;
    this.#len = 0;
  }
}
