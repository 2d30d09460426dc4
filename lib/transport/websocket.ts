/**
 * WebSocket (RFC 6455) as a byte transport, for networks that only let HTTP
 * through: the client upgrades `GET /~!frp` (frp's path) and both sides then
 * carry dfrp's bytes in binary frames.
 *
 * Half-close maps onto the close handshake: `closeWrite()` sends a Close
 * frame, and a received Close frame is end of stream; each side may keep
 * sending until it closes its own half, as a TCP half-close allows.
 *
 * @example
 * ```ts
 * import { connectWebSocket } from "./websocket.ts";
 * import { dialTcp } from "../net/tcp_conn.ts";
 * const conn = await connectWebSocket(await dialTcp("127.0.0.1", 7000, 5000), "127.0.0.1:7000");
 * ```
 *
 * @module
 */

import { writeAll } from "../net/duplex.ts";
import { PrefixedConn } from "../net/prefixed_conn.ts";
import type { TransportConn } from "./transport.ts";

/** The upgrade path, as frp's. */
export const WEBSOCKET_PATH = "/~!frp";

/** Largest HTTP head accepted during the upgrade. */
const MAX_HEAD = 8192;
/** Payload bytes per frame written (larger writes are split). */
const MAX_FRAME = 64 * 1024;
/** Largest frame payload accepted; a bigger one is bad input. */
const MAX_INCOMING_FRAME = 16 * 1024 * 1024;
const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

const OP_CONT = 0x0;
const OP_BINARY = 0x2;
const OP_TEXT = 0x1;
const OP_CLOSE = 0x8;
const OP_PING = 0x9;
const OP_PONG = 0xa;

async function acceptKey(key: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(key + GUID));
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}

/** Reads an HTTP head (up to the blank line); returns it and any bytes after it. */
async function readHead(conn: TransportConn): Promise<{ head: string; rest: Uint8Array }> {
  const buf = new Uint8Array(MAX_HEAD);
  let filled = 0;
  for (;;) {
    const n = await conn.read(buf.subarray(filled));
    if (n === null) throw new Error("connection ended during the WebSocket upgrade");
    filled += n;
    for (let i = Math.max(0, filled - n - 3); i + 3 < filled; i++) {
      if (buf[i] === 13 && buf[i + 1] === 10 && buf[i + 2] === 13 && buf[i + 3] === 10) {
        return {
          head: new TextDecoder().decode(buf.subarray(0, i)),
          rest: buf.slice(i + 4, filled),
        };
      }
    }
    if (filled === buf.length) throw new Error("WebSocket upgrade head too large");
  }
}

function headers(head: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of head.split("\r\n").slice(1)) {
    const colon = line.indexOf(":");
    if (colon > 0) out.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return out;
}

/**
 * Server side: reads the upgrade request (already known to be `GET /~!frp`),
 * answers 101, and yields the framed connection. Bad requests get a 400.
 *
 * @example
 * ```ts
 * import { acceptWebSocket } from "./websocket.ts";
 * import type { TransportConn } from "./transport.ts";
 * declare const raw: TransportConn;
 * const conn = await acceptWebSocket(raw);
 * ```
 */
