/**
 * The node-to-node header: a 2-byte big-endian length and that many bytes
 * of JSON. Read exactly, so the bytes that follow it stay in the stream.
 *
 * @example
 * ```ts
 * import { readHeader, writeHeader } from "./frame.ts";
 * import type { Duplex } from "../net/duplex.ts";
 * declare const stream: Duplex;
 * await writeHeader(stream, { route: "tcp:6000" });
 * const header = await readHeader(stream);
 * ```
 *
 * @module
 */

import { type Duplex, writeAll } from "../net/duplex.ts";

/** Largest header accepted; a longer one is a protocol error. */
export const MAX_HEADER = 16 * 1024;

/**
 * Writes `value` as one header.
 *
 * @example
 * ```ts
 * import { writeHeader } from "./frame.ts";
 * import type { Duplex } from "../net/duplex.ts";
 * declare const stream: Duplex;
 * await writeHeader(stream, { hello: 1 });
 * ```
 */
export async function writeHeader(w: Duplex, value: unknown): Promise<void> {
  const body = new TextEncoder().encode(JSON.stringify(value));
  if (body.length > MAX_HEADER) throw new Error("cluster header too long");
  const out = new Uint8Array(2 + body.length);
  new DataView(out.buffer).setUint16(0, body.length);
  out.set(body, 2);
  await writeAll(w, out);
}

/**
 * Reads one header (a JSON object); throws on a short or malformed one.
 *
 * @example
 * ```ts
 * import { readHeader } from "./frame.ts";
 * import type { Duplex } from "../net/duplex.ts";
 * declare const stream: Duplex;
 * const header = await readHeader(stream);
 * ```
 */
export async function readHeader(r: Duplex): Promise<Record<string, unknown>> {
  const len = await readExactly(r, 2);
  const n = (len[0] << 8) | len[1];
  if (n > MAX_HEADER) throw new Error("cluster header too long");
  const value = JSON.parse(new TextDecoder().decode(await readExactly(r, n)));
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Error("cluster header is not an object");
  }
  return value;
}

async function readExactly(r: Duplex, n: number): Promise<Uint8Array> {
  const buf = new Uint8Array(n);
  for (let off = 0; off < n;) {
    const got = await r.read(buf.subarray(off));
    if (got === null) throw new Error("cluster link closed in a header");
    off += got;
  }
  return buf;
}
