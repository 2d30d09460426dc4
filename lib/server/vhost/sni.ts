/**
 * Reads the server name (SNI) out of a TLS ClientHello without terminating
 * TLS, so the https vhost can route by name and replay the untouched bytes to
 * the backend that holds the certificate.
 *
 * The parser walks record header → handshake header → version, random,
 * session id, cipher suites, compression methods → extensions →
 * `server_name` (type 0). A ClientHello split over several records is
 * reassembled. Anything that does not follow RFC 8446 §4.1.2 / RFC 6066 §3
 * is rejected rather than guessed at.
 *
 * @example
 * ```ts
 * import { readClientHello } from "./sni.ts";
 * const listener = Deno.listen({ port: 0 });
 * const conn = await listener.accept();
 * const { serverName, head } = await readClientHello(conn, 10_000);
 * console.log(serverName, head.length);
 * ```
 *
 * @module
 */

import type { Duplex } from "../../net/duplex.ts";
import { withTimeout } from "../../net/timeout.ts";

/** Most bytes read while looking for a complete ClientHello. */
export const MAX_CLIENT_HELLO_BYTES = 16 * 1024;

const RECORD_HEADER = 5;
const CONTENT_HANDSHAKE = 0x16;
const HANDSHAKE_CLIENT_HELLO = 1;
const EXT_SERVER_NAME = 0;
const NAME_TYPE_HOST = 0;
/** RFC 8446 §5.1: a record's plaintext is at most 2^14 bytes. */
const MAX_RECORD_PAYLOAD = 1 << 14;

/** The outcome of {@linkcode parseClientHello} on the bytes seen so far. */
export type ClientHelloParse =
  | { kind: "more" }
  | { kind: "done"; serverName: string | null }
  | { kind: "invalid"; reason: string };

/** A malformed, oversized or truncated ClientHello. */
export class ClientHelloError extends Error {
  override name = "ClientHelloError";
}

const MORE: ClientHelloParse = { kind: "more" };

/**
 * Parses the TLS records at the start of `data`. Returns `more` while the
 * ClientHello is incomplete, `done` with the lower-cased host name (null when
 * the client sent no SNI), or `invalid` with a reason.
 *
 * @example
 * ```ts
 * import { parseClientHello } from "./sni.ts";
 * parseClientHello(new Uint8Array([0x16, 3, 1])); // { kind: "more" }
 * parseClientHello(new TextEncoder().encode("GET / HTTP/1.1\r\n")).kind; // "invalid"
 * ```
 */
export function parseClientHello(data: Uint8Array): ClientHelloParse {
  // Handshake bytes gathered from consecutive records; a copy only when the
  // ClientHello spans more than one record (rare: post-quantum key shares).
  let handshake: Uint8Array | null = null;
  let off = 0;
  for (;;) {
    if (data.length - off < RECORD_HEADER) {
      return data.length > off && data[off] !== CONTENT_HANDSHAKE ? invalid(data[off]) : MORE;
    }
    if (data[off] !== CONTENT_HANDSHAKE) return invalid(data[off]);
    if (data[off + 1] !== 3) return { kind: "invalid", reason: "unknown TLS record version" };
    const length = (data[off + 3] << 8) | data[off + 4];
    if (length === 0 || length > MAX_RECORD_PAYLOAD) {
      return { kind: "invalid", reason: `bad TLS record length ${length}` };
    }
    const start = off + RECORD_HEADER;
    if (data.length < start + length) return MORE;
    const payload = data.subarray(start, start + length);
    handshake = handshake === null ? payload : concat(handshake, payload);
    off = start + length;
    if (handshake.length < 4) continue;
    if (handshake[0] !== HANDSHAKE_CLIENT_HELLO) {
      return { kind: "invalid", reason: `handshake message ${handshake[0]} is not a ClientHello` };
    }
    const bodyLength = (handshake[1] << 16) | (handshake[2] << 8) | handshake[3];
    if (bodyLength + 4 > MAX_CLIENT_HELLO_BYTES) {
      return { kind: "invalid", reason: `ClientHello of ${bodyLength} bytes is too large` };
    }
    if (handshake.length < 4 + bodyLength) continue;
    if (handshake.length > 4 + bodyLength) {
      // Only a ClientHello may come first; anything glued after it is not TLS.
      return { kind: "invalid", reason: "unexpected data after the ClientHello" };
    }
    return parseBody(handshake.subarray(4));
  }
}

