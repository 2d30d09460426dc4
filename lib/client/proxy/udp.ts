/**
 * `type = "udp"` on the client: the proxy's one work connection carries
 * framed datagrams (`lib/net/udp_frame.ts`). Each sender ("flow") gets its
 * own local UDP socket towards `localIP:localPort`, so the service sees
 * senders apart and its replies are tagged with the sender they answer.
 * Flows idle for {@linkcode UDP_FLOW_IDLE_MS} are closed. With
 * `transport.proxyProtocolVersion = "v2"` the first datagram of a flow
 * carries a PROXY v2 DGRAM header (v1 cannot describe UDP; as in frp none
 * is sent then). `transport.bandwidthLimit` in client mode paces the work
 * connection's bytes both ways, as in frp.
 *
 * @example
 * ```ts
 * import { clientProxyFactory } from "./registry.ts";
 * import "./udp.ts";
 * const factory = clientProxyFactory("udp");
 * ```
 *
 * @module
 */

import type { ProxyConfig } from "../../config/mod.ts";
import type { Duplex } from "../../net/duplex.ts";
import { encodeProxyHeader } from "../../net/proxy_protocol.ts";
import { limitDuplex, type RateLimiter } from "../../net/rate_limit.ts";
import {
  MAX_UDP_PAYLOAD,
  parseUdpAddr,
  UDP_MAX_BACKLOG,
  UdpFrameReader,
  UdpFrameWriter,
} from "../../net/udp_frame.ts";
import type { StartWorkConn } from "../../protocol/messages.ts";
import type { ClientProxy, ClientProxyContext } from "./proxy.ts";
import { registerClientProxy } from "./registry.ts";
import { clientRateLimiter } from "./tcp.ts";
import { wrapClientWorkConn } from "./work_conn.ts";

/** A flow with no datagram either way for this long is closed. */
export const UDP_FLOW_IDLE_MS = 60_000;

interface Flow {
  /** The user's address, as framed. */
  readonly addr: string;
  readonly sock: Deno.DatagramConn;
  lastActive: number;
}

function isLoopback(host: string): boolean {
  return host === "localhost" || host.startsWith("127.") || host === "::1";
}

/** See the module doc. */
export class UdpClientProxy implements ClientProxy {
  #flows = new Map<string, Flow>();
  #work?: Duplex;
  #writer?: UdpFrameWriter;
  #target: Deno.NetAddr;
  #bindHost: string;
  #packetSize: number;
  #sweeper?: ReturnType<typeof setInterval>;
  #closed = false;
  #dropped = 0;
  #limiter?: RateLimiter;

  /**
   * @param config the proxy's config (`localIP`, `localPort`, `transport`)
   * @param ctx client services
   * @param idleMs how long an idle flow lives
   */
  constructor(
    readonly config: ProxyConfig,
    readonly ctx: ClientProxyContext,
    readonly idleMs: number = UDP_FLOW_IDLE_MS,
  ) {
    const host = config.localIP || "127.0.0.1";
    this.#target = { transport: "udp", hostname: host, port: Number(config.localPort ?? 0) };
    const v6 = host.includes(":");
    this.#bindHost = isLoopback(host) ? (v6 ? "::1" : "127.0.0.1") : (v6 ? "::" : "0.0.0.0");
    this.#packetSize = Math.min(MAX_UDP_PAYLOAD, ctx.clientConfig.udpPacketSize || 1500);
    this.#limiter = clientRateLimiter(config);
  }

  /** Flows open now. */
  get flowCount(): number {
    return this.#flows.size;
  }

