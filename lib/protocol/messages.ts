/**
 * The wire catalog: every control message between dfrpc and dfrps, one zod
 * schema each (like frp's `pkg/msg`). Each message travels as one frame of
 * the codec in `codec.ts`; the `type` field tells them apart. Frames are
 * validated once, where they are decoded ({@linkcode parseMessage}), so code
 * past the codec reads typed fields and never coerces. The TypeScript types
 * are inferred from the schemas: {@linkcode Message} is what a reader gets
 * (defaults filled in), {@linkcode MessageInit} what a writer may send.
 *
 * Schemas check types and shapes only. Rules about values (an empty proxy
 * name, an unknown proxy type, a port outside `allowPorts`) stay with the
 * code that decides them and answer with a reason, so a stricter server
 * never turns a valid client config into a broken login. Unknown fields
 * are dropped, so a newer peer may add optional ones.
 *
 * @example
 * ```ts
 * import { type Message, parseMessage } from "./messages.ts";
 * const ping: Message = parseMessage({ type: "Ping" });
 * ```
 *
 * @module
 */

import { quote } from "../log.ts";
import { z } from "zod";

/** Bumped when the wire format changes incompatibly. */
export const PROTOCOL_VERSION = 2;

const text = () => z.string();
const textOr = (fallback = "") => z.string().default(fallback);
const stringMap = () => z.record(z.string(), z.string());
const portNumber = () => z.number().int().min(0).max(65535);

/** First message on every connection: the server's fresh challenge. */
export const ServerHelloSchema = z.object({
  type: z.literal("ServerHello"),
  version: z.number().int(),
  /** 32 random bytes, hex: makes every login proof unique to this connection. */
  nonce: text(),
});

/** The client logs in: the first message on its control connection. */
export const LoginSchema = z.object({
  type: z.literal("Login"),
  version: z.number().int(),
  /** dfrp's release, for the admin API and logs. */
  software: textOr(),
  hostname: textOr(),
  os: textOr(),
  arch: textOr(),
  user: textOr(),
  /** The run id being resumed after a reconnect, or "". */
  runId: textOr(),
  /** With `runId`: proof of that login's resume key for this nonce (`resume.ts`); else absent. */
  resumeProof: text().optional(),
  poolCount: z.number().int().min(0).default(0),
  tcpMux: z.boolean(),
  clientNonce: text(),
  /**
   * SHA-256 fingerprint of the TLS certificate the client received, mixed
   * into `proof` (see `auth.ts`); absent or "" without TLS or with a CA.
   */
  tlsFingerprint: text().optional(),
  /** HMAC-SHA256(token, login context), hex: see `auth.ts`. */
  proof: text(),
  metas: stringMap().optional(),
  /** frpc's `clientID`: a stable identity across restarts (run ids change), when set. */
  clientID: text().optional(),
  /** `auth.method = "oidc"`: the client's OIDC access token (a JWT). */
  accessToken: text().optional(),
});

/** The server's answer to a `Login`. */
export const LoginRespSchema = z.object({
  type: z.literal("LoginResp"),
  version: z.number().int(),
  runId: textOr(),
  /** Empty when the login succeeded. */
  error: textOr(),
  /** Proves the server knows the token too (absent on failure). */
  proof: text().optional(),
  /** Seconds the client's address cools down after wrong proofs (set only then): wait this long. */
  retryAfter: z.number().min(0).optional(),
});

const headerOps = () => z.object({ set: stringMap().default({}) }).default({ set: {} });

/**
 * The client registers one proxy. Only what the server needs travels: no
 * local address, no plugin options, no `secretKey` (the owner checks
 * visitor proofs itself), and `loadBalancer.groupKey` only as a proof
 * ({@linkcode groupKeyProof}). Which fields a type uses:
 * {@linkcode NEW_PROXY_TYPE_FIELDS}; the others keep their defaults.
 */
export const NewProxySchema = z.object({
  type: z.literal("NewProxy"),
  proxyName: text(),
  proxyType: text(),
  /** Work-connection flags both ends apply, and the bandwidth limit. */
  transport: z.object({
    useEncryption: z.boolean().default(false),
    useCompression: z.boolean().default(false),
    bandwidthLimit: textOr(),
    bandwidthLimitMode: textOr("client"),
  }).default({
    useEncryption: false,
    useCompression: false,
    bandwidthLimit: "",
    bandwidthLimitMode: "client",
  }),
  /** `groupKey` is HMAC-SHA256(the config's groupKey, ["group", group]), hex, or "". */
  loadBalancer: z.object({ group: textOr(), groupKey: textOr() }).default({
    group: "",
    groupKey: "",
  }),
  metadatas: stringMap().default({}),
  annotations: stringMap().default({}),
  /** tcp, udp. */
  remotePort: portNumber().default(0),
  /** http, https, tcpmux. */
  customDomains: z.array(z.string()).default([]),
  subdomain: textOr(),
  /** http. */
  locations: z.array(z.string()).default([]),
  /** http, tcpmux: the server checks them, so they travel. */
  httpUser: textOr(),
  httpPassword: textOr(),
  /** http. */
  hostHeaderRewrite: textOr(),
  requestHeaders: headerOps(),
  responseHeaders: headerOps(),
  /** http, tcpmux. */
  routeByHTTPUser: textOr(),
  /** stcp, sudp, xtcp: users whose visitors may connect ([] = the owner's user only). */
  allowUsers: z.array(z.string()).default([]),
  /** tcpmux. */
  multiplexer: textOr(),
});

