/**
 * The stream transport over a punched UDP path: QUIC (Deno's unstable
 * `Deno.QuicEndpoint`), bound on the very port that punched, after the
 * punching socket closed — the NAT keeps the mapping, which is keyed by the
 * port, not the socket. QUIC brings reliability, flow and congestion control,
 * TLS 1.3 encryption and many streams with no head-of-line blocking (see
 * docs/p2p.md for why not a KCP-style ARQ of our own).
 *
 * The owner is the QUIC server with a throwaway self-signed certificate whose
 * PEM travelled in the authenticated `NatHoleResp`; the visitor pins it. The
 * owner accepts a connection only from the address that punched, and serves
 * a stream only after its 32-byte token (`punch_key.ts`).
 *
 * @example
 * ```ts
 * import { connectTunnel } from "./quic_tunnel.ts";
 * declare const cert: string;
 * const conn = await connectTunnel(40000, { hostname: "192.0.2.9", port: 41000 }, cert, 10_000);
 * ```
 *
 * @module
 */

import { withTimeout } from "../net/timeout.ts";
import type { Endpoint } from "./stun.ts";
import { makeTunnelCert, type TunnelCert } from "./tunnel_cert.ts";

/** ALPN of xtcp tunnels (not the server transport's). */
export const TUNNEL_ALPN = "dfrp-xtcp";
const CERT_NAME = "dfrp-xtcp";

/**
 * Congestion control of the tunnel ("default", "throughput", "low-latency");
 * overridable for measurements with DFRP_XTCP_CC.
 */
const CONGESTION = (() => {
  try {
    return Deno.env.get("DFRP_XTCP_CC") ?? "throughput";
  } catch {
    // No --allow-env (an embedder of mod.ts): the default.
    return "throughput";
  }
})() as "default" | "throughput" | "low-latency";

/** Keepalives hold the NAT mappings open; a vanished peer is noticed in 15 s. */
const TRANSPORT: Deno.QuicTransportOptions = {
  keepAliveInterval: 5_000,
  maxIdleTimeout: 15_000,
  maxConcurrentBidirectionalStreams: 10_000,
  congestionControl: CONGESTION,
};

let cert: Promise<TunnelCert> | undefined;

/** Loss (fraction of punch.ts's loss probes) from which a path counts as lossy. */
export const LOSSY = 0.01;

/**
 * The congestion controller for a path that lost `lost` of the loss probes:
 * quinn's BBR (`"low-latency"`) on a lossy path, else undefined (the
 * default above). Measured in the NAT lab (docs/performance.md): with 5%
 * loss on each router Cubic collapses to 25-32 Mbit/s while BBR gives
 * 67-121; without loss BBR reaches only 0.35-0.6 of Cubic.
 *
 * @example
 * ```ts
 * import { tunnelCongestion } from "./quic_tunnel.ts";
 * tunnelCongestion(0.1); // "low-latency"
 * tunnelCongestion(0); // undefined
 * ```
 */
export function tunnelCongestion(
  lost: number | undefined,
): Deno.QuicTransportOptions["congestionControl"] {
  return lost !== undefined && lost >= LOSSY ? "low-latency" : undefined;
}

/**
 * A QUIC endpoint on UDP `port`. The punching socket was just closed, but
 * Deno frees its descriptor only once its pending receive is cancelled, a
 * moment later: retry for up to a second while the port is still taken.
 */
