/**
 * The owner's throwaway certificate for its QUIC tunnel endpoint, made by
 * the one certificate maker (`lib/transport/self_signed.ts`). The visitor
 * pins exactly this certificate (its PEM travels in the signed
 * `NatHoleResp`), so no CA is involved; it only has to satisfy rustls: X.509
 * v3, `CA:FALSE`, and a DNS name matching the `serverName` the visitor asks
 * for.
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

import { type CertPair, selfSignedCert } from "../transport/self_signed.ts";

/** A PEM certificate and its PEM (PKCS#8) private key. */
export type TunnelCert = CertPair;

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
export function makeTunnelCert(name: string): Promise<TunnelCert> {
  return selfSignedCert(name, { days: 365, serverAuth: false });
}
