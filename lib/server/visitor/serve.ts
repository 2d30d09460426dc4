/**
 * The server's half of a visitor connection: match the `NewVisitorConn` to a
 * secret proxy, check `allowUsers`, open a work connection to the proxy's
 * owner carrying the visitor's proof, relay the owner's verdict, then relay
 * bytes. The secret key is checked by the owner, never here.
 *
 * @example
 * ```ts
 * import { serveVisitorConn } from "./serve.ts";
 * import type { ServerServices } from "../services.ts";
 * import type { NewVisitorConn } from "../../protocol/messages.ts";
 * declare const services: ServerServices;
 * declare const conn: Deno.Conn;
 * declare const msg: NewVisitorConn;
 * await serveVisitorConn(services, conn, msg, { nonce: "ab", user: "bob", addr: "1.2.3.4:5" });
 * ```
 *
 * @module
 */

import type { Duplex } from "../../net/duplex.ts";
import { relay } from "../../net/relay.ts";
import { withTimeout } from "../../net/timeout.ts";
import { expectMessage, writeMessage } from "../../protocol/codec.ts";
import type { NewVisitorConn } from "../../protocol/messages.ts";
import { visitorAllowed } from "../../protocol/visitor_proof.ts";
import type { ConnEnds } from "../proxy/proxy.ts";
import type { ServerServices } from "../services.ts";
import { SECRET_PROXIES_FEATURE } from "./secret_proxies.ts";
import { scopedProxyName } from "../auth/users.ts";
import { errorForClient } from "../client_errors.ts";
import { featureOf } from "../feature.ts";

/** How long the owner client has to accept or refuse a visitor. */
export const VISITOR_VERDICT_TIMEOUT_MS = 10_000;

/** Who is visiting, as the server established it. */
export interface VisitorOrigin {
  /** The fresh nonce the server sent on this connection. */
  nonce: string;
  /** The logged-in user of the visiting client. */
  user: string;
  /** The visiting client's address, for logs and `StartWorkConn`. */
  addr: string;
}

function splitAddr(addr: string): { host: string; port: number } {
  const colon = addr.lastIndexOf(":");
  if (colon < 0) return { host: addr, port: 0 };
  return {
    host: addr.slice(0, colon).replace(/^\[|\]$/g, ""),
    port: Number(addr.slice(colon + 1)) || 0,
  };
}

/**
 * Serves one visitor connection until it ends. Refusals are answered with a
 * `NewVisitorConnResp` carrying the reason and logged; never rejects; closes
 * `conn` when done.
 */
export async function serveVisitorConn(
  services: ServerServices,
  conn: Duplex,
  msg: NewVisitorConn,
  origin: VisitorOrigin,
): Promise<void> {
  const name = msg.proxyName;
  const owner = msg.serverUser || origin.user;
  const label = `${owner ? owner + "." : ""}${name}`;
  const log = services.log.with(name || "?");
  const refuse = async (error: string) => {
    log.warn(`visitor from ${origin.addr} (user [${origin.user}]) refused: ${error}`);
    const toClient = errorForClient(services.config, "visitor connection refused", error);
    await writeMessage(conn, { type: "NewVisitorConnResp", error: toClient }).catch(() => {});
    conn.close();
  };
  const table = featureOf(services.features, SECRET_PROXIES_FEATURE);
  const entry = name ? table?.find(scopedProxyName(owner, name)) : undefined;
  if (!entry || entry.ctx.user !== owner) {
    return refuse(`no secret proxy [${label}] on this server`);
  }
  if (msg.visitorType !== entry.type) {
    return refuse(`proxy [${label}] is ${entry.type}, not ${msg.visitorType || "?"}`);
  }
  if (!visitorAllowed(entry.config.allowUsers, entry.ctx.user, origin.user)) {
    return refuse(`user [${origin.user}] is not allowed to visit [${label}]`);
  }
  const { host, port } = splitAddr(origin.addr);
  const ends = {
    srcAddr: host,
    srcPort: port,
    dstAddr: "",
    dstPort: 0,
    visitorUser: origin.user,
    visitorNonce: origin.nonce,
    visitorProof: msg.proof,
  };
  const stats = entry.ctx.stats;
  let work: Duplex;
  try {
    work = await entry.ctx.openWorkConn(ends as ConnEnds);
  } catch (err) {
    return refuse(`no work connection to the proxy's client: ${(err as Error).message}`);
  }
  let verdict: string;
  try {
    const resp = await withTimeout(
      expectMessage(work, "NewVisitorConnResp"),
      VISITOR_VERDICT_TIMEOUT_MS,
      "waiting for the proxy's client to accept the visitor",
    );
    verdict = resp.error;
  } catch (err) {
    verdict = `the proxy's client did not answer: ${(err as Error).message}`;
  }
  if (verdict) {
    work.close();
    return refuse(verdict);
  }
  try {
    await writeMessage(conn, { type: "NewVisitorConnResp", error: "" });
  } catch {
    work.close();
    conn.close();
    return;
  }
  log.debug(`visitor from ${origin.addr} (user [${origin.user}]) joined`);
  stats.curConns++;
  stats.totalConns++;
  try {
    await relay(conn, work, {
      onAToB: (n) => stats.trafficIn += n,
      onBToA: (n) => stats.trafficOut += n,
    });
  } finally {
    stats.curConns--;
  }
}
