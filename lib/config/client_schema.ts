/**
 * frpc configuration schema (frp v0.70 `ClientConfig`, proxies, visitors and
 * their plugins) and the defaults that depend on other keys.
 *
 * @example
 * ```ts
 * import { defaultOf } from "./schema.ts";
 * import { clientSchema, completeClient } from "./client_schema.ts";
 * completeClient(defaultOf(clientSchema)).transport.heartbeatInterval; // -1
 * ```
 *
 * @module
 */

import {
  AUTH_SCOPES,
  authMethodSchema,
  logSchema,
  quicSchema,
  stringMap,
  tlsFileFields,
  tokenSourceSchema,
  webServerSchema,
} from "./common_schema.ts";
import {
  bool,
  enumOf,
  type Infer,
  int,
  list,
  map,
  obj,
  port,
  str,
  tagged,
  unsupported,
} from "./schema.ts";

const headerOps = () => obj({ set: stringMap() });

const pluginSchema = tagged("plugin", {}, {
  http2https: { localAddr: str(), hostHeaderRewrite: str(), requestHeaders: headerOps() },
  http_proxy: {
    httpUser: str(),
    httpPassword: str(),
    allowDestinations: list(str()),
    denyDestinations: list(str()),
  },
  https2http: {
    localAddr: str(),
    hostHeaderRewrite: str(),
    requestHeaders: headerOps(),
    enableHTTP2: unsupported(bool(true)),
    crtPath: str(),
    keyPath: str(),
  },
  https2https: {
    localAddr: str(),
    hostHeaderRewrite: str(),
    requestHeaders: headerOps(),
    enableHTTP2: unsupported(bool(true)),
    crtPath: str(),
    keyPath: str(),
  },
  http2http: { localAddr: str(), hostHeaderRewrite: str(), requestHeaders: headerOps() },
  socks5: {
    username: str(),
    password: str(),
    allowDestinations: list(str()),
    denyDestinations: list(str()),
  },
  static_file: { localPath: str(), stripPrefix: str(), httpUser: str(), httpPassword: str() },
  unix_domain_socket: { unixPath: str() },
  tls2raw: { localAddr: str(), crtPath: str(), keyPath: str() },
  virtual_net: {},
});

const natTraversal = () => obj({ disableAssistedAddrs: bool(false) });

/** Keys every proxy type has (frp's ProxyBaseConfig). */
const proxyBase = {
  name: str("", { required: true }),
  enabled: bool(true),
  annotations: stringMap(),
  transport: obj({
    useEncryption: bool(false),
    useCompression: bool(false),
    bandwidthLimit: str("", {
      pattern: { re: /^\s*\d+(\.\d+)?(MB|KB)\s*$/, desc: "e.g. 1MB or 512KB" },
    }),
    bandwidthLimitMode: enumOf(["client", "server"] as const, "client"),
    proxyProtocolVersion: enumOf(["v1", "v2"] as const, ""),
  }),
  metadatas: stringMap(),
  loadBalancer: obj({ group: str(), groupKey: str() }),
  healthCheck: obj({
    type: enumOf(["tcp", "http"] as const, ""),
    // Defaults are the ones frp's health checker applies at runtime.
    timeoutSeconds: int(3, { min: 0 }),
    maxFailed: int(1, { min: 0 }),
    intervalSeconds: int(10, { min: 0 }),
    path: str(),
    httpHeaders: list(obj({ name: str(), value: str() })),
  }),
  localIP: str("127.0.0.1"),
  localPort: port(),
  plugin: pluginSchema,
} as const;

const domainFields = { customDomains: list(str()), subdomain: str() } as const;

const secretFields = {
  secretKey: str(),
  allowUsers: list(str()),
} as const;

