/**
 * `type = "xtcp"` visitor: connections to `bindAddr:bindPort` go peer to
 * peer. The visitor learns its public UDP mapping (STUN), meets the owner
 * through the server on a visitor connection (`NatHoleVisitor` /
 * `NatHoleResp`), both punch, and a QUIC connection over the punched path
 * carries one stream per local connection. The tunnel is reused while it
 * lives; `keepTunnelOpen` re-establishes it when it drops.
 *
 * When punching fails, or takes longer than `fallbackTimeoutMs`, the
 * connection is handed to the stcp visitor named `fallbackTo` and goes
 * through the server: the user sees no error. Attempts are limited by
 * `maxRetriesAnHour` and `minRetryInterval` (seconds after a failure).
 *
 * @example
 * ```ts
 * import { visitorFactory } from "./registry.ts";
 * import "./xtcp.ts";
 * const factory = visitorFactory("xtcp");
 * ```
 *
 * @module
 */

import type { VisitorConfig } from "../../config/mod.ts";
import { type Duplex, writeAll } from "../../net/duplex.ts";
import { relay } from "../../net/relay.ts";
import { formatAddr } from "../../net/tcp_conn.ts";
import { withTimeout } from "../../net/timeout.ts";
import { punch, PUNCH_TIMEOUT_MS, punchPlan } from "../../p2p/punch.ts";
import { punchKey, streamToken } from "../../p2p/punch_key.ts";
import { connectTunnel, lossNote, tunnelCongestion } from "../../p2p/quic_tunnel.ts";
import {
  type LocalSide,
  natHoleVisitor,
  parseEndpoints,
  prepareLocalSide,
  stunServerOf,
  verifyNatHoleResp,
} from "../../p2p/rendezvous.ts";
import { expectMessage, writeMessage } from "../../protocol/codec.ts";
import { QuicStreamConn } from "../../transport/quic_stream.ts";
import { dialVisitor } from "./dial.ts";
import { listenVisitor } from "./listen.ts";
import { registerVisitor } from "./registry.ts";
import { targetLabel } from "./stcp.ts";
import type { Visitor, VisitorContext } from "./visitor.ts";

/** The owner may need a STUN round trip and a certificate before it answers. */
const RESP_TIMEOUT_MS = 20_000;
const HANDSHAKE_TIMEOUT_MS = 15_000;
/** How often `keepTunnelOpen` looks again while the client is not logged in. */
const LOGIN_WAIT_MS = 500;

interface Tunnel {
  quic: Deno.QuicConn;
  token: Uint8Array;
  label: string;
}

type XtcpConfig = VisitorConfig & {
  protocol?: string;
  keepTunnelOpen?: boolean;
  maxRetriesAnHour?: number;
  minRetryInterval?: number;
  fallbackTo?: string;
  fallbackTimeoutMs?: number;
};

/** See the module doc. */
export class XtcpVisitor implements Visitor {
  #listener?: Deno.TcpListener;
  #conns = new Set<Duplex>();
  #closed = false;
  #tunnel?: Tunnel;
  #establishing?: Promise<Tunnel | null>;
  #attempts: number[] = [];
  #lastFailure = 0;
  #retryTimer?: ReturnType<typeof setTimeout>;
  readonly config: XtcpConfig;

  /**
   * @param config the visitor's config
   * @param ctx client services
   */
  constructor(config: VisitorConfig, readonly ctx: VisitorContext) {
    this.config = config as XtcpConfig;
  }

  /** The visitor's name. */
  get name(): string {
    return this.config.name;
  }

  /** Listens on `bindAddr:bindPort` when `bindPort` > 0; opens the tunnel now with `keepTunnelOpen`. */
  start(): Promise<void> {
    const { bindPort } = this.config;
    if (this.config.protocol && this.config.protocol !== "quic") {
      this.ctx.log.warn(`xtcp protocol "${this.config.protocol}" is not supported; using quic`);
    }
    if (bindPort > 0) {
      this.#listener = listenVisitor("xtcp", this.config, this.ctx, (conn) => this.handOver(conn));
    }
    if (this.config.keepTunnelOpen) this.#ensure();
    return Promise.resolve();
  }

  /** Serves `conn` through the tunnel, or the fallback. */
  handOver(conn: Duplex): void {
    if (this.#closed) return conn.close();
    this.#conns.add(conn);
    this.#serve(conn).finally(() => this.#conns.delete(conn));
  }

  async #serve(user: Duplex): Promise<void> {
    let tunnel: Tunnel | null = this.#tunnel ?? null;
    if (!tunnel) {
      const attempt = this.#ensure();
      if (this.config.fallbackTo) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const wait = Math.max(0, this.config.fallbackTimeoutMs ?? 1000);
        tunnel = await Promise.race([
          attempt,
          new Promise<null>((r) => timer = setTimeout(() => r(null), wait)),
        ]);
        clearTimeout(timer);
      } else {
        tunnel = await attempt;
      }
    }
    if (!tunnel) return this.#fallback(user, "no peer-to-peer tunnel");
    let stream: QuicStreamConn;
    try {
      const bidi = await tunnel.quic.createBidirectionalStream();
      stream = new QuicStreamConn(bidi, formatAddr(tunnel.quic.remoteAddr));
      await writeAll(stream, tunnel.token);
    } catch (err) {
      if (this.#tunnel === tunnel) this.#tunnel = undefined;
      return this.#fallback(user, `tunnel stream failed: ${(err as Error).message}`);
    }
    this.#conns.add(stream);
    try {
      await relay(user, stream);
    } finally {
      this.#conns.delete(stream);
    }
  }

