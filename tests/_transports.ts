/**
 * The ways a client can reach its server, as the TOML keys each needs on both sides: plain TCP,
 * TLS (the default), WebSocket, wss, QUIC and KCP. Tests that must hold over every transport loop
 * over {@linkcode TRANSPORTS}.
 *
 * @example
 * ```ts
 * import { makeCerts } from "./_certs.ts";
 * import { TRANSPORTS } from "./_transports.ts";
 * const certs = await makeCerts();
 * for (const t of TRANSPORTS) console.log(t.name, t.client(certs), t.server(certs, 7001));
 * ```
 *
 * @module
 */

import type { TestCerts } from "./_certs.ts";

/** One transport: the keys that select it. */
export interface TransportCase {
  /** Its name in test names. */
  name: string;
  /** Client keys selecting the transport. */
  client: (c: TestCerts) => string;
  /** Server keys it needs; a UDP transport listens on `udpPort`. */
  server: (c: TestCerts, udpPort: number) => string;
  /** The client dials the UDP port given to `server` (QUIC, KCP), not bindPort. */
  udp?: boolean;
}

/** Every transport, plain TCP first. */
export const TRANSPORTS: readonly TransportCase[] = [
  { name: "plain tcp", client: () => "transport.tls.enable = false", server: () => "" },
  { name: "tls", client: () => "", server: () => "" },
  { name: "websocket", client: () => `transport.protocol = "websocket"`, server: () => "" },
  { name: "wss", client: () => `transport.protocol = "wss"`, server: () => "" },
  {
    name: "quic",
    udp: true,
    client: (c) => `transport.protocol = "quic"\ntransport.tls.trustedCaFile = "${c.ca}"`,
    server: (c, quicPort) =>
      `quicBindPort = ${quicPort}\ntransport.tls.certFile = "${c.serverCert}"\n` +
      `transport.tls.keyFile = "${c.serverKey}"`,
  },
  {
    name: "kcp",
    udp: true,
    client: () => `transport.protocol = "kcp"`,
    server: (_c, kcpPort) => `kcpBindPort = ${kcpPort}`,
  },
];

/**
 * The transport called `name` in {@linkcode TRANSPORTS}.
 *
 * @example
 * ```ts
 * import { transport } from "./_transports.ts";
 * console.log(transport("quic").udp);
 * ```
 */
export function transport(name: string): TransportCase {
  const found = TRANSPORTS.find((t) => t.name === name);
  if (!found) throw new Error(`no transport ${name}`);
  return found;
}
