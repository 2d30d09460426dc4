/**
 * Copies bytes between arrays so that no single copy is large enough for
 * glibc to use `rep movsb`. Measured on this AMD EPYC host (glibc 2.36):
 * a 256 KiB `Uint8Array.set` takes ~40 ms/GB normally but ~700 ms/GB when the
 * destination sits 1–32 bytes past the source modulo 4 KiB, and JavaScript
 * cannot see buffer addresses to steer clear. Pieces below glibc's
 * `x86_rep_movsb_threshold` (2112 bytes here) take the vector loop instead:
 * a steady ~80 ms/GB. A process started with
 * `GLIBC_TUNABLES=glibc.cpu.x86_rep_movsb_threshold=1073741824` avoids the
 * slow path for every copy; then `MUX_PLAIN_COPY=1` makes this a plain `set`.
 *
 * @example
 * ```ts
 * import { copyBytes } from "./copy.ts";
 * const dst = new Uint8Array(1 << 20);
 * copyBytes(dst, 16, new Uint8Array(300_000));
 * ```
 *
 * @module
 */

const PIECE = 2048;
/** Below this a single set() is cheap even in the slow case. */
const SPLIT_MIN = 16 * 1024;
const plain = (() => {
  try {
    return Deno.env.get("MUX_PLAIN_COPY") === "1";
  } catch {
    // No --allow-env: keep the safe default.
    return false;
  }
})();

/**
 * `dst.set(src, off)`, done in pieces when large (see the module doc).
 *
 * @example
 * ```ts
 * import { copyBytes } from "./copy.ts";
 * copyBytes(new Uint8Array(8), 0, new Uint8Array([1, 2, 3]));
 * ```
 */
export function copyBytes(dst: Uint8Array, off: number, src: Uint8Array): void {
  const len = src.length;
  if (plain || len < SPLIT_MIN) {
    dst.set(src, off);
    return;
  }
  for (let o = 0; o < len; o += PIECE) {
    dst.set(src.subarray(o, o + PIECE < len ? o + PIECE : len), off + o);
  }
}
