/**
 * frps configuration schema (frp v0.70 `ServerConfig`) and the defaults that
 * depend on other keys (frp's `Complete()`).
 *
 * @example
 * ```ts
 * import { defaultOf } from "./schema.ts";
 * import { completeServer, serverSchema } from "./server_schema.ts";
 * const cfg = completeServer(defaultOf(serverSchema));
 * cfg.proxyBindAddr; // "0.0.0.0"
 * ```
 *
 * @module
 */

import {
  AUTH_SCOPES,
  authMethodSchema,
  logSchema,
  quicSchema,
  tlsFileFields,
  tokenSourceSchema,
  webServerSchema,
} from "./common_schema.ts";
import { bool, enumOf, type Infer, int, list, obj, port, str, unsupported } from "./schema.ts";

/** frp's server plugin operations. */
export const HTTP_PLUGIN_OPS = [
  "Login",
  "NewProxy",
  "CloseProxy",
  "Ping",
  "NewWorkConn",
  "NewUserConn",
] as const;

/** Schema of an frps config file. */
export const serverSchema = obj({
  auth: obj({
    method: authMethodSchema,
    additionalScopes: list(enumOf(AUTH_SCOPES, "")),
    token: str(),
    tokenSource: tokenSourceSchema,
    oidc: obj({
      issuer: str(),
      audience: str(),
      skipExpiryCheck: bool(false),
      skipIssuerCheck: bool(false),
      /** Beyond frp: the claim whose value picks the `[[auth.users]]` entry. */
      userClaim: str("sub"),
      /** Beyond frp: seconds between JWKS refetches for an unknown key id; -1: no wait. */
      jwksRefetchInterval: int(30, { min: -1 }),
    }),
    /** Beyond frp: per-client credentials and limits (docs/auth.md). */
    users: list(obj({
      user: str("", { required: true }),
      token: str(),
      allowPorts: list(obj({ start: port(), end: port(), single: port() })),
      allowDomains: list(str()),
      maxProxies: int(0, { min: 0 }),
      bandwidthLimit: str("", {
        pattern: { re: /^\s*\d+(\.\d+)?(MB|KB)\s*$/, desc: "e.g. 1MB or 512KB" },
      }),
    })),
    /** Beyond frp: failed logins per address per minute before a cooldown; 0 = no limit. */
    maxFailedLogins: int(5, { min: 0 }),
  }),
  bindAddr: str("0.0.0.0"),
  bindPort: port(7000),
  /** Beyond frp: where the server keeps its identity (docs/auth.md); "" = beside the config file. */
  stateDir: str(),
  kcpBindPort: port(),
  quicBindPort: port(),
  /** Defaults to bindAddr (see completeServer). */
  proxyBindAddr: str(),
  vhostHTTPPort: port(),
  /** -1 (beyond frp) = no limit; 0 means the default, as everywhere in frp's config. */
  vhostHTTPTimeout: int(60, { min: -1 }),
  /** Beyond frp: seconds a user may take to send a request head on vhostHTTPPort; -1 = forever. */
  vhostHTTPHeaderTimeout: int(60, { min: -1 }),
  /** Beyond frp: seconds a kept-alive vhostHTTPPort connection may idle between requests; -1 = forever. */
  vhostHTTPIdleTimeout: int(60, { min: -1 }),
  /** Beyond frp: seconds to the ClientHello (vhostHTTPSPort) or CONNECT head (tcpmux); -1 = forever. */
  vhostHandshakeTimeout: int(10, { min: -1 }),
  /** Beyond frp: open connections per vhost port (http, https, tcpmux); -1 = no cap. */
  vhostMaxConns: int(10000, { min: -1 }),
  /** Beyond frp: open connections per client address on each vhost port; -1 = no cap. */
  vhostMaxConnsPerIP: int(256, { min: -1 }),
  vhostHTTPSPort: port(),
  tcpmuxHTTPConnectPort: port(),
  tcpmuxPassthrough: bool(false),
  subDomainHost: str(),
  custom404Page: str(),
  sshTunnelGateway: obj({
    bindPort: port(),
    privateKeyFile: str(),
    autoGenPrivateKeyPath: str("./.autogen_ssh_key"),
    authorizedKeysFile: str(),
  }),
  webServer: webServerSchema,
  enablePrometheus: bool(false),
  log: logSchema(),
  transport: obj({
    tcpMux: bool(true),
    tcpMuxKeepaliveInterval: int(30),
    /** Beyond frp: streams a client may have open on its mux session (docs/mux.md). */
    tcpMuxMaxIncomingStreams: int(16_384, { min: 1 }),
    tcpKeepalive: unsupported(int(7200)),
    maxPoolCount: int(5, { min: 0 }),
    /** Defaults to -1 with tcpMux, else 90 (see completeServer). */
    heartbeatTimeout: int(0),
    /** Beyond frp: seconds a relayed write may make no progress (0 = never; docs/mux.md). */
    writeTimeout: int(300, { min: 0 }),
    quic: quicSchema,
    tls: obj({ force: bool(false), ...tlsFileFields }),
  }),
  detailedErrorsToClient: bool(true),
  maxPortsPerClient: int(0, { min: 0 }),
  userConnTimeout: int(10, { min: 0 }),
  udpPacketSize: int(1500, { min: 0 }),
  /**
   * frp keeps NAT behaviour per visitor/owner pair this long to pick the next
   * punching strategy; dfrp's server keeps none (the peers choose from a
   * fresh STUN classification each attempt, docs/p2p.md), so there is
   * nothing to expire: accepted and documented, no warning.
   */
  natholeAnalysisDataReserveHours: int(168),
  allowPorts: list(obj({ start: port(), end: port(), single: port() })),
  /** Beyond frp: several nodes sharing one routing table in Redis (docs/cluster.md). */
  cluster: obj({
    /** Turns cluster mode on; empty = one node, no Redis. */
    redisURL: str(),
    /** Defaults to hostname:bindPort (see completeServer). */
    nodeName: str(),
    /** Node-to-node listener on bindAddr; defaults to bindPort + 1. */
    peerPort: port(),
    /** Where the other nodes reach this one; defaults to bindAddr:peerPort. */
    advertiseAddr: str(),
    /** Secret of the node-to-node links; defaults to auth.token. */
    secretKey: str(),
  }),
  httpPlugins: list(obj({
    name: str(),
    addr: str(),
    path: str(),
    ops: list(enumOf(HTTP_PLUGIN_OPS, "")),
    tlsVerify: bool(false),
  })),
});