async function bindEndpoint(port: number): Promise<Deno.QuicEndpoint> {
  for (let tries = 0;; tries++) {
    try {
      return new Deno.QuicEndpoint({ hostname: "0.0.0.0", port });
    } catch (err) {
      if (!(err instanceof Deno.errors.AddrInUse) || tries >= 100) throw err;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

/**
 * For the "tunnel open" log line: the loss measured and the controller picked.
 *
 * @example
 * ```ts
 * import { lossNote } from "./quic_tunnel.ts";
 * lossNote(0.12, "low-latency"); // "; 12% of the loss probes lost: congestion control BBR"
 * ```
 */
export function lossNote(
  lost: number | undefined,
  cc: Deno.QuicTransportOptions["congestionControl"],
): string {
  if (lost === undefined) return "";
  const pct = Math.round(lost * 100);
  const used = cc ?? TRANSPORT.congestionControl;
  return `; ${pct}% of the loss probes lost: congestion control ${
    used === "low-latency" ? "BBR" : "Cubic"
  }`;
}

/**
 * The owner's tunnel certificate, made once per process.
 *
 * @example
 * ```ts
 * import { tunnelCert } from "./quic_tunnel.ts";
 * const { cert } = await tunnelCert();
 * ```
 */
export function tunnelCert(): Promise<TunnelCert> {
  cert ??= makeTunnelCert(CERT_NAME);
  return cert;
}

/**
 * Owner: listens on UDP `port` and resolves to the first QUIC connection
 * from `peer` (others are refused). Rejects after `timeoutMs`. The
 * connection sends with `congestionControl` (see {@linkcode tunnelCongestion}).
 *
 * @example
 * ```ts
 * import { listenTunnel, tunnelCert } from "./quic_tunnel.ts";
 * const conn = await listenTunnel(40000, { hostname: "192.0.2.9", port: 1 }, await tunnelCert(), 10_000);
 * ```
 */
export async function listenTunnel(
  port: number,
  peer: Endpoint,
  pair: TunnelCert,
  timeoutMs: number,
  congestionControl = TRANSPORT.congestionControl,
): Promise<Deno.QuicConn> {
  const endpoint = await bindEndpoint(port);
  const listener = endpoint.listen({
    cert: pair.cert,
    key: pair.key,
    alpnProtocols: [TUNNEL_ALPN],
    ...TRANSPORT,
    congestionControl,
  });
  const accepting = (async () => {
    for await (const incoming of listener) {
      // Deno 2.9.6's QuicIncoming.remoteAddr throws (BadResource): check
      // the address once the handshake is done instead.
      let conn: Deno.QuicConn;
      try {
        conn = await incoming.accept();
      } catch {
        continue;
      }
      const from = conn.remoteAddr;
      if (from.hostname === peer.hostname && from.port === peer.port) return conn;
      conn.close({ closeCode: 1, reason: "not the punched peer" });
    }
    throw new Error("tunnel listener stopped");
  })();
  try {
    const conn = await withTimeout(
      accepting,
      timeoutMs,
      `waiting for the visitor's QUIC handshake`,
    );
    // One connection per tunnel: later handshakes are not wanted.
    listener.stop();
    conn.closed.finally(() => endpoint.close()).catch(() => {});
    return conn;
  } catch (err) {
    accepting.catch(() => {});
    endpoint.close();
    throw err;
  }
}

/**
 * Visitor: dials `peer` over QUIC from UDP `port`, trusting only `certPem`,
 * sending with `congestionControl` (see {@linkcode tunnelCongestion}).
 *
 * @example
 * ```ts
 * import { connectTunnel } from "./quic_tunnel.ts";
 * declare const pem: string;
 * const conn = await connectTunnel(40000, { hostname: "192.0.2.9", port: 41000 }, pem, 10_000);
 * ```
 */
export async function connectTunnel(
  port: number,
  peer: Endpoint,
  certPem: string,
  timeoutMs: number,
  congestionControl = TRANSPORT.congestionControl,
): Promise<Deno.QuicConn> {
  const endpoint = await bindEndpoint(port);
  try {
    const conn = await withTimeout(
      Deno.connectQuic<false>({
        hostname: peer.hostname,
        port: peer.port,
        endpoint,
        caCerts: [certPem],
        serverName: CERT_NAME,
        alpnProtocols: [TUNNEL_ALPN],
        ...TRANSPORT,
        congestionControl,
      }) as Promise<Deno.QuicConn>,
      timeoutMs,
      `QUIC handshake with ${peer.hostname}:${peer.port}`,
    );
    conn.closed.finally(() => endpoint.close()).catch(() => {});
    return conn;
  } catch (err) {
    endpoint.close();
    throw err;
  }
}
