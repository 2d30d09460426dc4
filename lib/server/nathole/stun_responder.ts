/**
 * The server as rendezvous: a STUN (RFC 5389) Binding responder on UDP
 * `bindPort` (the same number as the TCP port; frp has no key for it), plus a
 * second socket on a port the OS picks, named in every answer as
 * OTHER-ADDRESS (RFC 5780). An xtcp client asks both from one socket: the
 * same public port twice means its NAT maps independently of the
 * destination (punchable); two ports mean a symmetric NAT.
 *
 * Anything but a well-formed Binding request is ignored (never answered, so
 * the responder cannot be used to amplify), and logged at debug level.
 *
 * @example
 * ```ts
 * import { StunResponder } from "./stun_responder.ts";
 * import { log } from "../../log.ts";
 * const responder = StunResponder.start("127.0.0.1", 0, log);
 * console.log(responder.ports);
 * responder.close();
 * ```
 *
 * @module
 */

import type { Logger } from "../../log.ts";
import { bindingResponse, type Endpoint, isStun, parseStun } from "../../p2p/stun.ts";
import { type FeatureKey, registerServerFeature, type ServerFeature } from "../feature.ts";

/** The feature's name in `ServerServices.features`. */
export const STUN_FEATURE: FeatureKey<StunResponder> = "natHoleStun";

/** See the module doc. */
export class StunResponder implements ServerFeature {
  #socks: Deno.DatagramConn[] = [];
  #closed = false;
  /** Binding requests answered, and datagrams ignored as malformed. */
  readonly counts = { answered: 0, ignored: 0 };
  /**
   * Takes what arrives on `bindPort` that is not STUN, when another service
   * shares the port (KCP with `kcpBindPort = bindPort`, as frp's example has it).
   */
  shared?: (datagram: Uint8Array, from: Deno.NetAddr) => void;

  private constructor(readonly log: Logger) {}

  /** Binds `hostname:port` and a second port, and starts answering. */
  static start(hostname: string, port: number, log: Logger): StunResponder {
    const responder = new StunResponder(log);
    const main = Deno.listenDatagram({ hostname, port, transport: "udp" });
    let other: Deno.DatagramConn;
    try {
      other = Deno.listenDatagram({ hostname, port: 0, transport: "udp" });
    } catch (err) {
      main.close();
      throw err;
    }
    responder.#socks = [main, other];
    const addr = (s: Deno.DatagramConn): Endpoint => {
      const a = s.addr as Deno.NetAddr;
      return { hostname: a.hostname, port: a.port };
    };
    responder.#serve(main, addr(other));
    responder.#serve(other, addr(main));
    return responder;
  }

  /** Sends from the `bindPort` socket (for the service that shares it). */
  send(datagram: Uint8Array, to: Deno.NetAddr): Promise<number> {
    return this.#socks[0].send(datagram, to);
  }

  /** The two UDP ports answered on: `bindPort` first. */
  get ports(): number[] {
    return this.#socks.map((s) => (s.addr as Deno.NetAddr).port);
  }

  async #serve(sock: Deno.DatagramConn, other: Endpoint): Promise<void> {
    const buf = new Uint8Array(1500);
    while (!this.#closed) {
      let data: Uint8Array, from: Deno.Addr;
      try {
        [data, from] = await sock.receive(buf);
      } catch {
        if (this.#closed) return;
        continue; // An ICMP error from an earlier send; the socket is fine.
      }
      const peer = from as Deno.NetAddr;
      if (this.shared && sock === this.#socks[0] && !isStun(data)) {
        this.shared(data, peer);
        continue;
      }
      const msg = parseStun(data);
      if (msg?.kind !== "request") {
        this.counts.ignored++;
        this.log.debug(
          `nat hole: ignored a ${data.length}-byte datagram from ${peer.hostname}:${peer.port}`,
        );
        continue;
      }
      this.counts.answered++;
      const mapped = { hostname: peer.hostname, port: peer.port };
      try {
        await sock.send(bindingResponse(msg.transactionId, mapped, other), peer);
      } catch {
        // The requester is gone; it will ask again.
      }
    }
  }

  /** Stops answering. */
  close(): void {
    this.#closed = true;
    for (const s of this.#socks) {
      try {
        s.close();
      } catch {
        // Already closed.
      }
    }
  }
}

registerServerFeature(STUN_FEATURE, (services) => {
  const { bindAddr, bindPort } = services.config;
  const log = services.log;
  try {
    const responder = StunResponder.start(bindAddr, bindPort, log);
    log.info(`nat hole stun responder on udp ${bindAddr}:${responder.ports.join(", ")}`);
    return Promise.resolve(responder);
  } catch (err) {
    // Without it xtcp clients fall back to another STUN server or to stcp;
    // everything else works.
    log.warn(
      `nat hole stun responder not started on udp ${bindAddr}:${bindPort}: ${
        (err as Error).message
      }`,
    );
    return Promise.resolve(null);
  }
});
