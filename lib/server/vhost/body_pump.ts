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
 * Streams one message body from `reader` to `dst`, keeping its framing, with
 * `head` in front. The head goes out with the body bytes already buffered
 * in one write when they are small, and alone at once otherwise, so a
 * backend that sends its head and then thinks is not held up. The joined
 * write is built in `scratch` when it fits (the head may already sit at its
 * start), not in a fresh array.
 */
export async function pumpBody(
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
    await writeAll(dst, head);
    onBytes(head.length);
    pendingHead = null;
  }
  const write = async (data: Uint8Array) => {
    if (pendingHead) {
      const both = join(pendingHead, data, scratch);
      pendingHead = null;
      await writeAll(dst, both);
      onBytes(both.length);
      return;
    }
    await writeAll(dst, data);
    onBytes(data.length);
  };
  switch (framing.kind) {
    case "none":
      return;
    case "length": {
      let left = framing.length;
      while (left > 0) {
        const data = await reader.peek();
        if (data === null) throw new Deno.errors.UnexpectedEof("stream ended inside a body");
        const n = Math.min(left, data.length);
        await write(data.subarray(0, n));
        reader.consume(n);
        left -= n;
      }
      return;
    }
    case "chunked": {
      const scanner = new ChunkedScanner(errorStatus);
      while (!scanner.done) {
        const data = await reader.peek();
        if (data === null) throw new Deno.errors.UnexpectedEof("stream ended inside a body");
        const n = scanner.scan(data);
        await write(data.subarray(0, n));
        reader.consume(n);
      }
      return;
    }
    case "close":
      for (let data; (data = await reader.peek()) !== null;) {
        await write(data);
        reader.consume(data.length);
      }
      await dst.closeWrite();
      return;
  }
}

/** `head` then `data` in one array: in `scratch` when both fit, else a new one. */
function join(head: Uint8Array, data: Uint8Array, scratch?: Uint8Array): Uint8Array {
  const total = head.length + data.length;
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
