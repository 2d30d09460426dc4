/**
 * Reads and parses the head of one HTTP/1.x request (request line and
 * headers), bounded in size and time; the tcpmux listener uses it for
 * `CONNECT host:port HTTP/1.1`.
 *
 * @example
 * ```ts
 * import { readRequestHead } from "./connect_request.ts";
 * const listener = Deno.listen({ port: 0 });
 * const conn = await listener.accept();
 * const req = await readRequestHead(conn, 10_000);
 * console.log(req.method, req.target, req.headers.get("proxy-authorization"));
 * ```
 *
 * @module
 */

import type { Duplex } from "../../net/duplex.ts";
import { withTimeout } from "../../net/timeout.ts";

/** Largest request head accepted. */
export const MAX_REQUEST_HEAD = 8 * 1024;

/** A request that is not well-formed HTTP/1.x, or too large. */
export class BadRequestError extends Error {
  override name = "BadRequestError";
}

/** A parsed request head. */
export interface RequestHead {
  method: string;
  /** The request target: `host:port` for CONNECT. */
  target: string;
  /** e.g. "HTTP/1.1". */
  version: string;
  /** Header values by lower-cased name (the first of repeated headers). */
  headers: Map<string, string>;
  /** Every byte read from the connection, the head and whatever followed it. */
  bytes: Uint8Array;
  /** Offset in `bytes` where the body (or tunnelled data) starts. */
  bodyStart: number;
}

/**
 * Reads from `conn` until the blank line that ends the head. Throws
 * {@linkcode BadRequestError} for malformed, cut short or oversized input,
 * `Deno.errors.UnexpectedEof` when the peer sent nothing at all, and
 * `Deno.errors.TimedOut` past `timeoutMs`; the caller closes `conn`.
 *
 * @example
 * ```ts
 * import { readRequestHead } from "./connect_request.ts";
 * const conn = await Deno.connect({ port: 8080 });
 * const head = await readRequestHead(conn, 5000);
 * ```
 */
export function readRequestHead(
  conn: Pick<Duplex, "read">,
  timeoutMs: number,
): Promise<RequestHead> {
  return withTimeout(readLoop(conn), timeoutMs, "reading the request head");
}

async function readLoop(conn: Pick<Duplex, "read">): Promise<RequestHead> {
  // Heads of CONNECT requests are a few hundred bytes; grow only for big ones.
  let buf = new Uint8Array(1024);
  let filled = 0;
  for (;;) {
    if (filled === buf.length) {
      if (buf.length >= MAX_REQUEST_HEAD) {
        throw new BadRequestError(`request head larger than ${MAX_REQUEST_HEAD} bytes`);
      }
      const bigger = new Uint8Array(buf.length * 2);
      bigger.set(buf);
      buf = bigger;
    }
    const n = await conn.read(buf.subarray(filled));
    if (n === null) {
      // A peer that sends nothing (a port probe) gets no error page.
      if (filled === 0) throw new Deno.errors.UnexpectedEof("connection closed before a request");
      throw new BadRequestError("request head cut short");
    }
    // Resume the search a few bytes back: the terminator may straddle reads.
    const from = Math.max(0, filled - 3);
    filled += n;
    const end = headEnd(buf, from, filled);
    if (end >= 0) return parseRequestHead(buf.subarray(0, filled), end);
  }
}

/** Offset just past "\r\n\r\n" (or a bare "\n\n"), or -1. */
function headEnd(buf: Uint8Array, from: number, to: number): number {
  for (let i = from; i < to; i++) {
    if (buf[i] !== 0x0a) continue;
    if (i + 1 < to && buf[i + 1] === 0x0a) return i + 2;
    if (i + 2 < to && buf[i + 1] === 0x0d && buf[i + 2] === 0x0a) return i + 3;
  }
  return -1;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Parses `bytes[0, bodyStart)` as a request head. Throws {@linkcode BadRequestError}.
 *
 * @example
 * ```ts
 * import { parseRequestHead } from "./connect_request.ts";
 * const bytes = new TextEncoder().encode("CONNECT a:22 HTTP/1.1\r\nHost: a:22\r\n\r\n");
 * parseRequestHead(bytes, bytes.length).target; // "a:22"
 * ```
 */
export function parseRequestHead(bytes: Uint8Array, bodyStart: number): RequestHead {
  // latin1 maps every byte to one char, so no input makes decoding fail.
  const text = new TextDecoder("latin1").decode(bytes.subarray(0, bodyStart));
  const lines = text.split("\n").map((l) => l.endsWith("\r") ? l.slice(0, -1) : l);
  const requestLine = lines[0].split(" ");
  if (requestLine.length !== 3) throw new BadRequestError("malformed request line");
  const [method, target, version] = requestLine;
  if (!TOKEN.test(method)) throw new BadRequestError("malformed method");
  if (!/^HTTP\/1\.[01]$/.test(version)) throw new BadRequestError(`unsupported version`);
  if (!target || hasControlOrSpace(target)) throw new BadRequestError("malformed target");
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    if (line === "") continue;
    const colon = line.indexOf(":");
    const name = colon > 0 ? line.slice(0, colon) : "";
    if (!TOKEN.test(name)) throw new BadRequestError("malformed header line");
    const key = name.toLowerCase();
    if (!headers.has(key)) headers.set(key, line.slice(colon + 1).trim());
  }
  return { method, target, version, headers, bytes, bodyStart };
}

function hasControlOrSpace(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f) return true;
  }
  return false;
}