/** Proxy types frp has; the key sets below are per type. */
export const proxySchema = tagged("proxy", proxyBase, {
  tcp: { remotePort: port() },
  udp: { remotePort: port() },
  http: {
    ...domainFields,
    locations: list(str()),
    httpUser: str(),
    httpPassword: str(),
    hostHeaderRewrite: str(),
    requestHeaders: headerOps(),
    responseHeaders: headerOps(),
    routeByHTTPUser: str(),
  },
  https: { ...domainFields },
  tcpmux: {
    ...domainFields,
    httpUser: str(),
    httpPassword: str(),
    routeByHTTPUser: str(),
    multiplexer: enumOf(["httpconnect"] as const, "", { required: true }),
  },
  stcp: { ...secretFields },
  xtcp: { ...secretFields, natTraversal: natTraversal() },
  sudp: { ...secretFields },
});

/** Visitor types frp has; dfrp runs stcp and sudp visitors. */
export const visitorSchema = tagged("visitor", {
  name: str("", { required: true }),
  enabled: bool(true),
  transport: obj({ useEncryption: bool(false), useCompression: bool(false) }),
  secretKey: str(),
  serverUser: str(),
  serverName: str(),
  bindAddr: str("127.0.0.1"),
  // Negative means "no listener, only receive redirected connections".
  bindPort: int(0, { max: 65535 }),
  plugin: tagged("visitor plugin", {}, { virtual_net: { destinationIP: str() } }),
}, {
  stcp: {},
  sudp: {},
  xtcp: {
    protocol: enumOf(["quic", "kcp"] as const, "quic"),
    keepTunnelOpen: bool(false),
    maxRetriesAnHour: int(8),
    minRetryInterval: int(90),
    fallbackTo: str(),
    fallbackTimeoutMs: int(1000),
    natTraversal: natTraversal(),
  },
});

/** One proxy type the config knows (`tcp`, `udp`, `http`...). */
export type ProxyType = keyof typeof proxySchema.variants & string;

/**
 * Every proxy type the config knows, in frp's order, read off the schema: the
 * one list the admin APIs, the dashboard and the store derive theirs from, so
 * a new type is added in one place.
 *
 * @example
 * ```ts
 * import { PROXY_TYPES } from "./client_schema.ts";
 * PROXY_TYPES.includes("tcpmux"); // true
 * ```
 */
export const PROXY_TYPES = Object.keys(proxySchema.variants) as unknown as readonly [
  ProxyType,
  ...ProxyType[],
];

/** Schema of an frpc config file. */
export const clientSchema = obj({
  auth: obj({
    method: authMethodSchema,
    additionalScopes: list(enumOf(AUTH_SCOPES, "")),
    token: str(),
    tokenSource: tokenSourceSchema,
    oidc: obj({
      clientID: str(),
      clientSecret: str(),
      audience: str(),
      scope: str(),
      tokenEndpointURL: str(),
      additionalEndpointParams: stringMap(),
      trustedCaFile: str(),
      insecureSkipVerify: unsupported(bool(false)),
      proxyURL: str(),
      tokenSource: tokenSourceSchema,
    }),
  }),
  user: str(),
  clientID: str(),
  serverAddr: str("0.0.0.0"),
  serverPort: port(7000),
  /** Beyond frp: where `known_servers` lives (docs/auth.md); "" = beside the config file. */
  stateDir: str(),
  /**
   * Beyond frp: several servers (docs/cluster.md). Each entry may set its own
   * `auth.token` and `transport.protocol`; empty means the top-level value.
   */
  servers: list(obj({
    serverAddr: str("", { required: true }),
    serverPort: port(7000),
    auth: obj({ token: str() }),
    transport: obj({
      protocol: enumOf(["tcp", "kcp", "quic", "websocket", "wss"] as const, ""),
      tls: obj({ serverName: str() }),
    }),
  })),
  /** "failover": one server at a time, the next when it is lost; "all": every server at once. */
  serversMode: enumOf(["failover", "all"] as const, "failover"),
  natHoleStunServer: str(), // empty: the dfrp server answers STUN on UDP serverPort
  dnsServer: unsupported(str()),
  loginFailExit: bool(true),
  start: list(str()),
  log: logSchema(),
  webServer: webServerSchema,
  transport: obj({
    protocol: enumOf(["tcp", "kcp", "quic", "websocket", "wss"] as const, "tcp"),
    wireProtocol: unsupported(enumOf(["v1", "v2"] as const, "v1")),
    dialServerTimeout: int(10),
    dialServerKeepalive: unsupported(int(7200)),
    connectServerLocalIP: str(),
    /** Defaults to $http_proxy (see completeClient). */
    proxyURL: str(),
    poolCount: int(1, { min: 0 }),
    tcpMux: bool(true),
    tcpMuxKeepaliveInterval: int(30),
    /** Beyond frp: streams the server may have open on the mux session (docs/mux.md). */
    tcpMuxMaxIncomingStreams: int(16_384, { min: 1 }),
    quic: quicSchema,
    /** Both default to -1 with tcpMux, else 30 / 90 (see completeClient). */
    heartbeatInterval: int(0),
    heartbeatTimeout: int(0),
    /** Beyond frp: seconds a relayed write may make no progress (0 = never; docs/mux.md). */
    writeTimeout: int(300, { min: 0 }),
    tls: obj({
      enable: bool(true),
      disableCustomTLSFirstByte: unsupported(bool(true)),
      ...tlsFileFields,
      /** Beyond frp: the server certificate's SHA-256 fingerprint, pinned (docs/auth.md). */
      serverFingerprint: str("", {
        pattern: {
          re: /^\s*(sha-?256[:/]*)?([0-9a-f]{2}:?){31}[0-9a-f]{2}\s*$/i,
          desc: "a SHA-256 fingerprint, 32 hex bytes such as AB:CD:...",
        },
      }),
    }),
  }),
  virtualNet: obj({ address: str() }),
  featureGates: map(bool()),
  udpPacketSize: int(1500, { min: 0 }),
  metadatas: stringMap(),
  includes: list(str()),
  /** Beyond frp: the folder `includes` may reach; "" = the config file's folder. */
  includesRoot: str(),
  store: obj({ path: str() }),
  proxies: list(proxySchema),
  visitors: list(visitorSchema),
});

