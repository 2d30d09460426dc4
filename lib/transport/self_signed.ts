/**
 * A self-signed certificate made in memory at server start-up, for TLS when
 * no `transport.tls.certFile` is configured (frp does the same). ECDSA P-256:
 * quick to make and to use. Marked `CA:FALSE` because rustls refuses a CA
 * certificate used as a server certificate.
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

import selfsigned from "selfsigned";

/** A PEM certificate and its PEM (PKCS#8) key. */
export interface CertPair {
  cert: string;
  key: string;
}

/**
 * Makes a certificate for `commonName` (also its DNS name), valid from an
 * hour ago (clock skew) for ten years.
 *
 * @example
 * ```ts
 * import { selfSignedCert } from "./self_signed.ts";
 * const pair = await selfSignedCert("localhost");
 * ```
 */
export async function selfSignedCert(commonName: string): Promise<CertPair> {
  const now = Date.now();
  const pems = await selfsigned.generate([{ name: "commonName", value: commonName }], {
    keyType: "ec",
    curve: "P-256",
    algorithm: "sha256",
    notBeforeDate: new Date(now - 3600_000),
    notAfterDate: new Date(now + 10 * 365 * 86400_000),
    extensions: [
      { name: "basicConstraints", cA: false, critical: true },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
      { name: "extKeyUsage", serverAuth: true },
      { name: "subjectAltName", altNames: [{ type: 2, value: commonName }] },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}
