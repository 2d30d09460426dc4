/**
 * The server's side of transport selection on `bindPort`: peeks the first
 * bytes of an accepted connection and peels off the layers a client put
 * around dfrp's protocol, in whatever order it stacked them:
 *
 * - `DF 52 50 01` — dfrp's magic: done;
 * - `16` — a TLS ClientHello: TLS handshake, then look again inside;
 * - `GET /~!frp` — a WebSocket upgrade on frp's path: upgrade, look again.
 *
 * Anything else (or a TLS connection the `foreignTls` hook claims, e.g. for
 * the https vhost sharing `bindPort`) comes back untouched with its peeked
 * bytes replayed, for the server features to take.
 *
 * @example
 * ```ts
 * import { unwrapServerConn } from "./server_unwrap.ts";
 * import type { TransportConn } from "./transport.ts";
 * declare const raw: TransportConn;
 * const { conn, head, layers } = await unwrapServerConn(raw, {
 *   tls: () => Promise.resolve({ cert: "...", key: "..." }),
 *   force: false,
 * });
 * ```
 *
 * @module
 */

import { readFull } from "../net/duplex.ts";
import { PrefixedConn } from "../net/prefixed_conn.ts";
import { writeMessage } from "../protocol/codec.ts";
import { isMagic, MAGIC } from "../protocol/magic.ts";
import { PROTOCOL_VERSION } from "../protocol/messages.ts";
import { serverTls, type ServerTlsOptions, TLS_HANDSHAKE_BYTE } from "./tls.ts";
import { nativeServerTls } from "./native_tls.ts";
import type { TransportConn } from "./transport.ts";
import { acceptWebSocket, WEBSOCKET_PATH } from "./websocket.ts";

/** A peer that left without saying anything: logged at debug level only. */
export class QuietClose extends Error {
  override name = "QuietClose";
}

/** How the server treats what arrives on `bindPort`. */
export interface UnwrapOptions {
  /** The server's certificate (made or loaded once, on first use). */
  tls: () => Promise<ServerTlsOptions>;
  /** `transport.tls.force`: refuse dfrp clients that did not come over TLS (or QUIC). */
  force: boolean;
  /** Layers already peeled by the listener (QUIC streams arrive already encrypted). */
  outer?: string[];
  /**
   * Offered every TLS connection before dfrp takes it: resolves to
   * `{ foreign: true }` to leave it to someone else (the https vhost), with
   * `conn` replaying what the hook read.
   */
  foreignTls?: (conn: TransportConn) => Promise<{ conn: TransportConn; foreign: boolean }>;
}

/** A connection with its outer layers peeled. */
export interface Unwrapped {
  /** The connection, positioned after `head` when `head` is the magic, else replaying it. */
  conn: TransportConn;
  /** The first 4 bytes inside the last layer. */
  head: Uint8Array;
  /** Layers peeled, outermost first: "tls", "websocket", "quic". */
  layers: string[];
}

const GET = new TextEncoder().encode("GET ");
const WS_REQUEST_LINE = new TextEncoder().encode(`GET ${WEBSOCKET_PATH}`);

function startsWith(data: Uint8Array, prefix: Uint8Array): boolean {
  if (data.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (data[i] !== prefix[i]) return false;
  return true;
}

/**
 * Peels TLS and WebSocket layers off `raw` until dfrp's magic (or something
 * that is not for dfrp) shows. Throws with a reason a log line can carry.
 *
 * @example
 * ```ts
 * import { unwrapServerConn } from "./server_unwrap.ts";
 * import type { TransportConn } from "./transport.ts";
 * declare const raw: TransportConn;
 * declare const cert: string, key: string;
 * const u = await unwrapServerConn(raw, { tls: () => Promise.resolve({ cert, key }), force: true });
 * console.log(u.layers.join("+") || "tcp");
 * ```
 */
export async function unwrapServerConn(
  raw: TransportConn,
  opts: UnwrapOptions,
): Promise<Unwrapped> {
  const layers = [...(opts.outer ?? [])];
  // The innermost layer so far; closing it closes every layer below.
  let conn = raw;
  try {
    return await peel();
  } catch (err) {
    conn.close();
    raw.close();
    throw err;
  }

  async function peel(): Promise<Unwrapped> {
    for (;;) {
      const head = new Uint8Array(MAGIC.length);
      const first = await conn.read(head);
      // Closed before a byte (a port check, or a client that only fetched the
      // certificate to pin it): nothing to report above debug level.
      if (first === null) throw new QuietClose("closed before sending anything");
      if (first < head.length) await readFull(conn, head.subarray(first));
      if (isMagic(head)) {
        if (opts.force && !layers.includes("tls") && !layers.includes("quic")) {
          const error =
            "plain (non-TLS) client refused: transport.tls.force is set on the server " +
            "(set transport.tls.enable = true on the client)";
          // Told to the client in the frame it reads first, so it can log why.
          await writeMessage(conn, {
            type: "LoginResp",
            version: PROTOCOL_VERSION,
            runId: "",
            error,
          })
            .catch(() => {});
          throw new Error(error);
        }
        return { conn, head, layers };
      }
      if (head[0] === TLS_HANDSHAKE_BYTE && !layers.includes("tls")) {
        let replay: TransportConn = new PrefixedConn(conn, head);
        if (opts.foreignTls && layers.length === 0) {
          const owner = await opts.foreignTls(replay);
          if (owner.foreign) return { conn: owner.conn, head, layers };
          replay = owner.conn;
        }
        const tlsOptions = await opts.tls();
        // Deno's own TLS is much faster; only node:tls can check client certificates.
        conn = tlsOptions.ca
          ? await serverTls(replay, tlsOptions)
          : await nativeServerTls(replay, tlsOptions);
        layers.push("tls");
        continue;
      }
      if (startsWith(head, GET) && !layers.includes("websocket")) {
        const line = new Uint8Array(WS_REQUEST_LINE.length + 1);
        line.set(head);
        let filled = head.length;
        // Read only as far as the bytes keep matching: an HTTP request for the
        // vhost must not be held waiting for bytes it will never send.
        while (filled < line.length && startsWith(WS_REQUEST_LINE, line.subarray(0, filled))) {
          const n = await conn.read(line.subarray(filled, Math.min(line.length, filled + 1)));
          if (n === null) break;
          filled += n;
        }
        const seen = line.subarray(0, filled);
        const isWs = filled === line.length && startsWith(seen, WS_REQUEST_LINE) &&
          (seen[filled - 1] === 0x20 || seen[filled - 1] === 0x3f); // " " or "?"
        if (!isWs) return { conn: new PrefixedConn(conn, seen), head, layers };
        conn = await acceptWebSocket(new PrefixedConn(conn, seen));
        layers.push("websocket");
        continue;
      }
      return { conn: new PrefixedConn(conn, head), head, layers };
    }
  }
}
