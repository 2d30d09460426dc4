/**
 * Keys and MACs of one xtcp session, all derived from the proxy's
 * `secretKey` (which never crosses the wire) and both sides' random session
 * ids: the server relays the rendezvous messages but cannot forge them, nor
 * a probe, nor a tunnel stream.
 *
 * @example
 * ```ts
 * import { punchKey, streamToken } from "./punch_key.ts";
 * const key = await punchKey("secret", "aa", "bb");
 * const token = await streamToken(key); // 32 bytes, first on every tunnel stream
 * ```
 *
 * @module
 */

import { prove } from "../protocol/auth.ts";

function fromHex(hex: string): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/**
 * The session's HMAC key for probes and stream tokens.
 *
 * @example
 * ```ts
 * import { punchKey } from "./punch_key.ts";
 * const key = await punchKey("secret", "visitor-sid", "owner-sid");
 * ```
 */
export async function punchKey(
  secretKey: string,
  visitorSid: string,
  ownerSid: string,
): Promise<CryptoKey> {
  const raw = fromHex(await prove(secretKey, ["xtcp-punch", visitorSid, ownerSid]));
  return await crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
}

/**
 * HMAC-SHA256 of `data` under `key`.
 *
 * @example
 * ```ts
 * import { mac, punchKey } from "./punch_key.ts";
 * const tag = await mac(await punchKey("s", "a", "b"), new Uint8Array(8));
 * ```
 */
export async function mac(key: CryptoKey, data: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, data));
}

/**
 * The 32 bytes the visitor writes first on every tunnel stream; the owner
 * serves a stream only after reading exactly these.
 *
 * @example
 * ```ts
 * import { punchKey, streamToken } from "./punch_key.ts";
 * const token = await streamToken(await punchKey("s", "a", "b"));
 * ```
 */
export function streamToken(key: CryptoKey): Promise<Uint8Array> {
  return mac(key, new TextEncoder().encode("xtcp-stream"));
}

/**
 * Compares two byte strings in time independent of where they differ.
 *
 * @example
 * ```ts
 * import { sameBytes } from "./punch_key.ts";
 * sameBytes(new Uint8Array([1]), new Uint8Array([1])); // true
 * ```
 */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}