function invalid(first: number): ClientHelloParse {
  return {
    kind: "invalid",
    reason: `not a TLS handshake (first byte 0x${first.toString(16).padStart(2, "0")})`,
  };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** A bounds-checked cursor over the ClientHello body. */
class Reader {
  off = 0;
  constructor(readonly buf: Uint8Array, readonly end = buf.length) {}

  need(n: number, what: string): void {
    if (this.off + n > this.end) throw new ClientHelloError(`truncated ${what}`);
  }
  u8(what: string): number {
    this.need(1, what);
    return this.buf[this.off++];
  }
  u16(what: string): number {
    this.need(2, what);
    const v = (this.buf[this.off] << 8) | this.buf[this.off + 1];
    this.off += 2;
    return v;
  }
  skip(n: number, what: string): void {
    this.need(n, what);
    this.off += n;
  }
  /** A sub-reader over the next `n` bytes; this reader moves past them. */
  slice(n: number, what: string): Reader {
    this.need(n, what);
    const sub = new Reader(this.buf, this.off + n);
    sub.off = this.off;
    this.off += n;
    return sub;
  }
  get left(): number {
    return this.end - this.off;
  }
}

function parseBody(body: Uint8Array): ClientHelloParse {
  try {
    const r = new Reader(body);
    const major = r.u8("client version");
    r.u8("client version");
    if (major !== 3) throw new ClientHelloError("unknown ClientHello version");
    r.skip(32, "random");
    const sessionId = r.u8("session id length");
    if (sessionId > 32) throw new ClientHelloError("session id longer than 32 bytes");
    r.skip(sessionId, "session id");
    const suites = r.u16("cipher suites length");
    if (suites < 2 || suites % 2 !== 0) throw new ClientHelloError("bad cipher suites length");
    r.skip(suites, "cipher suites");
    const compression = r.u8("compression methods length");
    if (compression < 1) throw new ClientHelloError("no compression methods");
    r.skip(compression, "compression methods");
    // Extensions are optional in a TLS 1.0-1.2 ClientHello.
    if (r.left === 0) return { kind: "done", serverName: null };
    const extensions = r.slice(r.u16("extensions length"), "extensions");
    if (r.left !== 0) throw new ClientHelloError("data after the extensions");
    let serverName: string | null = null;
    while (extensions.left > 0) {
      const type = extensions.u16("extension type");
      const ext = extensions.slice(extensions.u16("extension length"), "extension");
      if (type !== EXT_SERVER_NAME) continue;
      if (serverName !== null) throw new ClientHelloError("two server_name extensions");
      serverName = parseServerName(ext);
    }
    return { kind: "done", serverName };
  } catch (err) {
    if (err instanceof ClientHelloError) return { kind: "invalid", reason: err.message };
    throw err;
  }
}

function parseServerName(ext: Reader): string {
  const list = ext.slice(ext.u16("server name list length"), "server name list");
  if (ext.left !== 0) throw new ClientHelloError("data after the server name list");
  let host: string | null = null;
  while (list.left > 0) {
    const nameType = list.u8("server name type");
    const length = list.u16("server name length");
    list.need(length, "server name");
    const start = list.off;
    list.skip(length, "server name");
    // RFC 6066: only host_name is defined; other types are skipped by length.
    if (nameType !== NAME_TYPE_HOST || host !== null) continue;
    host = hostName(list.buf.subarray(start, start + length));
  }
  if (host === null) throw new ClientHelloError("server_name extension without a host name");
  return host;
}

/** Letters, digits, '-', '_', '.', as DNS names in SNI are (RFC 6066: no IP literals). */
function hostName(bytes: Uint8Array): string {
  if (bytes.length === 0 || bytes.length > 253) {
    throw new ClientHelloError(`bad server name length ${bytes.length}`);
  }
  let s = "";
  for (const b of bytes) {
    const ok = (b >= 0x61 && b <= 0x7a) || (b >= 0x41 && b <= 0x5a) ||
      (b >= 0x30 && b <= 0x39) || b === 0x2d || b === 0x2e || b === 0x5f;
    if (!ok) throw new ClientHelloError(`bad byte 0x${b.toString(16)} in the server name`);
    s += String.fromCharCode(b | (b >= 0x41 && b <= 0x5a ? 0x20 : 0));
  }
  return s;
}

/** What {@linkcode readClientHello} took off a connection. */
export interface ClientHello {
  /** The lower-cased SNI host name, or null when the client sent none. */
  serverName: string | null;
  /** Every byte read, to be replayed to the backend. */
  head: Uint8Array;
}

/**
 * Reads from `conn` until a complete ClientHello is in, at most
 * {@linkcode MAX_CLIENT_HELLO_BYTES} and `timeoutMs` long. Throws a
 * {@linkcode ClientHelloError} for bad input or an early end of stream, and
 * `Deno.errors.TimedOut` past the deadline (the caller closes `conn`).
 *
 * @example
 * ```ts
 * import { readClientHello } from "./sni.ts";
 * const conn = await Deno.connect({ port: 8443 });
 * const { serverName } = await readClientHello(conn, 5000);
 * ```
 */
export function readClientHello(
  conn: Pick<Duplex, "read">,
  timeoutMs: number,
): Promise<ClientHello> {
  return withTimeout(readLoop(conn), timeoutMs, "reading the TLS ClientHello");
}

async function readLoop(conn: Pick<Duplex, "read">): Promise<ClientHello> {
  // Typical ClientHellos are 200-2000 bytes: start small, grow only if needed.
  let buf = new Uint8Array(2048);
  let filled = 0;
  for (;;) {
    if (filled === buf.length) {
      if (buf.length >= MAX_CLIENT_HELLO_BYTES + RECORD_HEADER * 4) {
        throw new ClientHelloError("ClientHello too large");
      }
      const bigger = new Uint8Array(buf.length * 2 + RECORD_HEADER * 2);
      bigger.set(buf);
      buf = bigger;
    }
    const n = await conn.read(buf.subarray(filled));
    if (n === null) {
      throw new ClientHelloError(`connection ended after ${filled} bytes of a ClientHello`);
    }
    filled += n;
    const head = buf.subarray(0, filled);
    const parsed = parseClientHello(head);
    if (parsed.kind === "done") return { serverName: parsed.serverName, head };
    if (parsed.kind === "invalid") throw new ClientHelloError(parsed.reason);
  }
}
