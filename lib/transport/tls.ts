/**
 * TLS for the connection between client and server (control and work
 * connections), over `node:tls` because Deno's own TLS can neither verify
 * client certificates (mutual TLS) nor skip server verification per
 * connection, which frp's defaults need.
 *
 * The server runs TLS on a connection it already accepted and peeked (the
 * first byte of a ClientHello is 0x16), so plain and TLS clients share
 * `bindPort`. The client runs TLS over whatever the lower transport gave it
 * (TCP, a proxy tunnel, a WebSocket).
 *
 * Errors are rewritten into sentences a user can act on, e.g.
 * "TLS handshake with the server failed: certificate signed by an unknown
 * authority".
 *
 * @example
 * ```ts
 * import { clientTls } from "./tls.ts";
 * import { dialTcp } from "../net/tcp_conn.ts";
 * const raw = await dialTcp("127.0.0.1", 7000, 5000);
 * const conn = await clientTls(raw, { serverName: "127.0.0.1" });
 * ```
 *
 * @module
 */

import { X509Certificate } from "node:crypto";
import tls from "node:tls";
import { derFingerprint } from "./fingerprint.ts";
import { NodeSocketConn, toNodeStream } from "./node_socket_conn.ts";
import type { TransportConn } from "./transport.ts";

/** The first byte of a TLS handshake record (a ClientHello). */
export const TLS_HANDSHAKE_BYTE = 0x16;

/** The server's certificate and, for mutual TLS, the CA its clients must be signed by. */
export interface ServerTlsOptions {
  /** PEM certificate chain. */
  cert: string;
  /** PEM private key. */
  key: string;
  /** PEM CA bundle; when set, clients must present a certificate it signed. */
  ca?: string;
}

/** What the client verifies and presents. */
export interface ClientTlsOptions {
  /** Name sent as SNI and checked against the certificate (when verifying). */
  serverName: string;
  /** PEM CA bundle; when set the server's certificate is verified, else not (like frp). */
  ca?: string;
  /** PEM client certificate, for a server that requires one. */
  cert?: string;
  /** PEM key of `cert`. */
  key?: string;
}

/**
 * Turns a handshake error into what a user should read.
 *
 * @example
 * ```ts
 * import { describeTlsError } from "./tls.ts";
 * describeTlsError(new Error("invalid peer certificate: UnknownIssuer"));
 * // "certificate signed by an unknown authority (invalid peer certificate: UnknownIssuer)"
 * ```
 */
export function describeTlsError(err: unknown): string {
  const raw = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: string })?.code ?? "";
  const hints: Array<[RegExp, string]> = [
    [
      /UnknownIssuer|unable to verify|self.signed|UNABLE_TO_VERIFY|SELF_SIGNED|unknown ca|UnknownCA/i,
      "certificate signed by an unknown authority",
    ],
    [
      /NotValidForName|not valid for name|altnames|Hostname\/IP does not match|ERR_TLS_CERT_ALTNAME/i,
      "certificate is not valid for the server name",
    ],
    [/Expired|CERT_HAS_EXPIRED/i, "certificate has expired"],
    [
      /NoCertificatesPresented|peer did not return a certificate|certificate required|CertificateRequired/i,
      "the server requires a client certificate (set transport.tls.certFile and keyFile)",
    ],
    [/BadCertificate|bad certificate/i, "the peer rejected the certificate"],
    [
      /wrong version number|WRONG_VERSION|CorruptMessage|InvalidContentType|not a TLS/i,
      "the peer does not speak TLS",
    ],
    [
      /ECONNRESET|reset|socket hang up|closed|EOF/i,
      "the connection was closed during the handshake",
    ],
  ];
  const text = `${raw} ${code}`;
  for (const [re, hint] of hints) if (re.test(text)) return `${hint} (${raw})`;
  return raw;
}

function handshake(socket: tls.TLSSocket, event: "secure" | "secureConnect"): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const onClose = () => {
      cleanup();
      reject(new Error("connection closed during the TLS handshake"));
    };
    const onSecure = () => {
      cleanup();
      resolve();
    };
    const cleanup = () => {
      socket.removeListener("error", onError);
      socket.removeListener("close", onClose);
      socket.removeListener(event, onSecure);
    };
    socket.once("error", onError);
    socket.once("close", onClose);
    socket.once(event, onSecure);
  });
}

/**
 * Server side: runs the TLS handshake on an accepted connection (its peeked
 * bytes replayed) and yields the decrypted connection.
 *
 * @example
 * ```ts
 * import { serverTls } from "./tls.ts";
 * import type { TransportConn } from "./transport.ts";
 * declare const raw: TransportConn;
 * declare const cert: string, key: string;
 * const conn = await serverTls(raw, { cert, key });
 * ```
 */
