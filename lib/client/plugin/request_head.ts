/**
 * Just enough HTTP/1.x to route a proxy request: read the first request head
 * off a stream, then its method, target and one header. The full parser
 * lives with the server's vhost code, which the client may not import
 * (see docs/architecture.md); the body is never parsed here.
 *
 * @example
 * ```ts
 * import { readRequestHead } from "./request_head.ts";
 * const conn = await Deno.connect({ port: 8080 });
 * const head = await readRequestHead(conn);
 * console.log(head.method, head.target, head.header("proxy-authorization"));
 * ```
 *
 * @module
 */

import type { Duplex } from "../../net/duplex.ts";

/** The longest head accepted, as Go's http.Server's default is 1 MiB; ours is stricter. */
export const MAX_HEAD_BYTES = 64 * 1024;

/** The first request head of a stream and every byte read so far. */
export interface SniffedRequest {
  method: string;
  target: string;
  version: string;
  /** Everything read from the stream: the head and what followed it. */
  bytes: Uint8Array;
  /** Where the head ends in `bytes` (after the blank line). */
  headEnd: number;
  /** A header's value by case-insensitive name (the first one), or undefined. */
  header(name: string): string | undefined;
}

/** A head that is malformed or too long; `status` is what to answer. */
export class BadRequest extends Error {
  /**
   * @param status 400 or 431
   * @param message what was wrong
   */
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/**
 * Reads until the end of the first head. Throws {@linkcode BadRequest} on a
 * malformed or oversized head, `UnexpectedEof` if the stream ends first.
 *
 * @example
 * ```ts
 * import { readRequestHead } from "./request_head.ts";
 * declare const conn: Deno.Conn;
 * const { method, target } = await readRequestHead(conn);
 * ```
 */
export async function readRequestHead(conn: Duplex): Promise<SniffedRequest> {
  let buf = new Uint8Array(4096);
  let len = 0;
  let end = -1;
  while (end < 0) {
    if (len === buf.length) {
      if (buf.length >= MAX_HEAD_BYTES) throw new BadRequest(431, "request head too large");
      const bigger = new Uint8Array(buf.length * 2);
      bigger.set(buf);
      buf = bigger;
    }
    const n = await conn.read(buf.subarray(len));
    if (n === null) throw new Deno.errors.UnexpectedEof("connection closed before a request");
    // Only the new bytes (and three before them) can complete "\r\n\r\n".
    const from = Math.max(0, len - 3);
    len += n;
    for (let i = from; i + 3 < len; i++) {
      if (buf[i] === 13 && buf[i + 1] === 10 && buf[i + 2] === 13 && buf[i + 3] === 10) {
        end = i + 4;
        break;
      }
    }
  }
  // Latin-1 keeps every byte as one character, whatever the peer sent.
  const text = new TextDecoder("latin1").decode(buf.subarray(0, end - 4));
  const lines = text.split("\r\n");
  const m = lines[0].match(/^([A-Z]+) (\S+) (HTTP\/1\.[01])$/);
  if (!m) throw new BadRequest(400, `malformed request line "${lines[0].slice(0, 80)}"`);
  const headers = lines.slice(1);
  return {
    method: m[1],
    target: m[2],
    version: m[3],
    bytes: buf.subarray(0, len),
    headEnd: end,
    header(name: string) {
      const wanted = name.toLowerCase();
      for (const line of headers) {
        const colon = line.indexOf(":");
        if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === wanted) {
          return line.slice(colon + 1).trim();
        }
      }
      return undefined;
    },
  };
}
