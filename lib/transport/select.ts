/**
 * Picks the transport from the config: how the client reaches the server
 * (`transport.protocol`, `transport.proxyURL`, `transport.tls.*`).
 *
 * Client stacks, outermost first:
 *
 * | protocol    | stack                                                   |
 * | ----------- | ------------------------------------------------------- |
 * | `tcp`       | TCP (or proxyURL tunnel) → TLS if `tls.enable`          |
 * | `websocket` | TCP (or tunnel) → WebSocket → TLS if `tls.enable`       |
 * | `wss`       | TCP (or tunnel) → TLS → WebSocket                       |
 * | `quic`      | a QUIC stream (QUIC is always TLS 1.3)                   |
 * | `kcp`       | KCP over UDP → TLS if `tls.enable`                      |
 *
 * @example
 * ```ts
 * import { dialServerTransport } from "./select.ts";
 * import { defaultClientConfig } from "../config/mod.ts";
 * const conn = await dialServerTransport(defaultClientConfig());
 * ```
 *
 * @module
 */

import type { ClientConfig } from "../config/mod.ts";
import { dialTcp, TcpConn } from "../net/tcp_conn.ts";
import { pemFingerprint } from "./fingerprint.ts";
import { checkServerIdentity, type IdentityStatus } from "./known_servers.ts";
import { nativeClientTls } from "./native_tls.ts";
import { serverCertificateChain } from "./server_cert.ts";
import { dialViaProxy } from "./proxy_url.ts";
import { dialKcp } from "./kcp.ts";
import { dialTcpFrom } from "./local_addr_dial.ts";
import { dialQuic } from "./quic.ts";
import { clientTls, type ClientTlsOptions } from "./tls.ts";
import type { TransportConn } from "./transport.ts";
import { connectWebSocket } from "./websocket.ts";

/**
 * Reads a PEM file named by config key `key`; the error names both.
 *
 * @example
 * ```ts
 * import { readPem } from "./select.ts";
 * const ca = readPem("/etc/dfrp/ca.pem", "transport.tls.trustedCaFile");
 * ```
 */
export function readPem(path: string, key: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch (err) {
    throw new Error(`${key} ${path}: ${(err as Error).message}`);
  }
}

/**
 * The client's TLS settings from `transport.tls`; files are read now, so a
 * missing file fails the dial with its key and path.
 *
 * @example
 * ```ts
 * import { clientTlsOptions } from "./select.ts";
 * import { defaultClientConfig } from "../config/mod.ts";
 * clientTlsOptions(defaultClientConfig()).serverName; // "0.0.0.0"
 * ```
 */
export function clientTlsOptions(cfg: ClientConfig): ClientTlsOptions {
  const t = cfg.transport.tls;
  const opts: ClientTlsOptions = { serverName: t.serverName || cfg.serverAddr };
  if (t.trustedCaFile) opts.ca = readPem(t.trustedCaFile, "transport.tls.trustedCaFile");
  if (t.certFile || t.keyFile) {
    if (!t.certFile || !t.keyFile) {
      throw new Error("transport.tls.certFile and keyFile must be set together");
    }
    opts.cert = readPem(t.certFile, "transport.tls.certFile");
    opts.key = readPem(t.keyFile, "transport.tls.keyFile");
  }
  return opts;
}

/**
 * A connection to the server with what its TLS layer learned: the SHA-256
 * fingerprint of the server's certificate ("" without TLS, or when
 * `transport.tls.trustedCaFile` verifies the server instead) and how it
 * compares with the pinned or remembered one (`known_servers.ts`).
 */
export type ServerConn = TransportConn & {
  serverFingerprint: string;
  serverIdentity: IdentityStatus | "";
};

/**
 * Dials the server as the config says and completes every layer's handshake;
 * dfrp's magic goes next. A server whose certificate differs from the pinned
 * or remembered one is refused with `ServerIdentityChanged`.
 *
 * @example
 * ```ts
 * import { dialServerTransport } from "./select.ts";
 * import { defaultClientConfig } from "../config/mod.ts";
 * const conn = await dialServerTransport({ ...defaultClientConfig(), serverPort: 7000 });
 * ```
 */