/** The server's answer to a `NewProxy`. */
export const NewProxyRespSchema = z.object({
  type: z.literal("NewProxyResp"),
  proxyName: text(),
  /** Where users reach the proxy, e.g. ":6000" (empty on error). */
  remoteAddr: textOr(),
  error: textOr(),
});

/** The client withdraws a proxy. */
export const CloseProxySchema = z.object({
  type: z.literal("CloseProxy"),
  proxyName: text(),
});

/** The server wants one more pooled work connection (tcpMux off). */
export const ReqWorkConnSchema = z.object({ type: z.literal("ReqWorkConn") });

/** First message on a pooled work connection, after the server's hello. */
export const NewWorkConnSchema = z.object({
  type: z.literal("NewWorkConn"),
  runId: text(),
  /** HMAC-SHA256(token, work context), hex. */
  proof: text(),
  /** OIDC with `auth.additionalScopes` NewWorkConns: the client's access token. */
  accessToken: text().optional(),
});

/** Tells the client which proxy a work connection serves; raw bytes follow. */
export const StartWorkConnSchema = z.object({
  type: z.literal("StartWorkConn"),
  proxyName: text(),
  srcAddr: textOr(),
  srcPort: portNumber().default(0),
  dstAddr: textOr(),
  dstPort: portNumber().default(0),
  error: text().optional(),
  /** For stcp/sudp: the visiting client's user, checked against `allowUsers`. */
  visitorUser: text().optional(),
  /** For stcp/sudp: the server nonce the visitor's proof is bound to. */
  visitorNonce: text().optional(),
  /** For stcp/sudp: the visitor's HMAC under the proxy's `secretKey`, checked by the owner. */
  visitorProof: text().optional(),
});

/**
 * A visitor asks to reach a secret (stcp, sudp, xtcp) proxy. First frame of
 * a visitor stream (tcpMux on) or of a visitor connection after
 * `ServerHello` (tcpMux off); see docs/protocol.md, "Visitors".
 */
export const NewVisitorConnSchema = z.object({
  type: z.literal("NewVisitorConn"),
  /** The target proxy's name (the visitor's `serverName`). */
  proxyName: text(),
  /** The target proxy owner's user; empty means the visitor's own user. */
  serverUser: textOr(),
  /** The visitor's type; must match the proxy's. */
  visitorType: text(),
  /** HMAC-SHA256(secretKey, visitor context), hex: see docs/protocol.md. */
  proof: textOr(),
  /** tcpMux off: the run id of the visitor's logged-in client. */
  runId: text().optional(),
  /** tcpMux off: HMAC-SHA256(token, ["visitor-conn", nonce, runId]), hex. */
  authProof: text().optional(),
});

/**
 * The answer to `NewVisitorConn`: from the server when it refuses, otherwise
 * the owner client's verdict relayed by the server. Raw bytes follow an
 * empty `error`.
 */
export const NewVisitorConnRespSchema = z.object({
  type: z.literal("NewVisitorConnResp"),
  /** Empty when the visitor is accepted. */
  error: textOr(),
});

/**
 * xtcp, visitor → owner, on the visitor connection right after an accepting
 * `NewVisitorConnResp` (the server relays it): where the visitor's UDP
 * socket is reachable, and how its NAT maps. See docs/p2p.md.
 */
export const NatHoleVisitorSchema = z.object({
  type: z.literal("NatHoleVisitor"),
  /** The visitor's random session id, hex. */
  sid: text(),
  /** Candidate public addresses of the visitor's socket, "host:port" (STUN answers). */
  addrs: z.array(z.string()),
  /** "easy" (endpoint-independent mapping), "hard" or "unknown". */
  natType: text(),
  /** HMAC-SHA256(secretKey, ["xtcp-visitor", sid, addrs, natType]), hex. */
  mac: text(),
});

/**
 * xtcp, owner → visitor, the answer to `NatHoleVisitor`: the owner's
 * addresses and the certificate its QUIC endpoint will present. Both sides
 * start punching as soon as it is sent / received.
 */
