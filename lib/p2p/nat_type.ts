/**
 * Learning a socket's public mapping and the kind of NAT in front of it.
 * Ask the STUN server; if it names an OTHER-ADDRESS, ask there too from the
 * same socket. The same public port both times means endpoint-independent
 * mapping ("easy": a hole punched towards the peer gets the port the peer
 * was told); different ports mean the NAT maps per destination ("hard",
 * symmetric: the peer cannot know the port).
 *
 * @example
 * ```ts
 * import { discoverNat, stunQuery } from "./nat_type.ts";
 * import { UdpPort } from "./udp_port.ts";
 * const port = UdpPort.bind("0.0.0.0", 0);
 * const nat = await discoverNat(port, { hostname: "192.0.2.1", port: 7000 });
 * console.log(nat.mapped, nat.natType);
 * ```
 *
 * @module
 */

import { bindingRequest, type Endpoint, type StunMessage } from "./stun.ts";
import type { UdpPort } from "./udp_port.ts";

/** "easy": endpoint-independent mapping; "hard": per destination; "unknown": one answer only. */
export type NatType = "easy" | "hard" | "unknown";

/** What {@linkcode discoverNat} learned. */
export interface NatInfo {
  /** The socket's public address as the STUN server saw it. */
  mapped: Endpoint;
  natType: NatType;
  /** The mapping seen by the second address, when there was one. */
  mapped2?: Endpoint;
}

/**
 * One Binding transaction, retransmitted as RFC 5389 says (after 250 ms,
 * doubling) until `timeoutMs`. Rejects when no response came.
 *
 * @example
 * ```ts
 * import { stunQuery } from "./nat_type.ts";
 * import { UdpPort } from "./udp_port.ts";
 * const port = UdpPort.bind("0.0.0.0", 0);
 * const resp = await stunQuery(port, { hostname: "192.0.2.1", port: 3478 });
 * ```
 */
export async function stunQuery(
  port: UdpPort,
  server: Endpoint,
  timeoutMs = 4000,
): Promise<StunMessage> {
  const { packet, transactionId } = bindingRequest();
  const deadline = Date.now() + timeoutMs;
  const answer = port.awaitResponse(transactionId, timeoutMs);
  let wait = 250;
  let done = false;
  answer.then(() => done = true);
  (async () => {
    while (!done && Date.now() < deadline) {
      await port.send(packet, server);
      await Promise.race([answer, new Promise((r) => setTimeout(r, wait))]);
      wait = Math.min(wait * 2, 1600);
    }
  })();
  const msg = await answer;
  if (!msg?.mapped) {
    throw new Error(`no STUN answer from ${server.hostname}:${server.port}`);
  }
  return msg;
}

/**
 * The socket's mapping and NAT type; see the module doc. An OTHER-ADDRESS
 * whose host is unspecified (`0.0.0.0`, `::`: a responder bound to every
 * interface) means the host just asked, at the other port.
 */
export async function discoverNat(
  port: UdpPort,
  server: Endpoint,
  timeoutMs = 4000,
): Promise<NatInfo> {
  const first = await stunQuery(port, server, timeoutMs);
  const mapped = first.mapped!;
  if (!first.other) return { mapped, natType: "unknown" };
  const unspecified = first.other.hostname === "0.0.0.0" || first.other.hostname === "::";
  const other = unspecified ? { hostname: server.hostname, port: first.other.port } : first.other;
  try {
    const second = await stunQuery(port, other, timeoutMs);
    const mapped2 = second.mapped!;
    const same = mapped2.port === mapped.port && mapped2.hostname === mapped.hostname;
    return { mapped, mapped2, natType: same ? "easy" : "hard" };
  } catch {
    return { mapped, natType: "unknown" };
  }
}