export async function acceptWebSocket(conn: TransportConn): Promise<TransportConn> {
  const { head, rest } = await readHead(conn);
  const h = headers(head);
  const key = h.get("sec-websocket-key");
  if (h.get("upgrade")?.toLowerCase() !== "websocket" || !key) {
    await writeAll(
      conn,
      new TextEncoder().encode(
        "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
      ),
    ).catch(() => {});
    throw new Error("bad WebSocket upgrade request (no Upgrade: websocket or Sec-WebSocket-Key)");
  }
  await writeAll(
    conn,
    new TextEncoder().encode(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Accept: ${await acceptKey(key)}\r\n\r\n`,
    ),
  );
  return new WebSocketConn(rest.length ? new PrefixedConn(conn, rest) : conn, false);
}

/**
 * Client side: sends the upgrade request for `host` over `conn` and yields
 * the framed connection once the server answered 101 with the right key.
 *
 * @example
 * ```ts
 * import { connectWebSocket } from "./websocket.ts";
 * import { dialTcp } from "../net/tcp_conn.ts";
 * const ws = await connectWebSocket(await dialTcp("example.com", 80, 5000), "example.com");
 * ```
 */
export async function connectWebSocket(conn: TransportConn, host: string): Promise<TransportConn> {
  const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
  await writeAll(
    conn,
    new TextEncoder().encode(
      `GET ${WEBSOCKET_PATH} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\n` +
        `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    ),
  );
  const { head, rest } = await readHead(conn);
  const status = head.split("\r\n", 1)[0];
  if (!/^HTTP\/1\.1 101/.test(status)) {
    throw new Error(`WebSocket upgrade refused by the server: ${status}`);
  }
  if (headers(head).get("sec-websocket-accept") !== await acceptKey(key)) {
    throw new Error("WebSocket upgrade answered with a wrong Sec-WebSocket-Accept");
  }
  return new WebSocketConn(rest.length ? new PrefixedConn(conn, rest) : conn, true);
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * XORs `data` in place with the 4-byte WebSocket `mask`, starting at mask
 * byte `phase` (0-3); returns the phase for the bytes that follow. Works a
 * 32-bit word at a time over the aligned middle: a byte loop made masking
 * the largest cost of the WebSocket transport.
 *
 * @example
 * ```ts
 * import { xorMask } from "./websocket.ts";
 * const data = new Uint8Array([1, 2, 3, 4, 5]);
 * xorMask(data, new Uint8Array([1, 1, 1, 1]), 0); // 1 (data is now [0, 3, 2, 5, 4])
 * ```
 */
export function xorMask(data: Uint8Array, mask: Uint8Array, phase: number): number {
  const n = data.length;
  let i = 0;
  let m = phase & 3;
  // Bytes up to a 4-byte boundary of the underlying buffer, one by one.
  const head = Math.min(n, (4 - ((data.byteOffset) & 3)) & 3);
  for (; i < head; i++, m = (m + 1) & 3) data[i] ^= mask[m];
  const words = (n - i) >>> 2;
  if (words > 0) {
    // The mask as one word in the machine's byte order, rotated to the phase here.
    const b0 = mask[m], b1 = mask[(m + 1) & 3], b2 = mask[(m + 2) & 3], b3 = mask[(m + 3) & 3];
    const word = LITTLE_ENDIAN
      ? (b0 | (b1 << 8) | (b2 << 16) | (b3 << 24))
      : ((b0 << 24) | (b1 << 16) | (b2 << 8) | b3);
    const view = new Uint32Array(data.buffer, data.byteOffset + i, words);
    for (let w = 0; w < words; w++) view[w] ^= word;
    i += words * 4;
  }
  for (; i < n; i++, m = (m + 1) & 3) data[i] ^= mask[m];
  return m;
}

/** A framed WebSocket connection as a {@linkcode TransportConn}. */
export class WebSocketConn implements TransportConn {
  #in = new Uint8Array(16 * 1024);
  #start = 0;
  #end = 0;
  /** Payload bytes left in the data frame being read. */
  #remaining = 0;
  #mask: Uint8Array | null = null;
  #maskOff = 0;
  #eof = false;
  #out: Uint8Array | null = null;
  #writing: Promise<unknown> = Promise.resolve();
  #sentClose = false;

  /**
   * @param inner the upgraded connection
   * @param masking true on the client: its frames must be masked
   */
  constructor(readonly inner: TransportConn, readonly masking: boolean) {}

  /** Peer address of the inner connection. */
  get remoteAddr(): string {
    return this.inner.remoteAddr;
  }

  async #fill(min: number): Promise<boolean> {
    if (this.#end - this.#start >= min) return true;
    if (this.#start > 0) {
      this.#in.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
    }
    while (this.#end < min) {
      const n = await this.inner.read(this.#in.subarray(this.#end));
      if (n === null) return false;
      this.#end += n;
    }
    return true;
  }

  /** Reads frame headers until a data payload is pending; false at end of stream. */
  async #nextData(): Promise<boolean> {
    while (this.#remaining === 0) {
      if (this.#eof) return false;
      if (!await this.#fill(2)) {
        this.#eof = true;
        return false;
      }
      const b0 = this.#in[this.#start], b1 = this.#in[this.#start + 1];
      const op = b0 & 0x0f;
      const masked = (b1 & 0x80) !== 0;
      let len = b1 & 0x7f;
      let hdr = 2;
      if (len === 126) hdr += 2;
      else if (len === 127) hdr += 8;
      if (masked) hdr += 4;
      if (!await this.#fill(hdr)) throw new Error("WebSocket stream ended inside a frame header");
      const view = new DataView(this.#in.buffer, this.#start);
      if (len === 126) len = view.getUint16(2);
      else if (len === 127) len = Number(view.getBigUint64(2));
      if (len > MAX_INCOMING_FRAME) throw new Error(`WebSocket frame of ${len} bytes is too large`);
      const mask = masked ? this.#in.slice(this.#start + hdr - 4, this.#start + hdr) : null;
      this.#start += hdr;
      if (op === OP_BINARY || op === OP_CONT || op === OP_TEXT) {
        this.#remaining = len;
        this.#mask = mask;
        this.#maskOff = 0;
        continue;
      }
      if (op >= 0x8 && len > 125) throw new Error("WebSocket control frame too large");
      if (!await this.#fill(len)) throw new Error("WebSocket stream ended inside a control frame");
      const payload = this.#in.slice(this.#start, this.#start + len);
      this.#start += len;
      if (mask) xorMask(payload, mask, 0);
      if (op === OP_CLOSE) {
        this.#eof = true;
        return false;
      }
      if (op === OP_PING) await this.#send(OP_PONG, payload).catch(() => {});
      else if (op !== OP_PONG) throw new Error(`unknown WebSocket opcode ${op}`);
    }
    return true;
  }

  /** Reads payload bytes into `p`. */
  async read(p: Uint8Array): Promise<number | null> {
    if (p.length === 0) return 0;
    if (!await this.#nextData()) return null;
    const want = Math.min(p.length, this.#remaining);
    let n: number;
    if (this.#end > this.#start) {
      n = Math.min(want, this.#end - this.#start);
      p.set(this.#in.subarray(this.#start, this.#start + n));
      this.#start += n;
    } else {
      // Nothing buffered: read the payload straight into the caller's buffer.
      const got = await this.inner.read(p.subarray(0, want));
      if (got === null) throw new Error("WebSocket stream ended inside a frame");
      n = got;
    }
    const mask = this.#mask;
    if (mask) this.#maskOff = xorMask(n === p.length ? p : p.subarray(0, n), mask, this.#maskOff);
    this.#remaining -= n;
    return n;
  }

  /** Sends one frame (serialised with other writes); resolves when written. */
  #send(op: number, payload: Uint8Array): Promise<void> {
    const job = this.#writing.then(async () => {
      const hdr = payload.length < 126 ? 2 : payload.length < 65536 ? 4 : 10;
      const total = hdr + (this.masking ? 4 : 0) + payload.length;
      if (!this.#out || this.#out.length < total) {
        this.#out = new Uint8Array(Math.max(total, 1024));
      }
      const out = this.#out;
      out[0] = 0x80 | op;
      const maskBit = this.masking ? 0x80 : 0;
      if (hdr === 2) out[1] = maskBit | payload.length;
      else if (hdr === 4) {
        out[1] = maskBit | 126;
        out[2] = payload.length >> 8;
        out[3] = payload.length & 0xff;
      } else {
        out[1] = maskBit | 127;
        new DataView(out.buffer).setBigUint64(2, BigInt(payload.length));
      }
      let off = hdr;
      if (this.masking) {
        const mask = crypto.getRandomValues(out.subarray(off, off + 4));
        off += 4;
        out.set(payload, off);
        xorMask(out.subarray(off, off + payload.length), mask, 0);
      } else {
        out.set(payload, off);
      }
      await writeAll(this.inner, out.subarray(0, total));
    });
    this.#writing = job.catch(() => {});
    return job;
  }

  /** Writes up to 64 KiB of `p` as one binary frame. */
  async write(p: Uint8Array): Promise<number> {
    if (this.#sentClose) throw new Deno.errors.BrokenPipe("WebSocket already closed for writing");
    const n = Math.min(p.length, MAX_FRAME);
    await this.#send(OP_BINARY, n === p.length ? p : p.subarray(0, n));
    return n;
  }

  /** Sends a Close frame: the peer reads end of stream. */
  async closeWrite(): Promise<void> {
    if (this.#sentClose) return;
    this.#sentClose = true;
    await this.#send(OP_CLOSE, new Uint8Array([0x03, 0xe8])).catch(() => {});
  }

  /** Closes the underlying connection. */
  close(): void {
    this.inner.close();
  }
}