/**
 * A loaded frps configuration, frp field names.
 *
 * @example
 * ```ts
 * import type { ServerConfig } from "./server_schema.ts";
 * function listenAddr(c: ServerConfig) {
 *   return `${c.bindAddr}:${c.bindPort}`;
 * }
 * ```
 */
export type ServerConfig = Infer<typeof serverSchema>;

/**
 * Applies frp's defaults that depend on other keys; mutates and returns `c`.
 *
 * @example
 * ```ts
 * import { defaultOf } from "./schema.ts";
 * import { completeServer, serverSchema } from "./server_schema.ts";
 * completeServer(defaultOf(serverSchema)).transport.heartbeatTimeout; // -1
 * ```
 */
export function completeServer(c: ServerConfig): ServerConfig {
  if (c.proxyBindAddr === "") c.proxyBindAddr = c.bindAddr;
  if (c.transport.heartbeatTimeout === 0) {
    // frp: with tcpMux the mux keepalive replaces application heartbeats.
    c.transport.heartbeatTimeout = c.transport.tcpMux ? -1 : 90;
  }
  if (c.transport.tls.trustedCaFile !== "") c.transport.tls.force = true;
  const cluster = c.cluster;
  if (cluster?.redisURL) {
    if (cluster.nodeName === "") cluster.nodeName = `${hostname()}:${c.bindPort}`;
    if (cluster.peerPort === 0) cluster.peerPort = c.bindPort + 1;
    if (cluster.advertiseAddr === "") {
      const host = c.bindAddr === "0.0.0.0" || c.bindAddr === "::" ? hostname() : c.bindAddr;
      cluster.advertiseAddr = `${host}:${cluster.peerPort}`;
    }
    if (cluster.secretKey === "") cluster.secretKey = c.auth.token;
  }
  return c;
}

function hostname(): string {
  try {
    return Deno.hostname();
  } catch {
    // Without --allow-sys=hostname.
    return "localhost";
  }
}
