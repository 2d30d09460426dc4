/**
 * `type = "udp"`: a public UDP port (`remotePort`, 0 = any free one) whose
 * datagrams reach the client's `localIP:localPort`; replies go back to the
 * sender they answer.
 *
 * Like frp, one work connection per proxy carries every datagram, framed
 * with its sender's address (`lib/net/udp_frame.ts`). The server opens it
 * when the proxy starts and opens a new one whenever it drops. Datagrams
 * larger than `udpPacketSize`, or arriving while there is no work connection
 * or its backlog is full, are dropped (logged at debug), as UDP may.
 * `transport.bandwidthLimit` in server mode paces the work connection's
 * bytes both ways, as in frp.
 *
 * @example
 * ```ts
 * import { serverProxyFactory } from "./registry.ts";
 * import "./udp.ts";
 * const factory = serverProxyFactory("udp");
 * ```
 *
 * @module
 */

import type { Duplex } from "../../net/duplex.ts";
import { limitDuplex } from "../../net/rate_limit.ts";
import { wrapWorkConn } from "../../net/work_conn_options.ts";
import { sleep } from "../../net/timeout.ts";
import { udpRcvbufHint } from "../../net/udp_rcvbuf.ts";
import {
  formatUdpAddr,
  MAX_UDP_PAYLOAD,
  parseUdpAddr,
  UDP_MAX_BACKLOG,
  UdpFrameReader,
  UdpFrameWriter,
} from "../../net/udp_frame.ts";
import type { NewProxy } from "../../protocol/messages.ts";
import type { PortRange } from "../ports.ts";
import type { ProxyContext, ServerProxy } from "./proxy.ts";
import { registerServerProxy } from "./registry.ts";
import { serverRateLimiter, serverSecret } from "./user_conn.ts";

/**
 * Longest wait before opening a new work connection after one dropped or
 * could not be had; the wait starts at 50 ms and doubles up to this.
 */
export const UDP_REOPEN_DELAY_MS = 1000;

/**
 * Binds a UDP socket on `hostname:port` (0 = a free port within `allow`), or
 * throws an Error whose message a client can show.
 *
 * @example
 * ```ts
 * import { listenUdp } from "./udp.ts";
 * const sock = listenUdp("127.0.0.1", 0, []);
 * sock.close();
 * ```
 */
export function listenUdp(
  hostname: string,
  port: number,
  allow: readonly PortRange[],
): Deno.DatagramConn {
  const bind = (p: number) => Deno.listenDatagram({ hostname, port: p, transport: "udp" });
  if (port === 0 && allow.length > 0) {
    for (const range of allow) {
      const start = range.single ?? range.start ?? 0;
      const end = range.single ?? range.end ?? start;
      for (let p = start; p <= end; p++) {
        try {
          return bind(p);
        } catch {
          // Taken; try the next one.
        }
      }
    }
    throw new Error("no free port left in allowPorts");
  }
  try {
    return bind(port);
  } catch (err) {
    if (err instanceof Deno.errors.AddrInUse) throw new Error(`port ${port} is already in use`);
    if (err instanceof Deno.errors.PermissionDenied) {
      throw new Error(`no permission to bind port ${port}`);
    }
    throw new Error(`cannot listen on udp ${hostname}:${port}: ${(err as Error).message}`);
  }
}

class UdpProxy implements ServerProxy {
  #sock?: Deno.DatagramConn;
  #port = 0;
  #stop = new AbortController();
  #work?: Duplex;
  #writer?: UdpFrameWriter;
  #packetSize: number;
  #dropped = 0;
  #claim?: { release(): void };

  constructor(readonly config: NewProxy, readonly ctx: ProxyContext) {
    this.#packetSize = Math.min(MAX_UDP_PAYLOAD, ctx.serverConfig.udpPacketSize || 1500);
  }

