/**
 * The bytes a dfrp client sends first on every connection to the server.
 * The first byte is outside ASCII and is not a TLS record type, so one port
 * can tell tunnel clients from HTTP requests and TLS handshakes by peeking.
 *
 * @example
 * ```ts
 * import { MAGIC, isMagic } from "./magic.ts";
 * console.log(isMagic(MAGIC)); // true
 * ```
 *
 * @module
 */

/** `0xDF "RP" 0x01`. */
export const MAGIC: Uint8Array = new Uint8Array([0xdf, 0x52, 0x50, 0x01]);

/**
 * Whether `head` starts with {@linkcode MAGIC}.
 *
 * @example
 * ```ts
 * import { isMagic } from "./magic.ts";
 * isMagic(new TextEncoder().encode("GET / HTTP/1.1")); // false
 * ```
 */
export function isMagic(head: Uint8Array): boolean {
  return head.length >= MAGIC.length && MAGIC.every((b, i) => head[i] === b);
}
