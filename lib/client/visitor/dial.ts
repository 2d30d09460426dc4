/**
 * Visitor connections: opening a channel to the server (a mux stream, or a
 * connection of its own when tcpMux is off) and the `NewVisitorConn`
 * handshake on it.
 *
 * @example
 * ```ts
 * import { dialVisitor } from "./dial.ts";
 * import type { VisitorContext } from "./visitor.ts";
 * import type { VisitorConfig } from "../../config/mod.ts";
 * declare const ctx: VisitorContext;
 * declare const config: VisitorConfig;
 * const tunnel = await dialVisitor(ctx, config); // raw bytes to the proxy's local service
 * ```
 *
 * @module
 */

import type { ClientConfig, VisitorConfig } from "../../config/mod.ts";
import type { Duplex } from "../../net/duplex.ts";
import { withTimeout } from "../../net/timeout.ts";
import { wrapWorkConn } from "../../net/work_conn_options.ts";
import type { MuxSession } from "../../mux/mod.ts";
import { prove } from "../../protocol/auth.ts";
import { expectMessage, writeMessage } from "../../protocol/codec.ts";
import { proveVisitor } from "../../protocol/visitor_proof.ts";
import { dialServer, HANDSHAKE_TIMEOUT_MS } from "../login.ts";
import type { ServerChannel, VisitorContext } from "./visitor.ts";

/**
 * How long a visitor waits for the verdict: the server may wait
 * `userConnTimeout` for a work connection, then the owner for its answer.
 */
export const VISITOR_VERDICT_WAIT_MS = 30_000;

/**
 * The server or the proxy's owner refused the visitor; `message` is the reason.
 *
 * @example
 * ```ts
 * import { dialVisitor, VisitorRefused } from "./dial.ts";
 * declare const attempt: ReturnType<typeof dialVisitor>;
 * await attempt.catch((err) => {
 *   if (err instanceof VisitorRefused) console.log(`refused: ${err.message}`);
 * });
 * ```
 */
export class VisitorRefused extends Error {
  override name = "VisitorRefused";
}

/**
 * Makes the `openChannel` of a {@linkcode VisitorContext} for a client whose
 * server link `current()` returns (undefined while logged out).
 *
 * @example
 * ```ts
 * import { serverChannelOpener } from "./dial.ts";
 * import { defaultClientConfig } from "../../config/mod.ts";
 * const open = serverChannelOpener(defaultClientConfig(), () => undefined);
 * await open().catch((err) => console.log(err.message)); // not logged in
 * ```
 */
export function serverChannelOpener(
  config: ClientConfig,
  current: () => { mux: MuxSession | null; runId: string; config?: ClientConfig } | undefined,
): () => Promise<ServerChannel> {
  return async () => {
    const link = current();
    if (!link) throw new Error("not logged in to the server");
    if (link.mux) {
      const stream = link.mux.open();
      try {
        const hello = await withTimeout(
          expectMessage(stream, "ServerHello"),
          HANDSHAKE_TIMEOUT_MS,
          "waiting for the server's hello",
        );
        return { conn: stream, nonce: hello.nonce };
      } catch (err) {
        stream.close();
        throw err;
      }
    }
    // The link's own server when the client has several (`[[servers]]`).
    const server = link.config ?? config;
    const conn = await dialServer(server);
    const { runId } = link;
    const authProof = await prove(server.auth.token, ["visitor-conn", conn.hello.nonce, runId]);
    return { conn, nonce: conn.hello.nonce, auth: { runId, authProof } };
  };
}

/**
 * Opens a visitor connection to the secret proxy `config` names; resolves
 * to a stream whose bytes reach the proxy's local service. Throws
 * {@linkcode VisitorRefused} with the reason when refused.
 */
export async function dialVisitor(ctx: VisitorContext, config: VisitorConfig): Promise<Duplex> {
  const { conn, nonce, auth } = await ctx.openChannel();
  try {
    const user = ctx.clientConfig.user;
    const proof = await proveVisitor(config.secretKey, {
      nonce,
      visitorUser: user,
      serverUser: config.serverUser || user,
      proxyName: config.serverName,
    });
    await writeMessage(conn, {
      type: "NewVisitorConn",
      proxyName: config.serverName,
      serverUser: config.serverUser,
      visitorType: config.type,
      proof,
      ...auth,
    });
    const resp = await withTimeout(
      expectMessage(conn, "NewVisitorConnResp"),
      VISITOR_VERDICT_WAIT_MS,
      "waiting for the visitor to be accepted",
    );
    if (resp.error) throw new VisitorRefused(resp.error);
    return wrapWorkConn(conn, config, config.secretKey, (r) => ctx.log.warn(r));
  } catch (err) {
    conn.close();
    throw err;
  }
}
