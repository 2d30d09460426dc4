/**
 * One UDP socket shared by the steps of NAT traversal: STUN queries learn
 * its public mapping, then hole-punching probes go out from the very same
 * port (the mapping is per socket). One receive loop dispatches each packet:
 * STUN responses to the query waiting for their transaction id, the rest to
 * `onPacket`.
 *
 * @example
 * ```ts
 * import { UdpPort } from "./udp_port.ts";
 * const port = UdpPort.bind("0.0.0.0", 0);
 * port.onPacket = (data, from) => console.log(data.length, from.port);
 * port.close();
 * ```
 *
 * @module
 */

import { type Endpoint, isStun, parseStun, type StunMessage } from "./stun.ts";

/** See the module doc. */
export class UdpPort {
  #waiters = new Map<string, (msg: StunMessage) => void>();
  #closed = false;
  /** Non-STUN packets; `data` is only valid during the call. */
  onPacket: (data: Uint8Array, from: Endpoint) => void = () => {};

  private constructor(readonly sock: Deno.DatagramConn) {
    this.#loop();
  }

  /** Binds a UDP socket on `hostname:port` (0: the OS picks). */
  static bind(hostname: string, port: number): UdpPort {
    return new UdpPort(Deno.listenDatagram({ hostname, port, transport: "udp" }));
  }

  /** The local port. */
  get port(): number {
    return (this.sock.addr as Deno.NetAddr).port;
  }

  async #loop(): Promise<void> {
    // One buffer for the socket's life: handlers copy what they keep.
    const buf = new Uint8Array(2048);
    while (!this.#closed) {
      let data: Uint8Array, addr: Deno.Addr;
      try {
        [data, addr] = await this.sock.receive(buf);
      } catch {
        if (this.#closed) return;
        continue; // ICMP errors surface here on Linux; the socket is fine.
      }
      const from = addr as Deno.NetAddr;
      if (isStun(data)) {
        const msg = parseStun(data);
        if (msg?.kind === "response") {
          this.#waiters.get(key(msg.transactionId))?.(msg);
          continue;
        }
      }
      try {
        this.onPacket(data, { hostname: from.hostname, port: from.port });
      } catch {
        // A handler's bug must not stop the socket.
      }
    }
  }

  /** Sends one datagram; errors (unreachable, closed) are swallowed: UDP may lose it anyway. */
  async send(data: Uint8Array, to: Endpoint): Promise<void> {
    if (this.#closed) return;
    try {
      await this.sock.send(data, { transport: "udp", hostname: to.hostname, port: to.port });
    } catch {
      // Lost like any datagram.
    }
  }

  /** Resolves with the response to `transactionId`, or null after `timeoutMs`. */
  awaitResponse(transactionId: Uint8Array, timeoutMs: number): Promise<StunMessage | null> {
    const k = key(transactionId);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(k);
        resolve(null);
      }, timeoutMs);
      this.#waiters.set(k, (msg) => {
        clearTimeout(timer);
        this.#waiters.delete(k);
        resolve(msg);
      });
    });
  }

  /** Closes the socket; the port is free again for the next owner (the stream transport). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.sock.close();
    } catch {
      // Already closed.
    }
  }
}

function key(txid: Uint8Array): string {
  return Array.from(txid, (b) => b.toString(16).padStart(2, "0")).join("");
}