  #fallback(user: Duplex, reason: string): void {
    const to = this.config.fallbackTo;
    if (to && !this.#closed && this.ctx.handOver(to, user)) {
      this.ctx.log.info(`${reason}; connection handed to [${to}]`);
      return;
    }
    this.ctx.log.warn(`${reason}; connection closed${to ? ` (no visitor [${to}] takes it)` : ""}`);
    user.close();
  }

  /** The tunnel being made, or null at once when the retry budget says wait. */
  #ensure(): Promise<Tunnel | null> {
    if (this.#tunnel) return Promise.resolve(this.#tunnel);
    if (this.#establishing) return this.#establishing;
    const now = Date.now();
    this.#attempts = this.#attempts.filter((t) => now - t < 3600_000);
    const perHour = this.config.maxRetriesAnHour ?? 8;
    const gap = (this.config.minRetryInterval ?? 90) * 1000;
    if (this.#attempts.length >= perHour || (this.#lastFailure && now - this.#lastFailure < gap)) {
      this.#keepOpenLater();
      return Promise.resolve(null);
    }
    this.#attempts.push(now);
    const attempt = this.#establish().catch((err) => {
      if (/not logged in/.test((err as Error).message)) {
        // Not an attempt at all: the client is still logging in (visitors
        // start first). Do not spend the retry budget on it.
        this.#attempts.pop();
        if (this.config.keepTunnelOpen && !this.#closed) {
          setTimeout(() => this.#ensure(), LOGIN_WAIT_MS);
        }
        return null;
      }
      this.#lastFailure = Date.now();
      const target = targetLabel(this.config, this.ctx.clientConfig.user);
      this.ctx.log.warn(`xtcp to [${target}] failed: ${(err as Error).message}`);
      this.#keepOpenLater();
      return null;
    }).finally(() => this.#establishing = undefined);
    this.#establishing = attempt;
    return attempt;
  }

  /** With `keepTunnelOpen`: tries again as soon as the retry budget allows. */
  #keepOpenLater(): void {
    if (!this.config.keepTunnelOpen || this.#closed || this.#retryTimer !== undefined) return;
    const now = Date.now();
    const gap = (this.config.minRetryInterval ?? 90) * 1000;
    let at = this.#lastFailure + gap;
    if (this.#attempts.length >= (this.config.maxRetriesAnHour ?? 8)) {
      at = Math.max(at, this.#attempts[0] + 3600_000);
    }
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      if (!this.#closed) this.#ensure();
    }, Math.max(10, at - now));
  }

  async #establish(): Promise<Tunnel> {
    const secretKey = this.config.secretKey;
    const side: LocalSide = await prepareLocalSide(stunServerOf(this.ctx.clientConfig), {
      disableAssistedAddrs: this.config.natTraversal?.disableAssistedAddrs,
    });
    let conn: Duplex | undefined;
    try {
      conn = await dialVisitor(this.ctx, this.config);
      const hello = await natHoleVisitor(secretKey, side.addrs, side.nat.natType);
      await writeMessage(conn, hello);
      const resp = await withTimeout(
        expectMessage(conn, "NatHoleResp"),
        RESP_TIMEOUT_MS,
        "waiting for the owner's NatHoleResp",
      );
      if (!(await verifyNatHoleResp(secretKey, hello.sid, resp))) {
        throw new Error("NatHoleResp not signed with our secret key");
      }
      if (resp.error) throw new Error(resp.error);
      this.ctx.log.info(
        `punching to ${resp.addrs.join(", ")} (its NAT ${resp.natType}) from ` +
          `${side.addrs.join(", ")} (our NAT ${side.nat.natType})`,
      );
      const key = await punchKey(secretKey, hello.sid, resp.ownerSid);
      const { peer, port: winner, lost } = await punch(side.port, {
        role: "visitor",
        key,
        candidates: parseEndpoints(resp.addrs),
        timeoutMs: PUNCH_TIMEOUT_MS,
        debug: (line) => this.ctx.log.debug(`xtcp punch: ${line}`),
        ...punchPlan(side.nat.natType, resp.natType),
      });
      const udpPort = winner.port;
      winner.close();
      side.port.close();
      const cc = tunnelCongestion(lost);
      const quic = await connectTunnel(udpPort, peer, resp.cert, HANDSHAKE_TIMEOUT_MS, cc);
      const label = `${peer.hostname}:${peer.port}`;
      const tunnel = { quic, token: await streamToken(key), label };
      if (this.#closed) {
        quic.close();
        throw new Error("visitor closed");
      }
      this.#tunnel = tunnel;
      this.ctx.log.info(`xtcp tunnel to ${label} open (peer to peer)${lossNote(lost, cc)}`);
      quic.closed.catch(() => {}).finally(() => {
        if (this.#tunnel === tunnel) this.#tunnel = undefined;
        if (this.#closed) return;
        this.ctx.log.info(`xtcp tunnel to ${label} closed`);
        if (this.config.keepTunnelOpen) this.#ensure();
      });
      return tunnel;
    } finally {
      conn?.close();
      side.port.close();
    }
  }

  /** Stops listening and closes the tunnel and every connection. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    try {
      this.#listener?.close();
    } catch {
      // Already closed.
    }
    try {
      this.#tunnel?.quic.close({ closeCode: 0, reason: "visitor closed" });
    } catch {
      // Already closed.
    }
    for (const conn of this.#conns) conn.close();
    this.#conns.clear();
  }
}

registerVisitor("xtcp", (config, ctx) => new XtcpVisitor(config, ctx));