export const NatHoleRespSchema = z.object({
  type: z.literal("NatHoleResp"),
  /** The visitor's session id, echoed. */
  sid: text(),
  /** The owner's random session id, hex. */
  ownerSid: text(),
  addrs: z.array(z.string()),
  natType: text(),
  /** PEM of the owner's self-signed QUIC certificate, pinned by the visitor. */
  cert: text(),
  /** Empty, or why the owner will not punch. */
  error: text(),
  /** HMAC-SHA256(secretKey, ["xtcp-owner", sid, ownerSid, addrs, natType, cert, error]), hex. */
  mac: text(),
});

/** Heartbeat from the client. */
export const PingSchema = z.object({
  type: z.literal("Ping"),
  /** OIDC with `auth.additionalScopes` HeartBeats: the client's access token. */
  accessToken: text().optional(),
});

/** Heartbeat answer from the server. */
export const PongSchema = z.object({ type: z.literal("Pong"), error: text().optional() });

/** Every message's schema, by its `type`. */
export const MESSAGE_SCHEMAS = {
  ServerHello: ServerHelloSchema,
  Login: LoginSchema,
  LoginResp: LoginRespSchema,
  NewProxy: NewProxySchema,
  NewProxyResp: NewProxyRespSchema,
  CloseProxy: CloseProxySchema,
  ReqWorkConn: ReqWorkConnSchema,
  NewWorkConn: NewWorkConnSchema,
  StartWorkConn: StartWorkConnSchema,
  NewVisitorConn: NewVisitorConnSchema,
  NewVisitorConnResp: NewVisitorConnRespSchema,
  NatHoleVisitor: NatHoleVisitorSchema,
  NatHoleResp: NatHoleRespSchema,
  Ping: PingSchema,
  Pong: PongSchema,
} as const;

type Schemas = typeof MESSAGE_SCHEMAS;

/** A message's `type` name. */
export type MessageType = keyof Schemas;

/** Every control message as a reader gets it (validated, defaults filled in). */
export type Message = { [T in MessageType]: z.output<Schemas[T]> }[MessageType];

/** Every control message as a writer may build it (fields with defaults may be left out). */
export type MessageInit = { [T in MessageType]: z.input<Schemas[T]> }[MessageType];

/** See {@linkcode ServerHelloSchema}. */
export type ServerHello = z.output<typeof ServerHelloSchema>;
/** See {@linkcode LoginSchema}. */
export type Login = z.output<typeof LoginSchema>;
/** See {@linkcode LoginRespSchema}. */
export type LoginResp = z.output<typeof LoginRespSchema>;
/** See {@linkcode NewProxySchema}. */
export type NewProxy = z.output<typeof NewProxySchema>;
/** What a writer builds a `NewProxy` from (fields with defaults may be left out). */
export type NewProxyInit = z.input<typeof NewProxySchema>;
/** See {@linkcode NewProxyRespSchema}. */
export type NewProxyResp = z.output<typeof NewProxyRespSchema>;
/** See {@linkcode CloseProxySchema}. */
export type CloseProxy = z.output<typeof CloseProxySchema>;
/** See {@linkcode ReqWorkConnSchema}. */
export type ReqWorkConn = z.output<typeof ReqWorkConnSchema>;
/** See {@linkcode NewWorkConnSchema}. */
export type NewWorkConn = z.output<typeof NewWorkConnSchema>;
/** See {@linkcode StartWorkConnSchema}. */
export type StartWorkConn = z.output<typeof StartWorkConnSchema>;
/** See {@linkcode NewVisitorConnSchema}. */
export type NewVisitorConn = z.output<typeof NewVisitorConnSchema>;
/** See {@linkcode NewVisitorConnRespSchema}. */
export type NewVisitorConnResp = z.output<typeof NewVisitorConnRespSchema>;
/** See {@linkcode NatHoleVisitorSchema}. */
export type NatHoleVisitor = z.output<typeof NatHoleVisitorSchema>;
/** See {@linkcode NatHoleRespSchema}. */
export type NatHoleResp = z.output<typeof NatHoleRespSchema>;
/** See {@linkcode PingSchema}. */
export type Ping = z.output<typeof PingSchema>;
/** See {@linkcode PongSchema}. */
export type Pong = z.output<typeof PongSchema>;

/** The `type` names, for validating what arrives. */
export const MESSAGE_TYPES: ReadonlySet<string> = new Set(Object.keys(MESSAGE_SCHEMAS));

/**
 * The fields of `NewProxy` each proxy type uses beyond the common ones
 * (`proxyName`, `proxyType`, `transport`, `loadBalancer`, `metadatas`,
 * `annotations`). A client sends only these; the server shows only these.
 */
