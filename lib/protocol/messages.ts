/**
 * Control messages between dfrpc and dfrps. Each travels as one frame of the
 * codec in `codec.ts`; the `type` field tells them apart.
 *
 * @example
 * ```ts
 * import type { Message } from "./messages.ts";
 * const ping: Message = { type: "Ping" };
 * ```
 *
 * @module
 */

/** Bumped when the wire format changes incompatibly. */
export const PROTOCOL_VERSION = 1;

/** First message on every connection: the server's fresh challenge. */
export interface ServerHello {
  type: "ServerHello";
  version: number;
  /** 32 random bytes, hex: makes every login proof unique to this connection. */
  nonce: string;
}

/** The client asks to open a control session. */
export interface Login {
  type: "Login";
  version: number;
  /** dfrp's release, for the admin API and logs. */
  software: string;
  hostname: string;
  os: string;
  arch: string;
  user: string;
  /** The id of the session being resumed after a reconnect, or "". */
  runId: string;
  poolCount: number;
  tcpMux: boolean;
  clientNonce: string;
  /** HMAC-SHA256(token, login context), hex: see `auth.ts`. */
  proof: string;
  metas?: Record<string, string>;
  /** frpc's `clientID`: a stable identity across restarts (run ids change), when set. */
  clientID?: string;
  /** `auth.method = "oidc"`: the client's OIDC access token (a JWT). */
  accessToken?: string;
}

/** The server's answer to {@linkcode Login}. */
export interface LoginResp {
  type: "LoginResp";
  version: number;
  runId: string;
  /** Empty when the login succeeded. */
  error: string;
  /** Proves the server knows the token too (absent on failure). */
  proof?: string;
  /** Seconds the client's address cools down after wrong proofs (set only then): wait this long. */
  retryAfter?: number;
}

/** The client registers one proxy; the fields beyond these depend on its type. */
export interface NewProxy {
  type: "NewProxy";
  proxyName: string;
  proxyType: string;
  /** The proxy's whole configuration, as loaded from the client's file. */
  config: Record<string, unknown>;
}

/** The server's answer to {@linkcode NewProxy}. */
export interface NewProxyResp {
  type: "NewProxyResp";
  proxyName: string;
  /** Where users reach the proxy, e.g. ":6000" (empty on error). */
  remoteAddr: string;
  error: string;
}

/** The client withdraws a proxy. */
export interface CloseProxy {
  type: "CloseProxy";
  proxyName: string;
}

/** The server wants one more pooled work connection (tcpMux off). */
export interface ReqWorkConn {
  type: "ReqWorkConn";
}

/** First message on a pooled work connection, after the server's hello. */
export interface NewWorkConn {
  type: "NewWorkConn";
  runId: string;
  /** HMAC-SHA256(token, work context), hex. */
  proof: string;
  /** OIDC with `auth.additionalScopes` NewWorkConns: the client's access token. */
  accessToken?: string;
}

/** Tells the client which proxy a work connection serves; raw bytes follow. */
export interface StartWorkConn {
  type: "StartWorkConn";
  proxyName: string;
  srcAddr: string;
  srcPort: number;
  dstAddr: string;
  dstPort: number;
  error?: string;
  /** For stcp/sudp: the visiting client's user, checked against `allowUsers`. */
  visitorUser?: string;
  /** For stcp/sudp: the server nonce the visitor's proof is bound to. */
  visitorNonce?: string;
  /** For stcp/sudp: the visitor's HMAC under the proxy's `secretKey`, checked by the owner. */
  visitorProof?: string;
}

/**
 * A visitor asks to reach a secret (stcp, sudp) proxy. First frame of a
 * visitor stream (tcpMux on) or of a visitor connection after `ServerHello`
 * (tcpMux off); see docs/protocol.md, "Visitors".
 */
export interface NewVisitorConn {
  type: "NewVisitorConn";
  /** The target proxy's name (the visitor's `serverName`). */
  proxyName: string;
  /** The target proxy owner's user; empty means the visitor's own user. */
  serverUser: string;
  /** The visitor's type: "stcp" or "sudp"; must match the proxy's. */
  visitorType: string;
  /** HMAC-SHA256(secretKey, visitor context), hex: see docs/protocol.md. */
  proof: string;
  /** tcpMux off: the run id of the visitor's logged-in client. */
  runId?: string;
  /** tcpMux off: HMAC-SHA256(token, ["visitor-conn", nonce, runId]), hex. */
  authProof?: string;
}

/**
 * The answer to {@linkcode NewVisitorConn}: from the server when it refuses,
 * otherwise the owner client's verdict relayed by the server. Raw bytes
 * follow an empty `error`.
 */
export interface NewVisitorConnResp {
  type: "NewVisitorConnResp";
  /** Empty when the visitor is accepted. */
  error: string;
}

/**
 * xtcp, visitor → owner, on the visitor connection right after an accepting
 * `NewVisitorConnResp` (the server relays it): where the visitor's UDP socket
 * is reachable, and how its NAT maps. See docs/p2p.md.
 */
export interface NatHoleVisitor {
  type: "NatHoleVisitor";
  /** The visitor's random session id, hex. */
  sid: string;
  /** Candidate public addresses of the visitor's socket, "host:port" (STUN answers). */
  addrs: string[];
  /** "easy" (endpoint-independent mapping), "hard" or "unknown". */
  natType: string;
  /** HMAC-SHA256(secretKey, ["xtcp-visitor", sid, addrs, natType]), hex. */
  mac: string;
}

/**
 * xtcp, owner → visitor, the answer to {@linkcode NatHoleVisitor}: the
 * owner's addresses and the certificate its QUIC endpoint will present. Both
 * sides start punching as soon as it is sent / received.
 */
export interface NatHoleResp {
  type: "NatHoleResp";
  /** The visitor's session id, echoed. */
  sid: string;
  /** The owner's random session id, hex. */
  ownerSid: string;
  addrs: string[];
  natType: string;
  /** PEM of the owner's self-signed QUIC certificate, pinned by the visitor. */
  cert: string;
  /** Empty, or why the owner will not punch. */
  error: string;
  /** HMAC-SHA256(secretKey, ["xtcp-owner", sid, ownerSid, addrs, natType, cert, error]), hex. */
  mac: string;
}

/** Heartbeat from the client. */
export interface Ping {
  type: "Ping";
  /** OIDC with `auth.additionalScopes` HeartBeats: the client's access token. */
  accessToken?: string;
}

/** Heartbeat answer from the server. */
export interface Pong {
  type: "Pong";
  error?: string;
}

/** Every control message. */
export type Message =
  | ServerHello
  | Login
  | LoginResp
  | NewProxy
  | NewProxyResp
  | CloseProxy
  | ReqWorkConn
  | NewWorkConn
  | StartWorkConn
  | NewVisitorConn
  | NewVisitorConnResp
  | NatHoleVisitor
  | NatHoleResp
  | Ping
  | Pong;

/** The `type` names, for validating what arrives. */
export const MESSAGE_TYPES: ReadonlySet<string> = new Set<Message["type"]>([
  "ServerHello",
  "Login",
  "LoginResp",
  "NewProxy",
  "NewProxyResp",
  "CloseProxy",
  "ReqWorkConn",
  "NewWorkConn",
  "StartWorkConn",
  "NewVisitorConn",
  "NewVisitorConnResp",
  "NatHoleVisitor",
  "NatHoleResp",
  "Ping",
  "Pong",
]);
