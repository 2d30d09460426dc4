/**
 * `type = "sudp"` visitor: a UDP socket on `bindAddr:bindPort` whose
 * datagrams travel, framed as a udp proxy's (`lib/net/udp_frame.ts`), over
 * ONE visitor connection to the secret proxy; replies come back framed with
 * the local sender's address and are sent to it. The connection is opened
 * by the first datagram and reopened by the first datagram after it drops.
 *
 * @example
 * ```ts
 * import { visitorFactory } from "./registry.ts";
 * import "./sudp.ts";
 * const factory = visitorFactory("sudp");
 * ```
 *
 * @module
 */

import type { VisitorConfig } from "../../config/mod.ts";
import type { Duplex } from "../../net/duplex.ts";
import {
  formatUdpAddr,
  MAX_UDP_PAYLOAD,
  parseUdpAddr,
  UDP_MAX_BACKLOG,
  UdpFrameReader,
  UdpFrameWriter,
} from "../../net/udp_frame.ts";
import { dialVisitor } from "./dial.ts";
import { registerVisitor } from "./registry.ts";
import { targetLabel } from "./stcp.ts";
import type { Visitor, VisitorContext } from "./visitor.ts";

/** Datagrams kept while the visitor connection is being opened; later ones are dropped. */
export const SUDP_CONNECT_QUEUE = 256;
/** After a failed attempt, datagrams are dropped for this long instead of redialing. */
export const SUDP_RETRY_MS = 1_000;

interface Tunnel {
  conn: Duplex;
  writer: UdpFrameWriter;
}

/** See the module doc. */
export class SudpVisitor implements Visitor {
  #sock?: Deno.DatagramConn;
  #tunnel?: Tunnel;
  #connecting = false;
  #queue: Array<[string, Uint8Array]> = [];
  #failedAt = 0;
  #closed = false;
  #dropped = 0;

  /**
   * @param config the visitor's config
   * @param ctx client services
   */
  constructor(readonly config: VisitorConfig, readonly ctx: VisitorContext) {}

  /** The visitor's name. */
  get name(): string {
    return this.config.name;
  }

  /** The bound UDP port, or 0 without a socket. */
  get port(): number {
    return (this.#sock?.addr as Deno.NetAddr | undefined)?.port ?? 0;
  }

  /** Binds the UDP socket when `bindPort` > 0. */
  start(): Promise<void> {
    const { bindAddr, bindPort } = this.config;
    if (bindPort <= 0) {
      this.ctx.log.info("sudp visitor has no bindPort; it receives nothing");
      return Promise.resolve();
    }
    const sock = Deno.listenDatagram({
      hostname: bindAddr || "127.0.0.1",
      port: bindPort,
      transport: "udp",
    });
    this.#sock = sock;
    this.ctx.log.info(`sudp visitor listen at ${bindAddr || "127.0.0.1"}:${this.port}`);
    this.#receive(sock);
    return Promise.resolve();
  }

  async #receive(sock: Deno.DatagramConn): Promise<void> {
    const size = Math.min(MAX_UDP_PAYLOAD, this.ctx.clientConfig.udpPacketSize || 1500);
    const buf = new Uint8Array(size + 1);
    for (;;) {
      let data: Uint8Array;
      let from: Deno.NetAddr;
      try {
        [data, from] = (await sock.receive(buf)) as [Uint8Array, Deno.NetAddr];
      } catch {
        return; // Closed.
      }
      if (data.length > size) {
        this.ctx.log.debug(`datagram larger than udpPacketSize (${size}), dropped`);
        continue;
      }
      this.#forward(formatUdpAddr(from.hostname, from.port), data);
    }
  }

  #forward(addr: string, data: Uint8Array): void {
    if (this.#tunnel) {
      if (!this.#tunnel.writer.send(addr, data)) this.#drop();
      return;
    }
    if (this.#connecting) {
      if (this.#queue.length < SUDP_CONNECT_QUEUE) this.#queue.push([addr, data.slice()]);
      else this.#drop();
      return;
    }
    if (Date.now() - this.#failedAt < SUDP_RETRY_MS) return this.#drop();
    this.#queue.push([addr, data.slice()]);
    this.#connect();
  }

  #drop(): void {
    if (this.#dropped++ % 1000 === 0) {
      this.ctx.log.debug(`datagram dropped (${this.#dropped} so far)`);
    }
  }

  async #connect(): Promise<void> {
    this.#connecting = true;
    let conn: Duplex;
    try {
      conn = await dialVisitor(this.ctx, this.config);
    } catch (err) {
      this.#failedAt = Date.now();
      this.#queue.length = 0;
      const target = targetLabel(this.config, this.ctx.clientConfig.user);
      this.ctx.log.warn(`visitor connection to [${target}] failed: ${(err as Error).message}`);
      return;
    } finally {
      this.#connecting = false;
    }
    if (this.#closed) return conn.close();
    const writer = new UdpFrameWriter(conn, UDP_MAX_BACKLOG, () => conn.close());
    const tunnel = { conn, writer };
    this.#tunnel = tunnel;
    for (const [addr, data] of this.#queue.splice(0)) writer.send(addr, data);
    this.ctx.log.debug("sudp visitor connection open");
    await this.#replies(tunnel);
  }

  /** Framed replies from the proxy's side → the local senders they answer. */
  async #replies(tunnel: Tunnel): Promise<void> {
    const reader = new UdpFrameReader(tunnel.conn);
    try {
      for (let frame; (frame = await reader.next()) !== null;) {
        const to = parseUdpAddr(frame.addr);
        if (!to || !this.#sock) continue;
        try {
          await this.#sock.send(frame.payload, { transport: "udp", ...to });
        } catch (err) {
          this.ctx.log.debug(`udp send to ${frame.addr}: ${(err as Error).message}`);
        }
      }
    } catch (err) {
      if (!this.#closed) this.ctx.log.debug(`sudp visitor connection: ${(err as Error).message}`);
    } finally {
      tunnel.writer.close();
      tunnel.conn.close();
      if (this.#tunnel === tunnel) this.#tunnel = undefined;
      if (!this.#closed) this.ctx.log.debug("sudp visitor connection closed");
    }
  }

  /** Closes the socket and the visitor connection. */
  close(): void {
    this.#closed = true;
    try {
      this.#sock?.close();
    } catch {
      // Already closed.
    }
    this.#tunnel?.conn.close();
  }
}

registerVisitor("sudp", (config, ctx) => new SudpVisitor(config, ctx));