  /**
   * Serves the proxy's work connection until it ends; a newer one (the
   * server reopened it) replaces an older one. Flows outlive it.
   */
  async handleWorkConn(conn: Duplex, start: StartWorkConn): Promise<void> {
    if (this.#closed) return conn.close();
    this.#work?.close();
    const sealed = wrapClientWorkConn(conn, this.config, this.ctx);
    const stream = this.#limiter ? limitDuplex(sealed, this.#limiter) : sealed;
    const writer = new UdpFrameWriter(stream, UDP_MAX_BACKLOG, (err) => {
      this.ctx.log.debug(`udp work connection write: ${err.message}`);
      conn.close();
    });
    this.#work = conn;
    this.#writer = writer;
    this.ctx.log.debug("udp work connection open");
    const reader = new UdpFrameReader(stream);
    try {
      for (let frame; (frame = await reader.next()) !== null;) {
        await this.#toLocal(frame.addr, frame.payload, start);
      }
    } catch (err) {
      if (!this.#closed) this.ctx.log.debug(`udp work connection: ${(err as Error).message}`);
    } finally {
      writer.close();
      conn.close();
      if (this.#work === conn) {
        this.#work = undefined;
        this.#writer = undefined;
      }
    }
  }

  async #toLocal(addr: string, payload: Uint8Array, start: StartWorkConn): Promise<void> {
    let flow = this.#flows.get(addr);
    let data = payload;
    if (!flow) {
      flow = this.#openFlow(addr);
      if (!flow) return;
      const header = this.#header(addr, start);
      if (header) {
        data = new Uint8Array(header.length + payload.length);
        data.set(header);
        data.set(payload, header.length);
      }
    }
    flow.lastActive = Date.now();
    try {
      await flow.sock.send(data, this.#target);
    } catch (err) {
      this.ctx.log.debug(
        `udp send to ${this.#target.hostname}:${this.#target.port}: ${(err as Error).message}`,
      );
    }
  }

  #header(addr: string, start: StartWorkConn): Uint8Array | null {
    const version = this.config.transport?.proxyProtocolVersion;
    if (!version) return null;
    const src = parseUdpAddr(addr);
    if (!src) return null;
    return encodeProxyHeader(version, {
      srcAddr: src.hostname,
      srcPort: src.port,
      dstAddr: start.dstAddr,
      dstPort: start.dstPort,
    }, "udp");
  }

  #openFlow(addr: string): Flow | undefined {
    let sock: Deno.DatagramConn;
    try {
      sock = Deno.listenDatagram({ hostname: this.#bindHost, port: 0, transport: "udp" });
    } catch (err) {
      this.ctx.log.warn(`udp socket for ${addr}: ${(err as Error).message}`);
      return undefined;
    }
    const flow: Flow = { addr, sock, lastActive: Date.now() };
    this.#flows.set(addr, flow);
    this.ctx.log.debug(`udp flow ${addr} opened`);
    this.#sweeper ??= setInterval(
      () => this.#sweep(),
      Math.max(10, Math.min(5000, this.idleMs / 4)),
    );
    this.#pumpReplies(flow);
    return flow;
  }

  /** The local service's replies on a flow's socket → the work connection. */
  async #pumpReplies(flow: Flow): Promise<void> {
    const size = this.#packetSize;
    const buf = new Uint8Array(size + 1);
    const port = this.#target.port;
    for (;;) {
      let data: Uint8Array;
      let from: Deno.NetAddr;
      try {
        [data, from] = (await flow.sock.receive(buf)) as [Uint8Array, Deno.NetAddr];
      } catch {
        break; // Closed (idle, or the proxy stopped).
      }
      // The socket is unconnected; only the service's own replies count.
      if (from.port !== port) continue;
      if (data.length > size) {
        this.ctx.log.debug(`reply to ${flow.addr} larger than udpPacketSize (${size}), dropped`);
        continue;
      }
      flow.lastActive = Date.now();
      if (!this.#writer?.send(flow.addr, data) && this.#dropped++ % 1000 === 0) {
        this.ctx.log.debug(`reply to ${flow.addr} dropped (${this.#dropped} so far)`);
      }
    }
    this.#closeFlow(flow);
  }

  #sweep(): void {
    const now = Date.now();
    for (const flow of this.#flows.values()) {
      if (now - flow.lastActive >= this.idleMs) {
        this.ctx.log.debug(`udp flow ${flow.addr} idle, closed`);
        this.#closeFlow(flow);
      }
    }
  }

  #closeFlow(flow: Flow): void {
    if (this.#flows.get(flow.addr) === flow) this.#flows.delete(flow.addr);
    try {
      flow.sock.close();
    } catch {
      // Already closed.
    }
    if (this.#flows.size === 0 && this.#sweeper !== undefined) {
      clearInterval(this.#sweeper);
      this.#sweeper = undefined;
    }
  }

  /** Closes every flow and the work connection. */
  close(): void {
    this.#closed = true;
    for (const flow of [...this.#flows.values()]) this.#closeFlow(flow);
    this.#work?.close();
  }
}

registerClientProxy("udp", (config, ctx) => new UdpClientProxy(config, ctx));