export const NEW_PROXY_TYPE_FIELDS: Readonly<Record<string, readonly (keyof NewProxy)[]>> = {
  tcp: ["remotePort"],
  udp: ["remotePort"],
  http: [
    "customDomains",
    "subdomain",
    "locations",
    "httpUser",
    "httpPassword",
    "hostHeaderRewrite",
    "requestHeaders",
    "responseHeaders",
    "routeByHTTPUser",
  ],
  https: ["customDomains", "subdomain"],
  tcpmux: [
    "customDomains",
    "subdomain",
    "httpUser",
    "httpPassword",
    "routeByHTTPUser",
    "multiplexer",
  ],
  stcp: ["allowUsers"],
  sudp: ["allowUsers"],
  xtcp: ["allowUsers"],
};

/** A peer sent something that is not a valid control frame or message. */
export class ProtocolError extends Error {
  override name = "ProtocolError";

  /**
   * @param message what is wrong, safe to log (network text quoted and escaped)
   * @param messageType the frame's `type` when it names a known message, else undefined
   */
  constructor(message: string, readonly messageType?: MessageType) {
    super(message);
  }
}

function describe(issue: z.core.$ZodIssue): string {
  const path = issue.path.map((p) => typeof p === "number" ? `[${p}]` : `.${quoteKey(p)}`)
    .join("").replace(/^\./, "");
  const what = issue.message.replace(/^Invalid input: /, "");
  return path ? `${path}: ${what}` : what;
}

function quoteKey(key: PropertyKey): string {
  const s = String(key);
  return /^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(s) ? s : quote(s, 32);
}

/**
 * Validates a decoded JSON value as a control message. Throws
 * {@linkcode ProtocolError} naming the first wrong field and the type it
 * expected, e.g. `invalid Login message: version: expected number, received
 * string`.
 *
 * @example
 * ```ts
 * import { parseMessage } from "./messages.ts";
 * const msg = parseMessage({ type: "NewProxyResp", proxyName: "web" });
 * console.log(msg.type === "NewProxyResp" && msg.error); // ""
 * ```
 */
export function parseMessage(value: unknown): Message {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ProtocolError("frame is not a JSON object");
  }
  const type = (value as { type?: unknown }).type;
  if (typeof type !== "string" || !Object.hasOwn(MESSAGE_SCHEMAS, type)) {
    throw new ProtocolError(`frame is not a known message (type ${quote(type, 64)})`);
  }
  // The one message sent per tunneled connection skips zod when it is
  // well-formed; anything else goes through the schema for its error.
  if (type === "StartWorkConn") {
    const fast = fastStartWorkConn(value as Record<string, unknown>);
    if (fast) return fast;
  }
  const schema = MESSAGE_SCHEMAS[type as MessageType];
  const result = schema.safeParse(value);
  if (!result.success) {
    const issues = result.error.issues;
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : "";
    throw new ProtocolError(
      `invalid ${type} message: ${describe(issues[0])}${more}`,
      type as MessageType,
    );
  }
  return result.data as Message;
}

const START_WORK_CONN_TEXT = [
  "proxyName",
  "srcAddr",
  "dstAddr",
  "error",
  "visitorUser",
  "visitorNonce",
  "visitorProof",
] as const;

const isPort = (v: unknown) =>
  v === undefined || (typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 65535);

/**
 * {@linkcode StartWorkConnSchema} by hand, for the common frame: the same
 * output (defaults filled in, unknown fields dropped) when every field has
 * its schema's type, else null so that zod names the wrong field.
 * tests/typed_wire_test.ts checks that it agrees with the schema.
 *
 * @example
 * ```ts
 * import { fastStartWorkConn } from "./messages.ts";
 * fastStartWorkConn({ type: "StartWorkConn", proxyName: "ssh", srcPort: 5 });
 * ```
 */
export function fastStartWorkConn(v: Record<string, unknown>): StartWorkConn | null {
  if (v.type !== "StartWorkConn" || typeof v.proxyName !== "string") return null;
  for (const key of START_WORK_CONN_TEXT) {
    const f = v[key];
    if (f !== undefined && typeof f !== "string") return null;
  }
  const { srcPort, dstPort } = v;
  if (!isPort(srcPort) || !isPort(dstPort)) return null;
  const out: StartWorkConn = {
    type: "StartWorkConn",
    proxyName: v.proxyName,
    srcAddr: (v.srcAddr as string | undefined) ?? "",
    srcPort: (srcPort as number | undefined) ?? 0,
    dstAddr: (v.dstAddr as string | undefined) ?? "",
    dstPort: (dstPort as number | undefined) ?? 0,
  };
  if (v.error !== undefined) out.error = v.error as string;
  if (v.visitorUser !== undefined) out.visitorUser = v.visitorUser as string;
  if (v.visitorNonce !== undefined) out.visitorNonce = v.visitorNonce as string;
  if (v.visitorProof !== undefined) out.visitorProof = v.visitorProof as string;
  return out;
}
