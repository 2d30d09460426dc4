/**
 * The owner's throwaway certificate for its QUIC tunnel endpoint: ECDSA
 * P-256, self-signed, made with Web Crypto and a few lines of DER — no
 * dependency. The visitor pins exactly this certificate (its PEM travels in
 * the signed `NatHoleResp`), so no CA is involved; the certificate only has
 * to satisfy rustls: X.509 v3, `CA:FALSE`, and a DNS name matching the
 * `serverName` the visitor asks for.
 *
 * @example
 * ```ts
 * import { makeTunnelCert } from "./tunnel_cert.ts";
 * const { cert, key } = await makeTunnelCert("dfrp-xtcp");
 * console.log(cert.startsWith("-----BEGIN CERTIFICATE-----"));
 * ```
 *
 * @module
 */

/** A PEM certificate and its PEM (PKCS#8) private key. */
export interface TunnelCert {
  cert: string;
  key: string;
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

function time(d: Date): Uint8Array {
  const p = (n: number) => String(n).padStart(2, "0");
  const text = `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}` +
    `${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  return der(0x18, utf8(text)); // GeneralizedTime
}

function pem(label: string, data: Uint8Array): string {
  let bin = "";
  for (const b of data) bin += String.fromCharCode(b);
  const lines = btoa(bin).match(/.{1,64}/g)!.join("\n");
  return `-----BEGIN ${label}-----\n${lines}\n-----END ${label}-----\n`;
}

/**
 * Makes a certificate for DNS name `name`, valid from a day ago (clock skew
 * between the peers) for a year.
 *
 * @example
 * ```ts
 * import { makeTunnelCert } from "./tunnel_cert.ts";
 * const pair = await makeTunnelCert("dfrp-xtcp");
 * ```
 */
export async function makeTunnelCert(name: string): Promise<TunnelCert> {
  const keys = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ]);
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", keys.publicKey));
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", keys.privateKey));
  const ecdsaSha256 = seq(oid("1.2.840.10045.4.3.2"));
  const dn = seq(der(0x31, seq(oid("2.5.4.3"), der(0x0c, utf8(name)))));
  const now = Date.now();
  const serial = crypto.getRandomValues(new Uint8Array(16));
  serial[0] &= 0x7f;
  const extensions = der(
    0xa3,
    seq(
      // basicConstraints, critical, CA:FALSE (rustls refuses a CA as end entity).
      seq(oid("2.5.29.19"), der(0x01, bytes(0xff)), der(0x04, seq())),
      // subjectAltName: dNSName.
      seq(oid("2.5.29.17"), der(0x04, seq(der(0x82, utf8(name))))),
    ),
  );
  const tbs = seq(
    der(0xa0, der(0x02, bytes(2))), // v3
    integer(serial),
    ecdsaSha256,
    dn,
    seq(time(new Date(now - 86400_000)), time(new Date(now + 365 * 86400_000))),
    dn,
    spki,
    extensions,
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
