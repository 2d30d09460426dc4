/**
 * Self-signed certificates made with Web Crypto and a few lines of DER, no
 * dependency: the server's identity when no `transport.tls.certFile` is
 * configured (frp makes one too), a cluster node's peer-link certificate,
 * and the owner's throwaway certificate for an xtcp QUIC tunnel. ECDSA P-256:
 * quick to make and to use. X.509 v3, marked `CA:FALSE` (rustls refuses a CA
 * certificate as an end entity), with the name as its DNS subject
 * alternative name.
 *
 * @example
 * ```ts
 * import { selfSignedCert } from "./self_signed.ts";
 * const { cert, key } = await selfSignedCert("dfrp");
 * console.log(cert.startsWith("-----BEGIN CERTIFICATE-----"));
 * ```
 *
 * @module
 */

/** A PEM certificate and its PEM (PKCS#8) key. */
export interface CertPair {
  cert: string;
  key: string;
}

/** Options of {@linkcode selfSignedCert}. */
export interface SelfSignedOptions {
  /** Days of validity from now (it also starts a day early, for clock skew). Default 3650. */
  days?: number;
  /**
   * Marks it for server authentication only (key usage and extended key
   * usage), as a TLS server's certificate. Default true; an xtcp tunnel's
   * certificate, pinned by its peer, carries neither.
   */
  serverAuth?: boolean;
}

function der(tag: number, ...parts: Uint8Array[]): Uint8Array {
  const len = parts.reduce((n, p) => n + p.length, 0);
  const head = len < 0x80
    ? [tag, len]
    : len < 0x100
    ? [tag, 0x81, len]
    : [tag, 0x82, len >> 8, len & 0xff];
  const out = new Uint8Array(head.length + len);
  out.set(head);
  let off = head.length;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

const seq = (...parts: Uint8Array[]) => der(0x30, ...parts);
const bytes = (...b: number[]) => new Uint8Array(b);
const utf8 = (s: string) => new TextEncoder().encode(s);
const critical = der(0x01, bytes(0xff));

function oid(dotted: string): Uint8Array {
  const [a, b, ...rest] = dotted.split(".").map(Number);
  const body = [a * 40 + b];
  for (const n of rest) {
    const groups = [n & 0x7f];
    for (let v = n >>> 7; v > 0; v >>>= 7) groups.unshift((v & 0x7f) | 0x80);
    body.push(...groups);
  }
  return der(0x06, new Uint8Array(body));
}

/** A DER INTEGER from big-endian unsigned bytes (leading zeros trimmed, sign byte added). */
function integer(raw: Uint8Array): Uint8Array {
  let i = 0;
  while (i < raw.length - 1 && raw[i] === 0) i++;
  const v = raw.subarray(i);
  return der(0x02, v[0] & 0x80 ? new Uint8Array([0, ...v]) : v);
}

/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050. */
function time(d: Date): Uint8Array {
  const p = (n: number) => String(n).padStart(2, "0");
  const year = d.getUTCFullYear();
  const rest = `${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}` +
    `${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  return year < 2050 ? der(0x17, utf8(p(year % 100) + rest)) : der(0x18, utf8(year + rest));
}

function pem(label: string, data: Uint8Array): string {
  let bin = "";
  for (const b of data) bin += String.fromCharCode(b);
  const lines = btoa(bin).match(/.{1,64}/g)!.join("\n");
  return `-----BEGIN ${label}-----\n${lines}\n-----END ${label}-----\n`;
}

/**
 * Makes a certificate for `commonName` (also its DNS name) and its key.
 *
 * @example
 * ```ts
 * import { selfSignedCert } from "./self_signed.ts";
 * const server = await selfSignedCert("localhost");
 * const tunnel = await selfSignedCert("dfrp-xtcp", { days: 365, serverAuth: false });
 * ```
 */
export async function selfSignedCert(
  commonName: string,
  opts: SelfSignedOptions = {},
): Promise<CertPair> {
  const days = opts.days ?? 3650;
  const keys = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ]);
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", keys.publicKey));
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", keys.privateKey));
  const ecdsaSha256 = seq(oid("1.2.840.10045.4.3.2"));
  const dn = seq(der(0x31, seq(oid("2.5.4.3"), der(0x0c, utf8(commonName)))));
  const now = Date.now();
  const serial = crypto.getRandomValues(new Uint8Array(16));
  serial[0] &= 0x7f;
  const extensions = [
    // basicConstraints, critical, CA:FALSE.
    seq(oid("2.5.29.19"), critical, der(0x04, seq())),
    // subjectAltName: dNSName.
    seq(oid("2.5.29.17"), der(0x04, seq(der(0x82, utf8(commonName))))),
  ];
  if (opts.serverAuth ?? true) {
    // keyUsage, critical: digitalSignature (bit 0 of a one-byte BIT STRING, 7 unused bits).
    extensions.push(seq(oid("2.5.29.15"), critical, der(0x04, der(0x03, bytes(0x07, 0x80)))));
    // extKeyUsage: serverAuth.
    extensions.push(seq(oid("2.5.29.37"), der(0x04, seq(oid("1.3.6.1.5.5.7.3.1")))));
  }
  const tbs = seq(
    der(0xa0, der(0x02, bytes(2))), // v3
    integer(serial),
    ecdsaSha256,
    dn,
    seq(time(new Date(now - 86400_000)), time(new Date(now + days * 86400_000))),
    dn,
    spki,
    der(0xa3, seq(...extensions)),
  );
  const sig = new Uint8Array(
    await crypto.subtle.sign(
      { name: "ECDSA", hash: "SHA-256" },
      keys.privateKey,
      tbs as Uint8Array<ArrayBuffer>,
    ),
  );
  // Web Crypto gives r || s; X.509 wants SEQUENCE { INTEGER r, INTEGER s }.
  const sigDer = seq(integer(sig.subarray(0, 32)), integer(sig.subarray(32)));
  const cert = seq(tbs, ecdsaSha256, der(0x03, new Uint8Array([0, ...sigDer])));
  return { cert: pem("CERTIFICATE", cert), key: pem("PRIVATE KEY", pkcs8) };
}
