/**
 * Streams one HTTP/1.1 message body from an {@linkcode HttpReader} to a
 * connection, keeping its framing (Content-Length, chunked, or until close),
 * with the message head in front. Used both ways by the HTTP vhost: request
 * bodies to the work connection, response bodies to the user.
 *
 * @example
 * ```ts
 * import { pumpBody } from "./body_pump.ts";
 * import { HttpReader } from "./http_reader.ts";
 * import type { Duplex } from "../../net/duplex.ts";
 * declare const from: Duplex, to: Duplex;
 * const head = new TextEncoder().encode("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n");
 * await pumpBody(new HttpReader(from), to, { kind: "length", length: 2 }, head, 502, () => {});
 * ```
 *
 * @module
 */

import { type Duplex, writeAll } from "../../net/duplex.ts";
import { ChunkedScanner } from "./chunked.ts";
import type { Framing } from "./http_parser.ts";
import type { HttpReader } from "./http_reader.ts";

/** A head and the body bytes already read with it go out in one write up to this size. */
const COALESCE_LIMIT = 16 * 1024;

/**
 * What {@linkcode pumpBody} returns when the whole message went out at once
 * (a body-less message whose head the destination took without waiting):
 * callers may skip awaiting it.
 *
 * @example
 * ```ts
 * import { MESSAGE_SENT, pumpBody } from "./body_pump.ts";
 * import { HttpReader } from "./http_reader.ts";
 * import type { Duplex } from "../../net/duplex.ts";
 * declare const from: Duplex, to: Duplex;
 * const head = new TextEncoder().encode("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
 * const done = pumpBody(new HttpReader(from), to, { kind: "none" }, head, 400, () => {});
 * if (done !== MESSAGE_SENT) await done;
 * ```
 */
export const MESSAGE_SENT: Promise<void> = Promise.resolve();

/**
 * Streams one message body from `reader` to `dst`, keeping its framing, with
 * `head` in front. The head goes out with the body bytes already buffered
 * in one write when they are small, and alone at once otherwise, so a
 * backend that sends its head and then thinks is not held up. The joined
 * write is built in `scratch` when it fits (the head may already sit at its
 * start), or is one view of the reader's buffer when the head was read
 * there and goes out unchanged. A body-less message that `dst` takes
 * without waiting (a mux stream's `tryWrite`) costs no promise: the result
 * is {@linkcode MESSAGE_SENT}.
 */
export function pumpBody(
  reader: HttpReader,
  dst: Duplex,
  framing: Framing,
  head: Uint8Array,
  errorStatus: number,
  onBytes: (n: number) => void,
  scratch?: Uint8Array,
): Promise<void> {
  if (framing.kind === "none" && dst.tryWrite?.(head)) {
    onBytes(head.length);
    return MESSAGE_SENT;
  }
  return pump(reader, dst, framing, head, errorStatus, onBytes, scratch);
}

async function pump(
  reader: HttpReader,
  dst: Duplex,
  framing: Framing,
  head: Uint8Array,
  errorStatus: number,
  onBytes: (n: number) => void,
  scratch?: Uint8Array,
): Promise<void> {
  let pendingHead: Uint8Array | null = head;
  const buffered = reader.buffered;
  if (framing.kind === "none" || buffered === 0 || buffered > COALESCE_LIMIT) {
    if (!dst.tryWrite?.(head)) await writeAll(dst, head);
    onBytes(head.length);
    pendingHead = null;
  }
  if (framing.kind === "none") return;
  const scanner = framing.kind === "chunked" ? new ChunkedScanner(errorStatus) : null;
  let left = framing.kind === "length" ? framing.length : Infinity;
  while (scanner ? !scanner.done : left > 0) {
    // Bytes already held need no read (nor a promise): the usual small body came with its head.
    const data = reader.buffered > 0 ? reader.held : await reader.peek();
    if (data === null) {
      if (framing.kind === "close") break;
      throw new Deno.errors.UnexpectedEof("stream ended inside a body");
    }
    const n = scanner ? scanner.scan(data) : Math.min(left, data.length);
    const piece = n === data.length ? data : data.subarray(0, n);
    const out = pendingHead ? join(pendingHead, piece, scratch) : piece;
    pendingHead = null;
    // The write loop inline (not writeAll): one promise less per message.
    if (!dst.tryWrite?.(out)) {
      for (let off = 0; off < out.length;) {
        off += await dst.write(off === 0 ? out : out.subarray(off));
      }
    }
    onBytes(out.length);
    reader.consume(n);
    left -= n;
  }
  if (framing.kind === "close") await dst.closeWrite();
}

/**
 * `head` then `data` in one array: the view spanning both when `data`
 * follows `head` in one buffer (a head passed on unchanged, read with its
 * body), else in `scratch` when both fit, else a new one.
 */
function join(head: Uint8Array, data: Uint8Array, scratch?: Uint8Array): Uint8Array {
  const total = head.length + data.length;
  if (head.buffer === data.buffer && head.byteOffset + head.length === data.byteOffset) {
    return new Uint8Array(head.buffer, head.byteOffset, total);
  }
  if (!scratch || total > scratch.length) {
    const both = new Uint8Array(total);
    both.set(head);
    both.set(data, head.length);
    return both;
  }
  if (head.buffer !== scratch.buffer || head.byteOffset !== scratch.byteOffset) scratch.set(head);
  scratch.set(data, head.length);
  return scratch.subarray(0, total);
}
