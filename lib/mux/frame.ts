/**
 * Wire format of the multiplexer: a fixed 12-byte header, then (for DATA only)
 * `length` payload bytes. See `docs/mux.md` for the full protocol.
 *
 * ```text
 * 0        1        2                 4                 8                12
 * +--------+--------+--------+--------+--------+--------+--------+--------+
 * |version |  type  |     flags u16   |   stream id u32 |   length u32    |
 * +--------+--------+-----------------+-----------------+-----------------+
 * ```
 *
 * @example
 * ```ts
 * import { decodeHeader, encodeHeader, FLAG_SYN, HEADER_SIZE, TYPE_DATA } from "./frame.ts";
 * const buf = new Uint8Array(HEADER_SIZE);
 * encodeHeader(buf, 0, TYPE_DATA, FLAG_SYN, 1, 5);
 * const h = decodeHeader(buf, 0); // { version: 1, type: 0, flags: 1, streamId: 1, length: 5 }
 * ```
 *
 * @module
 */

/** Protocol version carried in every header; anything else closes the session. */
export const VERSION = 1;
/** Bytes in a frame header. */
export const HEADER_SIZE = 12;

/** Stream payload; `length` is the payload size. */
export const TYPE_DATA = 0;
/** Grants the sender `length` more bytes of send window on the stream. */
export const TYPE_WINDOW_UPDATE = 1;
/** Keepalive on stream 0; `length` is an opaque value echoed back with ACK. */
export const TYPE_PING = 2;
/** No new streams from now on (stream 0); `length` is a code (`GO_AWAY_*`). */
export const TYPE_GO_AWAY = 3;
/** Highest known type: a larger one is a protocol error. */
export const TYPE_MAX = TYPE_GO_AWAY;

/** Opens the stream (first frame the opener sends on it); on PING: a request. */
export const FLAG_SYN = 0x1;
/** On PING: the answer. */
export const FLAG_ACK = 0x2;
/** The sender will send no more data on this stream (half-close). */
export const FLAG_FIN = 0x4;
/** Aborts the stream in both directions. */
export const FLAG_RST = 0x8;

/** GO_AWAY code: orderly shutdown. */
export const GO_AWAY_NORMAL = 0;
/** GO_AWAY code: the sender saw a protocol error. */
export const GO_AWAY_PROTOCOL_ERROR = 1;

/**
 * Largest payload of one DATA frame. A header announcing more is a protocol
 * error, checked before anything is allocated for it.
 */
export const MAX_PAYLOAD = 256 * 1024;
/**
 * Send window every stream starts with on both sides, before any WINDOW_UPDATE.
 * Fixed by the protocol so that an opener can send data right after SYN without
 * waiting for the peer; a receiver that wants a larger window grants the
 * difference at once, one that wants a smaller one withholds updates.
 */
export const INITIAL_WINDOW = 256 * 1024;
/** Largest send window a peer may grant; more means a broken or hostile peer. */
export const MAX_WINDOW = 0x7fff_ffff;

/**
 * A decoded frame header.
 *
 * @example
 * ```ts
 * import type { FrameHeader } from "./frame.ts";
 * const h: FrameHeader = { version: 1, type: 0, flags: 0, streamId: 3, length: 0 };
 * ```
 */
export interface FrameHeader {
  version: number;
  type: number;
  flags: number;
  streamId: number;
  length: number;
}

/**
 * Writes a header into `buf` at `off` (needs {@linkcode HEADER_SIZE} bytes).
 *
 * @example
 * ```ts
 * import { encodeHeader, HEADER_SIZE, TYPE_PING, FLAG_SYN } from "./frame.ts";
 * const buf = new Uint8Array(HEADER_SIZE);
 * encodeHeader(buf, 0, TYPE_PING, FLAG_SYN, 0, 42);
 * ```
 */
export function encodeHeader(
  buf: Uint8Array,
  off: number,
  type: number,
  flags: number,
  streamId: number,
  length: number,
): void {
  // Byte stores instead of a DataView: no object per frame on the hot path.
  buf[off] = VERSION;
  buf[off + 1] = type;
  buf[off + 2] = flags >>> 8;
  buf[off + 3] = flags & 0xff;
  buf[off + 4] = streamId >>> 24;
  buf[off + 5] = (streamId >>> 16) & 0xff;
  buf[off + 6] = (streamId >>> 8) & 0xff;
  buf[off + 7] = streamId & 0xff;
  buf[off + 8] = length >>> 24;
  buf[off + 9] = (length >>> 16) & 0xff;
  buf[off + 10] = (length >>> 8) & 0xff;
  buf[off + 11] = length & 0xff;
}

/**
 * Reads a big-endian u32 at `off`.
 *
 * @example
 * ```ts
 * import { readU32 } from "./frame.ts";
 * readU32(new Uint8Array([0, 0, 1, 0]), 0); // 256
 * ```
 */
export function readU32(buf: Uint8Array, off: number): number {
  return ((buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3]) >>> 0;
}

/**
 * Decodes the header at `off` (needs {@linkcode HEADER_SIZE} bytes). It does
 * not validate: see {@linkcode headerError}.
 *
 * @example
 * ```ts
 * import { decodeHeader } from "./frame.ts";
 * const h = decodeHeader(new Uint8Array(12), 0);
 * ```
 */
export function decodeHeader(buf: Uint8Array, off: number): FrameHeader {
  return {
    version: buf[off],
    type: buf[off + 1],
    flags: (buf[off + 2] << 8) | buf[off + 3],
    streamId: readU32(buf, off + 4),
    length: readU32(buf, off + 8),
  };
}

/**
 * Checks what a header alone can tell: version, type, payload size, stream 0
 * use. Returns a reason for the session's close, or `null` when it is fine.
 * Takes scalars so the read loop validates without building an object.
 *
 * @example
 * ```ts
 * import { headerError } from "./frame.ts";
 * headerError(1, 0, 3, 1 << 30); // "DATA frame of 1073741824 bytes exceeds ..."
 * ```
 */
export function headerError(
  version: number,
  type: number,
  streamId: number,
  length: number,
): string | null {
  if (version !== VERSION) return `unsupported frame version ${version}`;
  if (type > TYPE_MAX) return `unknown frame type ${type}`;
  const sessionFrame = type === TYPE_PING || type === TYPE_GO_AWAY;
  if (sessionFrame && streamId !== 0) return `frame type ${type} on stream ${streamId} (must be 0)`;
  if (!sessionFrame && streamId === 0) return `frame type ${type} on stream 0`;
  if (type === TYPE_DATA && length > MAX_PAYLOAD) {
    return `DATA frame of ${length} bytes exceeds the ${MAX_PAYLOAD}-byte maximum`;
  }
  return null;
}
