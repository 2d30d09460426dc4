/**
 * Applies a proxy's `transport.useEncryption` / `transport.useCompression`
 * to a work connection. Both ends call it with the same proxy config, so
 * the layers match: data is compressed first, then encrypted (compressing
 * ciphertext would gain nothing).
 *
 * @example
 * ```ts
 * import { wrapWorkConn } from "./work_conn_options.ts";
 * import type { Duplex } from "./duplex.ts";
 * declare const work: Duplex;
 * const conn = wrapWorkConn(work, { transport: { useEncryption: true } }, "token", console.warn);
 * ```
 *
 * @module
 */

import { CompressedConn } from "./compressed_conn.ts";
import type { Duplex } from "./duplex.ts";
import { EncryptedConn } from "./encrypted_conn.ts";

/** The flags as they sit in a proxy or visitor config (either side's record). */
export interface WorkConnFlags {
  transport?: { useEncryption?: unknown; useCompression?: unknown } | unknown;
}

/**
 * Whether `config` asks for any wrapping.
 *
 * @example
 * ```ts
 * import { wantsWrapping } from "./work_conn_options.ts";
 * wantsWrapping({ transport: { useCompression: true } }); // true
 * ```
 */
export function wantsWrapping(config: WorkConnFlags): boolean {
  const t = config.transport as Record<string, unknown> | undefined;
  return t?.useEncryption === true || t?.useCompression === true;
}

/**
 * `conn` wrapped as `config.transport` asks, or `conn` itself.
 *
 * @param conn the raw work (or visitor) connection, after its plain handshake frames
 * @param config the proxy's or visitor's config
 * @param secret the encryption secret: the client's token, or a visitor's `secretKey`
 * @param log told why a wrapped connection was dropped
 */
export function wrapWorkConn(
  conn: Duplex,
  config: WorkConnFlags,
  secret: string,
  log?: (reason: string) => void,
): Duplex {
  const t = config.transport as Record<string, unknown> | undefined;
  let out = conn;
  if (t?.useEncryption === true) out = new EncryptedConn(out, secret, log);
  if (t?.useCompression === true) out = new CompressedConn(out, log);
  return out;
}
