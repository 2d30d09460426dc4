/**
 * Where visitor connections enter the server: a new mux stream from a
 * logged-in client (tcpMux on), or a new connection whose first message after
 * `ServerHello` is `NewVisitorConn` (tcpMux off). Both end in
 * {@linkcode serveVisitorConn}.
 *
 * @example
 * ```ts
 * import { acceptVisitorStreams } from "./accept.ts";
 * import type { VisitorHost } from "./accept.ts";
 * declare const host: VisitorHost; // a logged-in client's control
 * acceptVisitorStreams(host); // runs until the client's mux session closes
 * ```
 *
 * @module
 */

import type { Duplex } from "../../net/duplex.ts";
import { withTimeout } from "../../net/timeout.ts";
import { randomHex, verifyProof } from "../../protocol/auth.ts";
import { expectMessage, writeMessage } from "../../protocol/codec.ts";
import { type NewVisitorConn, PROTOCOL_VERSION } from "../../protocol/messages.ts";
import type { MuxSession } from "../../mux/mod.ts";
import type { Logger } from "../../log.ts";
import type { ServerServices } from "../services.ts";
import { serveVisitorConn } from "./serve.ts";
import { clientToken } from "../auth/users.ts";
import { countWrongProof } from "../auth/login_check.ts";
import { errorForClient } from "../client_errors.ts";

/**
 * What the visitor code needs of a logged-in client's control (the server's
 * `ClientControl` is one): its login user, address, log, services and, with
 * tcpMux on, its mux session. The visitor code depends on this, not on the
 * control class.
 */
export interface VisitorHost {
  readonly services: ServerServices;
  readonly login: { readonly user: string };
  readonly mux: Pick<MuxSession, "accept"> | null;
  readonly remoteAddr: string;
  readonly log: Pick<Logger, "warn">;
}

/** How long a visitor may take to send its `NewVisitorConn`. */
export const VISITOR_HANDSHAKE_TIMEOUT_MS = 10_000;

/**
 * Serves every stream the client opens on its mux session after the control
 * stream: each is a visitor connection. The stream gets its own fresh
 * `ServerHello` nonce, so a visitor's proof is bound to it. Never rejects.
 */
export async function acceptVisitorStreams(host: VisitorHost): Promise<void> {
  const mux = host.mux;
  if (!mux) return;
  for (;;) {
    let stream: Duplex | null;
    try {
      stream = await mux.accept();
    } catch {
      return;
    }
    if (stream === null) return;
    visitorStream(host, stream).catch((err) => {
      host.log.warn(`visitor stream dropped: ${(err as Error).message}`, {
        repeatKey: "visitor stream dropped",
      });
      stream.close();
    });
  }
}

async function visitorStream(host: VisitorHost, stream: Duplex): Promise<void> {
  const nonce = randomHex(32);
  await writeMessage(stream, { type: "ServerHello", version: PROTOCOL_VERSION, nonce });
  const msg = await withTimeout(
    expectMessage(stream, "NewVisitorConn"),
    VISITOR_HANDSHAKE_TIMEOUT_MS,
    "waiting for NewVisitorConn",
  );
  await serveVisitorConn(host.services, stream, msg, {
    nonce,
    user: host.login.user,
    addr: host.remoteAddr,
  });
}

/**
 * Serves a visitor connection dialed to `bindPort` (tcpMux off) whose
 * `ServerHello` carried `nonce`: it must name a logged-in client by run id
 * and prove the token for this nonce. Never rejects; closes `conn` on
 * refusal.
 */
export async function serveDialedVisitor(
  services: ServerServices,
  controls: ReadonlyMap<string, Pick<VisitorHost, "login">>,
  conn: Duplex & { remoteAddr: string },
  msg: NewVisitorConn,
  nonce: string,
): Promise<void> {
  const runId = msg.runId ?? "";
  const control = controls.get(runId);
  const ok = control !== undefined &&
    await verifyProof(
      clientToken(services, control),
      ["visitor-conn", nonce, runId],
      msg.authProof,
    );
  if (!ok) {
    const error = control ? "authorization failed: token mismatch" : `unknown client [${runId}]`;
    // A wrong proof counts against the address like a failed login.
    const suffix = control ? countWrongProof(services.config, conn.remoteAddr).logSuffix : "";
    if (suffix !== null) {
      services.log.warn(`visitor connection from ${conn.remoteAddr} refused: ${error}${suffix}`, {
        repeatKey: "visitor refused",
      });
    }
    const toClient = errorForClient(services.config, "visitor connection refused", error);
    await writeMessage(conn, { type: "NewVisitorConnResp", error: toClient }).catch(() => {});
    conn.close();
    return;
  }
  await serveVisitorConn(services, conn, msg, {
    nonce,
    user: control.login.user,
    addr: conn.remoteAddr,
  });
}
