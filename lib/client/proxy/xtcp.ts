/**
 * `type = "xtcp"` on the client that owns the proxy. A visitor arrives as a
 * work connection, like stcp: its proof under `secretKey` and its user are
 * checked before anything else. Then, instead of relaying through the
 * server, the two clients rendezvous on that connection (`NatHoleVisitor`
 * in, `NatHoleResp` out, each signed under `secretKey`), punch a UDP hole
 * through both NATs, and the visitor opens a QUIC connection to us over it.
 * Every QUIC stream that starts with the session's token is one connection
 * to `localIP:localPort`.
 *
 * @example
 * ```ts
 * import { clientProxyFactory } from "./registry.ts";
 * import "./xtcp.ts";
 * const factory = clientProxyFactory("xtcp");
 * ```
 *
 * @module
 */

import type { ProxyConfig } from "../../config/mod.ts";
import { type Duplex, readFull } from "../../net/duplex.ts";
import { withTimeout } from "../../net/timeout.ts";
import { punch, PUNCH_TIMEOUT_MS, punchPlan } from "../../p2p/punch.ts";
import { punchKey, sameBytes, streamToken } from "../../p2p/punch_key.ts";
import { listenTunnel, lossNote, tunnelCert, tunnelCongestion } from "../../p2p/quic_tunnel.ts";
import {
  type LocalSide,
  natHoleResp,
  parseEndpoints,
  prepareLocalSide,
  stunServerOf,
  verifyNatHoleVisitor,
} from "../../p2p/rendezvous.ts";
import { expectMessage, writeMessage } from "../../protocol/codec.ts";
import type { StartWorkConn } from "../../protocol/messages.ts";
import { admittedService, answerVisitor } from "./visitor_check.ts";
import { QuicStreamConn } from "../../transport/quic_stream.ts";
import type { ClientProxy, ClientProxyContext } from "./proxy.ts";
import { registerClientProxy } from "./registry.ts";

/** How long the visitor has for its `NatHoleVisitor`, and each stream for its token. */
const RENDEZVOUS_TIMEOUT_MS = 10_000;
/** How long after punching the visitor's QUIC handshake may take (it retransmits on loss). */
const HANDSHAKE_TIMEOUT_MS = 15_000;

/** See the module doc. */
export class XtcpServiceProxy implements ClientProxy {
  #local: ClientProxy;
  #tunnels = new Set<Deno.QuicConn>();
  #closed = false;

  /**
   * @param config the proxy's config (`secretKey`, `allowUsers`, local service)
   * @param ctx client services
   */
  constructor(readonly config: ProxyConfig, readonly ctx: ClientProxyContext) {
    this.#local = admittedService(config, ctx);
  }

  /** Checks the visitor, rendezvous, punches, then serves the tunnel. Never rejects. */
  async handleWorkConn(conn: Duplex, start: StartWorkConn): Promise<void> {
    const error = await answerVisitor(this.config, this.ctx.clientConfig.user, conn, start);
    if (error === null) return;
    const who = `visitor from user [${start.visitorUser ?? ""}] (${start.srcAddr})`;
    if (error) {
      this.ctx.log.warn(`${who} refused: ${error}`);
      conn.close();
      return;
    }
    let side: LocalSide | undefined;
    try {
      await this.#rendezvous(conn, who, (s) => side = s);
    } catch (err) {
      this.ctx.log.warn(`xtcp ${who}: ${(err as Error).message}`);
    } finally {
      side?.port.close();
      conn.close();
    }
  }

