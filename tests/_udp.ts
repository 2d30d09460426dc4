/**
 * UDP helpers for tests: a free port, an echo service, a resending
 * ping-pong client.
 *
 * @example
 * ```ts
 * import { pingPong, udpEcho } from "./_udp.ts";
 * using echo = udpEcho();
 * const [reply] = await pingPong(echo.port, [new Uint8Array(4)]);
 * ```
 *
 * @module
 */

import { freePort } from "./_harness.ts";

/**
 * A free UDP port on 127.0.0.1, from the test harness's reserved range (so that no parallel
 * test's pick or `port: 0` socket takes it before its test binds it); released before returning.
 */
export function freeUdpPort(): number {
  for (;;) {
    const port = freePort();
    try {
      Deno.listenDatagram({ hostname: "127.0.0.1", port, transport: "udp" }).close();
      return port;
    } catch {
      // Taken for UDP: the reservation lapses by itself; pick again.
    }
  }
}

/** A UDP echo on loopback that counts datagrams and remembers its senders. */
export function udpEcho(): { port: number; senders: Set<string>; received: number } & Disposable {
  const sock = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const state = { port: (sock.addr as Deno.NetAddr).port, senders: new Set<string>(), received: 0 };
  (async () => {
    const buf = new Uint8Array(65536);
    for (;;) {
      const [data, from] = await sock.receive(buf);
      const addr = from as Deno.NetAddr;
      state.received++;
      state.senders.add(`${addr.hostname}:${addr.port}`);
      await sock.send(data, from);
    }
  })().catch(() => {});
  return Object.assign(state, { [Symbol.dispose]: () => sock.close() });
}

/**
 * Sends each payload and waits for its echo, resending after a quiet spell
 * (UDP may lose datagrams under load; resending is what a UDP client does).
 * Returns the echoes in order.
 */
export async function pingPong(port: number, payloads: Uint8Array[]): Promise<Uint8Array[]> {
  const sock = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const to: Deno.NetAddr = { transport: "udp", hostname: "127.0.0.1", port };
  const out: Uint8Array[] = [];
  let pending = sock.receive();
  try {
    for (const [i, payload] of payloads.entries()) {
      await sock.send(payload, to);
      for (let resends = 0;;) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const quiet = new Promise<null>((r) => timer = setTimeout(() => r(null), 500));
        const got = await Promise.race([pending, quiet]);
        clearTimeout(timer);
        if (got === null) {
          // A tunnel that lost its way would otherwise be retried forever.
          if (++resends > 40) throw new Error(`no echo of datagram ${i} after ${resends} sends`);
          await sock.send(payload, to);
          continue;
        }
        pending = sock.receive();
        pending.catch(() => {}); // Rejects when the socket closes at the end.
        const data = got[0];
        // A late echo of an earlier resend carries an older sequence number.
        if (new DataView(data.buffer, data.byteOffset).getUint32(0) !== i) continue;
        out.push(data.slice());
        break;
      }
    }
  } finally {
    pending.catch(() => {});
    sock.close();
  }
  return out;
}

/** The parts joined into one array. */
export function concat(parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