export async function serverTls(
  conn: TransportConn,
  opts: ServerTlsOptions,
): Promise<TransportConn> {
  const mutual = opts.ca !== undefined && opts.ca !== "";
  const raw = toNodeStream(conn);
  const socket = new tls.TLSSocket(raw as any, {
    isServer: true,
    cert: opts.cert,
    key: opts.key,
    requestCert: mutual,
    rejectUnauthorized: mutual,
    ...(mutual ? { ca: opts.ca } : {}),
  });
  // Listen for data before the handshake ends: a client may send right after it.
  const wrapped = new NodeSocketConn(socket as any, conn.remoteAddr, undefined, raw.flow);
  try {
    await handshake(socket, "secure");
  } catch (err) {
    socket.destroy();
    conn.close();
    throw new Error(`TLS handshake failed: ${describeTlsError(err)}`);
  }
  if (mutual) {
    // Deno's node:tls demands a client certificate but does not check who
    // signed it when the TLSSocket is made by hand: check the chain here.
    const refused = checkClientChain(socket.getPeerCertificate(true), opts.ca!);
    if (refused) {
      socket.destroy();
      conn.close();
      throw new Error(`TLS handshake failed: client certificate refused: ${refused}`);
    }
  }
  return wrapped;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Why `peer`'s chain does not lead to a CA in `caBundle`, or null when it does. */
function checkClientChain(peer: tls.DetailedPeerCertificate, caBundle: string): string | null {
  if (!peer?.raw) return "no certificate presented";
  const cas = (caBundle.match(PEM_CERT) ?? []).map((pem) => new X509Certificate(pem));
  const now = Date.now();
  let node: tls.DetailedPeerCertificate | undefined = peer;
  for (let depth = 0; node?.raw && depth < 8; depth++) {
    const cert = new X509Certificate(node.raw);
    if (now < Date.parse(cert.validFrom) || now > Date.parse(cert.validTo)) {
      return `certificate ${cert.subject.replace(/\n/g, ", ")} is expired or not yet valid`;
    }
    if (cas.some((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey))) return null;
    const up: tls.DetailedPeerCertificate | undefined = node.issuerCertificate;
    if (!up?.raw || up === node || up.raw.equals(node.raw)) break;
    const issuer = new X509Certificate(up.raw);
    if (!issuer.ca || !cert.checkIssued(issuer) || !cert.verify(issuer.publicKey)) break;
    node = up;
  }
  return "signed by an unknown authority";
}

/**
 * Client side: runs TLS over `conn` (already connected to the server, through
 * any tunnel) and yields the encrypted connection, with the SHA-256
 * fingerprint of the certificate the server showed (`serverFingerprint`,
 * "" if it showed none) for the caller to check and bind the login to.
 *
 * @example
 * ```ts
 * import { clientTls } from "./tls.ts";
 * import { dialTcp } from "../net/tcp_conn.ts";
 * const conn = await clientTls(await dialTcp("127.0.0.1", 7000, 5000), { serverName: "localhost" });
 * ```
 */
export async function clientTls(
  conn: TransportConn,
  opts: ClientTlsOptions,
): Promise<TransportConn & { serverFingerprint: string }> {
  const verify = opts.ca !== undefined && opts.ca !== "";
  const isIp = /^[\d.]+$|:/.test(opts.serverName);
  const raw = toNodeStream(conn);
  const socket = tls.connect({
    socket: raw as any,
    // SNI must be a host name; an IP address is only checked against the certificate.
    ...(isIp || opts.serverName === "" ? {} : { servername: opts.serverName }),
    rejectUnauthorized: verify,
    ...(verify ? { ca: opts.ca } : {}),
    ...(opts.cert ? { cert: opts.cert, key: opts.key } : {}),
    checkServerIdentity: (_host: string, cert: tls.PeerCertificate) =>
      verify ? tls.checkServerIdentity(opts.serverName, cert) : undefined,
  });
  const wrapped = new NodeSocketConn(
    socket as any,
    conn.remoteAddr,
    () =>
      new Error(
        "TLS handshake with the server failed: the server closed the connection; it requires a " +
          "client certificate signed by its CA (transport.tls.certFile / keyFile)" +
          (opts.cert ? " and refused ours" : ""),
      ),
    raw.flow,
  );
  try {
    await handshake(socket, "secureConnect");
  } catch (err) {
    socket.destroy();
    conn.close();
    throw new Error(`TLS handshake with the server failed: ${describeTlsError(err)}`);
  }
  const peer = socket.getPeerCertificate();
  return Object.assign(wrapped, { serverFingerprint: peer?.raw ? derFingerprint(peer.raw) : "" });
}