export async function dialServerTransport(cfg: ClientConfig): Promise<ServerConn> {
  const t = cfg.transport;
  const timeoutMs = t.dialServerTimeout * 1000;
  const host = cfg.serverAddr, port = cfg.serverPort;
  const seen = { serverFingerprint: "", serverIdentity: "" as IdentityStatus | "" };
  if (t.protocol === "quic") {
    // QUIC always verifies the server against transport.tls.trustedCaFile.
    return Object.assign(
      await dialQuic(host, port, clientTlsOptions(cfg), timeoutMs, t.quic, boundIP(cfg)),
      seen,
    );
  }
  if (t.protocol === "kcp") {
    const conn = await dialKcp(host, port, {}, boundIP(cfg));
    try {
      const secured = t.tls.enable ? await dialTls(conn, clientTlsOptions(cfg), cfg, seen) : conn;
      return Object.assign(secured, seen);
    } catch (err) {
      conn.close();
      throw err;
    }
  }
  if (t.protocol !== "tcp" && t.protocol !== "websocket" && t.protocol !== "wss") {
    throw new Error(`transport.protocol ${t.protocol} is not supported by dfrp`);
  }
  // connectServerLocalIP: node:net binds the local address (Deno.connect
  // cannot), so TLS then runs over node:tls rather than Deno's own.
  const local = boundIP(cfg);
  let conn = t.proxyURL
    ? await dialViaProxy(t.proxyURL, host, port, timeoutMs, local)
    : local
    ? await dialTcpFrom(host, port, local, timeoutMs)
    : await dialTcp(host, port, timeoutMs);
  try {
    const hostHeader = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
    if (t.protocol === "wss") {
      conn = await dialTls(conn, clientTlsOptions(cfg), cfg, seen);
      return Object.assign(await connectWebSocket(conn, hostHeader), seen);
    }
    if (t.protocol === "websocket") conn = await connectWebSocket(conn, hostHeader);
    if (t.tls.enable) conn = await dialTls(conn, clientTlsOptions(cfg), cfg, seen);
    return Object.assign(conn, seen);
  } catch (err) {
    conn.close();
    throw err;
  }
}

/**
 * `transport.connectServerLocalIP`, or "" when it binds nothing in particular
 * ("0.0.0.0" / "::", as in frp's example): those dials keep the fast path.
 */
function boundIP(cfg: ClientConfig): string {
  const ip = cfg.transport.connectServerLocalIP;
  return ip === "0.0.0.0" || ip === "::" ? "" : ip;
}

/** Chains seen from each server ("host:port"), pinned for Deno's own TLS. */
const pins = new Map<string, string[]>();

/** Checks `fingerprint` against the pinned or remembered one and records it in `seen`. */
function identify(
  cfg: ClientConfig,
  fingerprint: string,
  seen: { serverFingerprint: string; serverIdentity: IdentityStatus | "" },
): void {
  // Without a fingerprint there is nothing to check or bind the login to.
  if (fingerprint === "") throw new Error("the server showed no TLS certificate");
  seen.serverIdentity = checkServerIdentity(cfg, fingerprint);
  seen.serverFingerprint = fingerprint;
}

/** `tlsConn` once its server passes {@linkcode identify}; closed when it does not. */
function identified(
  cfg: ClientConfig,
  tlsConn: TransportConn & { serverFingerprint: string },
  seen: { serverFingerprint: string; serverIdentity: IdentityStatus | "" },
): TransportConn {
  try {
    identify(cfg, tlsConn.serverFingerprint, seen);
  } catch (err) {
    tlsConn.close();
    throw err;
  }
  return tlsConn;
}

/**
 * TLS over a direct TCP connection with Deno's own implementation when it
 * can verify (a CA, or the server's certificate pinned from a first
 * handshake), else with `node:tls`. Client certificates need `node:tls`.
 * Without a CA, the server's certificate must be the pinned or remembered
 * one (`known_servers.ts`); its fingerprint goes to `seen`.
 */
async function dialTls(
  conn: TransportConn,
  opts: ClientTlsOptions,
  cfg: ClientConfig,
  seen: { serverFingerprint: string; serverIdentity: IdentityStatus | "" },
): Promise<TransportConn> {
  // Through a proxyURL the TCP half-close Deno's TLS sends can end both
  // directions at the proxy, so only direct connections take it.
  if (
    !(conn instanceof TcpConn) || opts.cert || cfg.transport.proxyURL
  ) {
    const tlsConn = await clientTls(conn, opts);
    if (opts.ca) return tlsConn;
    return identified(cfg, tlsConn, seen);
  }
  if (opts.ca) {
    return await nativeClientTls(conn.conn, conn.remoteAddr, {
      serverName: opts.serverName,
      caCerts: [opts.ca],
      pinned: false,
    });
  }
  const server = `${cfg.serverAddr}:${cfg.serverPort}`;
  let chain = pins.get(server);
  if (!chain) {
    chain = await serverCertificateChain(cfg.serverAddr, cfg.serverPort, opts.serverName);
    pins.set(server, chain);
  }
  try {
    identify(cfg, pemFingerprint(chain[0]), seen);
  } catch (err) {
    pins.delete(server); // look again next time: the rightful server may be back
    throw err;
  }
  try {
    return await nativeClientTls(conn.conn, conn.remoteAddr, {
      serverName: opts.serverName,
      caCerts: chain,
      pinned: true,
    });
  } catch {
    // The server changed its certificate, or rustls refuses this chain as an
    // anchor: look again next time, and take node:tls, which checks the
    // certificate it gets against the pinned or remembered one.
    pins.delete(server);
    const fresh = await dialTcp(
      cfg.serverAddr,
      cfg.serverPort,
      cfg.transport.dialServerTimeout * 1000,
    );
    return identified(cfg, await clientTls(fresh, opts), seen);
  }
}