  async #rendezvous(conn: Duplex, who: string, keep: (s: LocalSide) => void): Promise<void> {
    const secretKey = this.config.secretKey ?? "";
    const hello = await withTimeout(
      expectMessage(conn, "NatHoleVisitor"),
      RENDEZVOUS_TIMEOUT_MS,
      "waiting for the visitor's NatHoleVisitor",
    );
    if (!(await verifyNatHoleVisitor(secretKey, hello))) {
      throw new Error("NatHoleVisitor not signed with our secret key; ignored");
    }
    let side: LocalSide;
    try {
      side = await prepareLocalSide(stunServerOf(this.ctx.clientConfig), {
        disableAssistedAddrs: this.config.natTraversal?.disableAssistedAddrs,
      });
    } catch (err) {
      const resp = await natHoleResp(secretKey, {
        sid: hello.sid,
        addrs: [],
        natType: "unknown",
        cert: "",
        error: `owner cannot learn its address: ${(err as Error).message}`,
      });
      await writeMessage(conn, resp);
      throw new Error(resp.error);
    }
    keep(side);
    const pair = await tunnelCert();
    const resp = await natHoleResp(secretKey, {
      sid: hello.sid,
      addrs: side.addrs,
      natType: side.nat.natType,
      cert: pair.cert,
      error: "",
    });
    await writeMessage(conn, resp);
    this.ctx.log.info(
      `xtcp ${who}: punching to ${hello.addrs.join(", ")} (its NAT ${hello.natType}) from ` +
        `${side.addrs.join(", ")} (our NAT ${side.nat.natType})`,
    );
    const key = await punchKey(secretKey, hello.sid, resp.ownerSid);
    const { peer, port: winner, lost } = await punch(side.port, {
      role: "owner",
      key,
      candidates: parseEndpoints(hello.addrs),
      timeoutMs: PUNCH_TIMEOUT_MS,
      debug: (line) => this.ctx.log.debug(`xtcp punch: ${line}`),
      ...punchPlan(side.nat.natType, hello.natType),
    });
    const udpPort = winner.port;
    winner.close();
    side.port.close();
    const cc = tunnelCongestion(lost);
    const quic = await listenTunnel(udpPort, peer, pair, HANDSHAKE_TIMEOUT_MS, cc);
    const label = `${peer.hostname}:${peer.port}`;
    this.ctx.log.info(`xtcp tunnel with ${label} open${lossNote(lost, cc)}`);
    if (this.#closed) return quic.close();
    this.#serveTunnel(quic, await streamToken(key), label);
  }

  async #serveTunnel(quic: Deno.QuicConn, token: Uint8Array, label: string): Promise<void> {
    this.#tunnels.add(quic);
    const [host, port] = [
      label.slice(0, label.lastIndexOf(":")),
      label.slice(label.lastIndexOf(":") + 1),
    ];
    const start: StartWorkConn = {
      type: "StartWorkConn",
      proxyName: this.config.name,
      srcAddr: host,
      srcPort: Number(port),
      dstAddr: "",
      dstPort: 0,
    };
    try {
      for await (const stream of quic.incomingBidirectionalStreams) {
        this.#serveStream(new QuicStreamConn(stream, label), token, start);
      }
    } catch {
      // The tunnel closed.
    } finally {
      this.#tunnels.delete(quic);
      this.ctx.log.info(`xtcp tunnel with ${label} closed`);
    }
  }

  async #serveStream(
    conn: QuicStreamConn,
    token: Uint8Array,
    start: StartWorkConn,
  ): Promise<void> {
    const got = new Uint8Array(token.length);
    try {
      await withTimeout(readFull(conn, got), RENDEZVOUS_TIMEOUT_MS, "waiting for a stream token");
    } catch (err) {
      this.ctx.log.warn(`xtcp stream dropped: ${(err as Error).message}`);
      return conn.close();
    }
    if (!sameBytes(got, token)) {
      this.ctx.log.warn("xtcp stream dropped: wrong token");
      return conn.close();
    }
    await this.#local.handleWorkConn(conn, start);
  }

  /** Closes every tunnel and stops a plugin. */
  close(): void {
    this.#closed = true;
    this.#local.close();
    for (const quic of this.#tunnels) {
      try {
        quic.close({ closeCode: 0, reason: "proxy closed" });
      } catch {
        // Already closed.
      }
    }
    this.#tunnels.clear();
  }
}

registerClientProxy("xtcp", (config, ctx) => new XtcpServiceProxy(config, ctx));
