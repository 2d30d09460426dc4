/**
 * The read buffer of one relay direction: small while the connection idles,
 * big only while data moves. Big buffers come from, and go back to, one
 * process-wide pool, so a connection that once moved a file does not idle
 * with 256 KiB per direction (docs/performance.md, "Idle memory").
 *
 * @example
 * ```ts
 * import { RelayBuffer } from "./relay_buffer.ts";
 * const conn = await Deno.connect({ port: 7 }); // an echo service
 * const rb = new RelayBuffer();
 * for (let n; (n = await conn.read(rb.buf)) !== null;) {
 *   await conn.write(rb.buf.subarray(0, n));
 *   rb.afterRead(n);
 * }
 * rb.release();
 * ```
 *
 * @module
 */

/**
 * First buffer of a direction, and the one it drops back to. Small, because
 * an idle connection holds two of them per side (one pending read each).
 */
export const INITIAL_BUFFER = 1024;
/** The buffer a busy direction grows to. */
export const MAX_BUFFER = 256 * 1024;
/**
 * Buffers from this size up go back to the pool after a read that did not fill
 * them. Smaller ones stay: a 4-16 KiB buffer is what request/response traffic
 * (HTTP responses of a few KiB) settles at, and dropping it after every
 * message would cost an extra read per message.
 */
const SHRINK_FROM = 64 * 1024;
/** Free big buffers kept for the whole process; the rest is left to the garbage collector. */
const MAX_FREE_BYTES = 2 * 1024 * 1024;

/** Free blocks per size (4, 16, 64, 256 KiB): index = log4(size / INITIAL_BUFFER) - 1. */
const free: Uint8Array[][] = [[], [], [], []];
let freeBytes = 0;

function classOf(size: number): number {
  return (31 - Math.clz32(size / INITIAL_BUFFER)) / 2 - 1;
}

function take(size: number): Uint8Array {
  const block = free[classOf(size)].pop();
  if (!block) return new Uint8Array(size);
  freeBytes -= size;
  return block;
}

function give(block: Uint8Array): void {
  if (block.length <= INITIAL_BUFFER || freeBytes + block.length > MAX_FREE_BYTES) return;
  free[classOf(block.length)].push(block);
  freeBytes += block.length;
}

/**
 * Grows 4x (1, 4, 16, 64, 256 KiB) whenever a read fills the buffer, i.e. when
 * bulk data is flowing. A read that does not fill a 64 or 256 KiB buffer has
 * drained the source: the big buffer goes back to the pool, and the next read,
 * which may wait for a long time, holds only the 1 KiB one ("small first
 * read"). If that small read fills, data is still moving: the buffer jumps
 * straight back to the size it had, so a pause costs one small read. While
 * the relay is the bottleneck its reads fill the buffer and nothing changes.
 *
 * @example
 * ```ts
 * import { RelayBuffer } from "./relay_buffer.ts";
 * const rb = new RelayBuffer();
 * while (rb.buf.length < 64 * 1024) rb.afterRead(rb.buf.length); // full reads: 1 → 64 KiB
 * rb.afterRead(10); // the source is drained: back to 1 KiB, the 64 KiB block is pooled
 * rb.afterRead(1024); // full again: straight back to 64 KiB
 * ```
 */
export class RelayBuffer {
  /** The buffer to read into next. */
  buf: Uint8Array;
  #small: Uint8Array;
  /** The size the buffer had before it last shrank. */
  #peak = INITIAL_BUFFER;

  constructor() {
    this.buf = this.#small = new Uint8Array(INITIAL_BUFFER);
  }

  /** Call after each read of `n` bytes into `buf`, once those bytes are written out. */
  afterRead(n: number): void {
    const size = this.buf.length;
    if (n === size) {
      if (size >= MAX_BUFFER) return;
      give(this.buf);
      const next = size === INITIAL_BUFFER && this.#peak > size ? this.#peak : size * 4;
      this.buf = take(next);
      this.#peak = next;
    } else if (size >= SHRINK_FROM) {
      give(this.buf);
      this.buf = this.#small;
    }
  }

  /** Gives the big buffer back; call when the direction ends. */
  release(): void {
    give(this.buf);
    this.buf = this.#small;
  }
}
