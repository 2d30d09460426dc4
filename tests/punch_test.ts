/**
 * The punch's loss measurement on a long path (lib/p2p/punch.ts): each side
 * starts sending its loss probes only when it has finished punching, so on a
 * path with a long delay the peer's probes arrive late. They must still
 * count: a clean path must measure no loss, or the tunnel gets the
 * congestion controller meant for lossy paths. Real UDP sockets on loopback,
 * with a relay in between that holds every datagram 150 ms each way.
 */

import { assertEquals } from "./_assert.ts";
import { punch } from "../lib/p2p/punch.ts";
import { punchKey } from "../lib/p2p/punch_key.ts";
import { UdpPort } from "../lib/p2p/udp_port.ts";

/** Two sockets that pass datagrams between `a` and `b` after `delayMs`, each way. */
function slowLink(a: UdpPort, b: UdpPort, delayMs: number) {
  const towardB = UdpPort.bind("127.0.0.1", 0); // what `a` sends to
  const towardA = UdpPort.bind("127.0.0.1", 0); // what `b` sends to
  const here = (p: UdpPort) => ({ hostname: "127.0.0.1", port: p.port });
  const later = (data: Uint8Array, from: UdpPort, to: UdpPort) => {
    const copy = data.slice();
    setTimeout(() => from.send(copy, here(to)).catch(() => {}), delayMs);
  };
  towardB.onPacket = (data) => later(data, towardA, b);
  towardA.onPacket = (data) => later(data, towardB, a);
  return {
    /** Where `a` sees `b`. */
    bForA: here(towardB),
    /** Where `b` sees `a`. */
    aForB: here(towardA),
    [Symbol.dispose]() {
      towardB.close();
      towardA.close();
    },
  };
}

Deno.test("punch: a clean path with 150 ms each way measures no loss (late probes still count)", async () => {
  const visitor = UdpPort.bind("127.0.0.1", 0);
  const owner = UdpPort.bind("127.0.0.1", 0);
  using link = slowLink(visitor, owner, 150);
  const key = await punchKey("k", "vsid", "osid");
  try {
    const [v, o] = await Promise.all([
      punch(visitor, { role: "visitor", key, candidates: [link.bForA], timeoutMs: 5000 }),
      punch(owner, { role: "owner", key, candidates: [link.aForB], timeoutMs: 5000 }),
    ]);
    assertEquals([v.peer, o.peer], [link.bForA, link.aForB]);
    assertEquals([v.lost, o.lost], [0, 0]);
  } finally {
    visitor.close();
    owner.close();
  }
});