  async start(): Promise<string> {
    const { ctx } = this;
    const wanted = this.config.remotePort;
    const refusal = ctx.ports.check(ctx.clientId, wanted);
    if (refusal) throw new Error(refusal);
    // Cluster mode: the port is claimed cluster-wide; every other node serves it too.
    const placement = ctx.services.placement;
    const claim = (port: number) =>
      placement!.claimRoutes(
        { proxyName: ctx.name, clientId: ctx.clientId, user: String(ctx.user ?? "") },
        [`udp:${port}`],
        { type: "udp", config: { ...this.config, remotePort: port } },
        (ends) => ctx.openWorkConn(ends),
      );
    if (placement && wanted !== 0) this.#claim = await claim(wanted);
    let sock: Deno.DatagramConn;
    try {
      sock = listenUdp(ctx.serverConfig.proxyBindAddr, wanted, ctx.ports.allow);
    } catch (err) {
      this.#claim?.release();
      throw err;
    }
    this.#sock = sock;
    this.#port = (sock.addr as Deno.NetAddr).port;
    const hint = udpRcvbufHint();
    if (hint) ctx.log.info(hint);
    if (wanted === 0 && !ctx.ports.allowed(this.#port)) {
      sock.close();
      throw new Error(`port ${this.#port} is not allowed (allowPorts)`);
    }
    if (placement && wanted === 0) {
      try {
        this.#claim = await claim(this.#port);
      } catch (err) {
        sock.close();
        throw err;
      }
    }
    ctx.ports.claim(ctx.clientId, this.#port);
    this.#receiveLoop(sock);
    this.#workLoop(sock);
    return `:${this.#port}`;
  }

  /** Users' datagrams → the work connection, tagged with their sender. */
  async #receiveLoop(sock: Deno.DatagramConn): Promise<void> {
    const size = this.#packetSize;
    // One byte more than allowed tells an oversized datagram from a full one.
    const buf = new Uint8Array(size + 1);
    const stats = this.ctx.stats;
    let lastHost = "";
    let lastPort = -1;
    let lastKey = "";
    for (;;) {
      let data: Uint8Array;
      let from: Deno.NetAddr;
      try {
        [data, from] = (await sock.receive(buf)) as [Uint8Array, Deno.NetAddr];
      } catch (err) {
        if (this.#stop.signal.aborted || err instanceof Deno.errors.BadResource) return;
        // E.g. ICMP port unreachable reported on the socket; keep serving.
        this.ctx.log.debug(`udp receive: ${(err as Error).message}`);
        continue;
      }
      if (from.hostname !== lastHost || from.port !== lastPort) {
        lastHost = from.hostname;
        lastPort = from.port;
        lastKey = formatUdpAddr(lastHost, lastPort);
      }
      if (data.length > size) {
        this.ctx.log.debug(
          `datagram from ${lastKey} larger than udpPacketSize (${size} bytes), dropped`,
        );
        continue;
      }
      stats.trafficIn += data.length;
      if (!this.#writer?.send(lastKey, data)) this.#drop(lastKey);
    }
  }

  #drop(from: string): void {
    // Logging every drop of a flood would cost more than the datagrams.
    if (this.#dropped++ % 1000 === 0) {
      this.ctx.log.debug(
        `datagram from ${from} dropped: ${
          this.#writer ? "work connection backlog full" : "no work connection"
        } (${this.#dropped} so far)`,
      );
    }
  }

  /** Keeps one work connection open and sends its replies to their users. */
  async #workLoop(sock: Deno.DatagramConn): Promise<void> {
    const { ctx } = this;
    const signal = this.#stop.signal;
    const dstAddr = ctx.serverConfig.proxyBindAddr || "0.0.0.0";
    let delay = 50;
    // Let the control answer NewProxyResp first: a work connection that
    // reaches the client before it knows the proxy is turned away.
    await sleep(0, signal);
    while (!signal.aborted) {
      let work: Duplex;
      try {
        work = await ctx.openWorkConn({ srcAddr: "", srcPort: 0, dstAddr, dstPort: this.#port });
      } catch (err) {
        if (signal.aborted) return;
        ctx.log.warn(`udp work connection: ${(err as Error).message}; retrying`);
        await sleep(delay, signal);
        delay = Math.min(UDP_REOPEN_DELAY_MS, delay * 2);
        continue;
      }
      if (signal.aborted) return work.close();
      const limiter = serverRateLimiter(this.config);
      const sealed = wrapWorkConn(work, this.config, serverSecret(ctx), (r) => ctx.log.warn(r));
      const stream = limiter ? limitDuplex(sealed, limiter) : sealed;
      const writer = new UdpFrameWriter(stream, UDP_MAX_BACKLOG, (err) => {
        ctx.log.debug(`udp work connection write: ${err.message}`);
        work.close();
      });
      this.#work = work;
      this.#writer = writer;
      ctx.log.debug("udp work connection open");
      const opened = Date.now();
      try {
        await this.#sendReplies(sock, new UdpFrameReader(stream));
      } catch (err) {
        if (!signal.aborted) ctx.log.warn(`udp work connection: ${(err as Error).message}`);
      }
      writer.close();
      work.close();
      this.#writer = undefined;
      this.#work = undefined;
      if (signal.aborted) return;
      ctx.log.info("udp work connection closed; opening a new one");
      if (Date.now() - opened >= UDP_REOPEN_DELAY_MS) delay = 50;
      await sleep(delay, signal);
      delay = Math.min(UDP_REOPEN_DELAY_MS, delay * 2);
    }
  }

  async #sendReplies(sock: Deno.DatagramConn, reader: UdpFrameReader): Promise<void> {
    const stats = this.ctx.stats;
    let lastAddr = "";
    let to: Deno.NetAddr | null = null;
    for (let frame; (frame = await reader.next()) !== null;) {
      if (frame.addr !== lastAddr) {
        lastAddr = frame.addr;
        const parsed = parseUdpAddr(frame.addr);
        to = parsed ? { transport: "udp", ...parsed } : null;
        if (!to) this.ctx.log.warn(`reply for a bad address "${frame.addr}", dropped`);
      }
      if (!to) continue;
      try {
        await sock.send(frame.payload, to);
        stats.trafficOut += frame.payload.length;
      } catch (err) {
        if (this.#stop.signal.aborted) return;
        this.ctx.log.debug(`udp send to ${lastAddr}: ${(err as Error).message}`);
      }
    }
  }

  close(): void {
    if (this.#stop.signal.aborted) return;
    this.#stop.abort();
    this.#claim?.release();
    this.#writer?.close();
    this.#work?.close();
    if (!this.#sock) return;
    try {
      this.#sock.close();
    } catch {
      // Already closed.
    }
    this.#sock = undefined;
    this.ctx.ports.release(this.ctx.clientId, this.#port);
  }
}

registerServerProxy("udp", (config, ctx) => new UdpProxy(config, ctx));
