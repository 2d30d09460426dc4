/**
 * frp's VirtualNet on one client: a TUN device with `virtualNet.address`,
 * and links to other clients (stcp connections through the server) that
 * carry IP packets between the devices, so `ping` and any IP protocol cross.
 *
 * On a link every packet is framed as a 2-byte big-endian length and the
 * packet. A packet read from the device goes to the link routed for its
 * IPv4 destination, or is dropped; a packet from a link is written to the
 * device. The owner's side (the `virtual_net` proxy plugin) learns routes
 * from the source addresses of what arrives on each link; the visitor's side
 * (the `virtual_net` visitor plugin) routes its `destinationIP` to its link.
 * IPv4 only, like frp's.
 *
 * @example
 * ```ts
 * import { VirtualNet } from "./virtual_net.ts";
 * import { log } from "../../log.ts";
 * import type { Duplex } from "../../net/duplex.ts";
 * declare const link: Duplex;
 * const vnet = VirtualNet.acquire("100.86.0.2/24", log);
 * await vnet.serve(link, { route: "100.86.0.1" }); // until the link ends
 * vnet.release();
 * ```
 *
 * @module
 */

import type { Logger } from "../../log.ts";
import { type Duplex, writeAll } from "../../net/duplex.ts";
import { openTun, type TunDevice } from "../../net/tun.ts";

/** Packets waiting for one slow link before more are dropped (IP allows it; TCP recovers). */
const LINK_QUEUE_LIMIT = 1024;
const FRAME_HEADER = 2;

/**
 * An IPv4 address as a number, or `undefined` when `text` is not one.
 *
 * @example
 * ```ts
 * import { ipv4Number } from "./virtual_net.ts";
 * ipv4Number("100.86.0.1"); // 1683357697
 * ```
 */
export function ipv4Number(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return undefined;
    n = n * 256 + Number(part);
  }
  return n;
}

function addressAt(packet: Uint8Array, offset: number): number {
  return ((packet[offset] << 24) | (packet[offset + 1] << 16) | (packet[offset + 2] << 8) |
    packet[offset + 3]) >>> 0;
}

/** One link's sending side: a queue drained by one writer, so the device loop never waits. */
class Link {
  #queue: Uint8Array[] = [];
  #writing = false;
  dropped = 0;

  constructor(readonly conn: Duplex) {}

  send(packet: Uint8Array, length: number): void {
    if (this.#queue.length >= LINK_QUEUE_LIMIT) {
      this.dropped++;
      return;
    }
    const frame = new Uint8Array(FRAME_HEADER + length);
    frame[0] = length >> 8;
    frame[1] = length & 0xff;
    frame.set(packet.subarray(0, length), FRAME_HEADER);
    this.#queue.push(frame);
    if (!this.#writing) this.#drain();
  }

  async #drain(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#queue.length > 0) {
        const frames = this.#queue.splice(0);
        // One write for everything queued: small packets share a frame of the stream.
        let batch = frames[0];
        if (frames.length > 1) {
          batch = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
          let off = 0;
          for (const f of frames) {
            batch.set(f, off);
            off += f.length;
          }
        }
        await writeAll(this.conn, batch);
      }
    } catch {
      this.#queue.length = 0;
      this.conn.close();
    } finally {
      this.#writing = false;
    }
  }
}

const shared = new Map<string, VirtualNet>();

/** See the module doc. */
export class VirtualNet {
  #tun?: TunDevice;
  #ready: Promise<void>;
  #routes = new Map<number, Link>();
  #users = 0;
  #closed = false;

  private constructor(readonly address: string, readonly log: Logger) {
    this.#ready = openTun(address).then((tun) => {
      this.#tun = tun;
      log.info(`virtual net: device ${tun.name} up with ${address}`);
      if (this.#closed) tun.close();
      else this.#readDevice(tun);
    });
    // Reported by every serve(); keep the promise from being an unhandled rejection.
    this.#ready.catch((err) => log.error(`virtual net: ${(err as Error).message}`));
  }

  /**
   * The client's virtual network for `address` (`virtualNet.address`),
   * opened on first use and shared by every plugin of the process; each
   * `acquire` is matched by a {@linkcode release}.
   */
  static acquire(address: string, log: Logger): VirtualNet {
    let vnet = shared.get(address);
    if (!vnet) {
      vnet = new VirtualNet(address, log);
      shared.set(address, vnet);
    }
    vnet.#users++;
    return vnet;
  }

  /** Gives back one {@linkcode acquire}; the last one closes the device. */
  release(): void {
    if (--this.#users > 0) return;
    this.#closed = true;
    shared.delete(this.address);
    this.#tun?.close();
    for (const link of new Set(this.#routes.values())) link.conn.close();
    this.#routes.clear();
  }

  /** Resolves when the device is up; rejects with why it is not. */
  get ready(): Promise<void> {
    return this.#ready;
  }

  /**
   * Carries packets between the device and `conn` until `conn` ends.
   * `route`: send packets for this IPv4 address over `conn` (the visitor's
   * side). Without it, routes are learned from what `conn` sends (the owner's
   * side: each visitor's address leads back to its own link).
   */
  async serve(conn: Duplex, opts: { route?: string } = {}): Promise<void> {
    const link = new Link(conn);
    try {
      await this.#ready;
      const fixed = opts.route !== undefined ? ipv4Number(opts.route) : undefined;
      if (opts.route !== undefined && fixed === undefined) {
        throw new Error(`destinationIP ${opts.route} is not an IPv4 address`);
      }
      if (fixed !== undefined) this.#routes.set(fixed, link);
      await this.#readLink(link, fixed === undefined);
    } catch (err) {
      this.log.warn(`virtual net link closed: ${(err as Error).message}`);
    } finally {
      for (const [ip, l] of this.#routes) if (l === link) this.#routes.delete(ip);
      conn.close();
    }
  }

  async #readDevice(tun: TunDevice): Promise<void> {
    const packet = new Uint8Array(65536);
    for (let n; (n = await tun.read(packet)) !== null;) {
      // IPv4 only (the version nibble); the kernel's IPv6 chatter stays here.
      if (n < 20 || packet[0] >> 4 !== 4) continue;
      this.#routes.get(addressAt(packet, 16))?.send(packet, n);
    }
  }

  async #readLink(link: Link, learn: boolean): Promise<void> {
    // Room for the largest frame, so a full buffer always holds a whole one.
    const buf = new Uint8Array(65535 + FRAME_HEADER);
    let filled = 0;
    for (;;) {
      const n = await link.conn.read(buf.subarray(filled));
      if (n === null) return;
      filled += n;
      let off = 0;
      while (filled - off >= FRAME_HEADER) {
        const length = (buf[off] << 8) | buf[off + 1];
        if (filled - off < FRAME_HEADER + length) break;
        const packet = buf.slice(off + FRAME_HEADER, off + FRAME_HEADER + length);
        off += FRAME_HEADER + length;
        if (length < 20 || packet[0] >> 4 !== 4) continue;
        if (learn) {
          const source = addressAt(packet, 12);
          if (this.#routes.get(source) !== link) this.#routes.set(source, link);
        }
        await this.#tun!.write(packet);
      }
      if (off > 0) {
        buf.copyWithin(0, off, filled);
        filled -= off;
      }
    }
  }
}