/** What an `includes` file may hold. */
export const includeSchema = obj({
  proxies: list(proxySchema),
  visitors: list(visitorSchema),
}, { hint: "included files may only contain proxies and visitors" });

/**
 * A loaded frpc configuration, frp field names.
 *
 * @example
 * ```ts
 * import type { ClientConfig } from "./client_schema.ts";
 * const server = (c: ClientConfig) => `${c.serverAddr}:${c.serverPort}`;
 * ```
 */
export type ClientConfig = Infer<typeof clientSchema>;

/**
 * One proxy: common keys plus the keys of its type (others are undefined).
 *
 * @example
 * ```ts
 * import type { ProxyConfig } from "./client_schema.ts";
 * const target = (p: ProxyConfig) => `${p.localIP}:${p.localPort}`;
 * ```
 */
export type ProxyConfig = Infer<typeof proxySchema>;

/**
 * One visitor (stcp, sudp, xtcp).
 *
 * @example
 * ```ts
 * import type { VisitorConfig } from "./client_schema.ts";
 * const target = (v: VisitorConfig) => `${v.serverUser}.${v.serverName}`;
 * ```
 */
export type VisitorConfig = Infer<typeof visitorSchema>;

/**
 * Applies frp's defaults that depend on other keys or the environment;
 * mutates and returns `c`.
 *
 * @example
 * ```ts
 * import { defaultOf } from "./schema.ts";
 * import { clientSchema, completeClient } from "./client_schema.ts";
 * completeClient(defaultOf(clientSchema)).transport.heartbeatTimeout; // -1
 * ```
 */
export function completeClient(c: ClientConfig): ClientConfig {
  const t = c.transport;
  // frp: with tcpMux the mux keepalive replaces application heartbeats.
  if (t.heartbeatInterval === 0) t.heartbeatInterval = t.tcpMux ? -1 : 30;
  if (t.heartbeatTimeout === 0) t.heartbeatTimeout = t.tcpMux ? -1 : 90;
  if (t.proxyURL === "") t.proxyURL = envOr("http_proxy", "");
  return c;
}

function envOr(name: string, fallback: string): string {
  try {
    return Deno.env.get(name) ?? fallback;
  } catch {
    // Without --allow-env frp's fallback simply does not apply.
    return fallback;
  }
}
