/**
 * Certificate fingerprints: the SHA-256 of a certificate's DER bytes, written
 * as OpenSSL prints it (`openssl x509 -noout -fingerprint -sha256`): 32
 * upper-case hex bytes joined by colons. A server's fingerprint is its
 * identity (docs/auth.md, "Server identity").
 *
 * @example
 * ```ts
 * import { normalizeFingerprint } from "./fingerprint.ts";
 * normalizeFingerprint("sha256:" + "ab".repeat(32)); // "AB:AB:...:AB"
 * ```
 *
 * @module
 */

import { createHash, X509Certificate } from "node:crypto";

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/;

/**
 * The fingerprint of a certificate given as DER bytes.
 *
 * @example
 * ```ts
 * import { derFingerprint } from "./fingerprint.ts";
 * declare const der: Uint8Array;
 * console.log(derFingerprint(der)); // "3F:A0:..."
 * ```
 */
export function derFingerprint(der: Uint8Array): string {
  const hex = createHash("sha256").update(der).digest("hex").toUpperCase();
  return hex.match(/../g)!.join(":");
}

const pemCache = new Map<string, string>();

/**
 * The fingerprint of the first certificate in a PEM bundle (the leaf of a
 * chain), as `openssl x509 -fingerprint -sha256` prints it for that file.
 *
 * @example
 * ```ts
 * import { pemFingerprint } from "./fingerprint.ts";
 * const fp = pemFingerprint(Deno.readTextFileSync("server.crt"));
 * ```
 */
export function pemFingerprint(pem: string): string {
  let fp = pemCache.get(pem);
  if (fp === undefined) {
    const first = pem.match(PEM_CERT);
    if (!first) throw new Error("no PEM certificate found");
    fp = new X509Certificate(first[0]).fingerprint256.toUpperCase();
    if (pemCache.size > 16) pemCache.clear();
    pemCache.set(pem, fp);
  }
  return fp;
}

/**
 * A fingerprint as a user may write it (any case, with or without colons,
 * an optional `SHA256:` / `sha256//` prefix) in the canonical form, or null
 * when it is not 32 hex bytes.
 *
 * @example
 * ```ts
 * import { normalizeFingerprint } from "./fingerprint.ts";
 * normalizeFingerprint("not a fingerprint"); // null
 * ```
 */
export function normalizeFingerprint(text: string): string | null {
  const hex = text.trim().replace(/^sha-?256[:/]*/i, "").replace(/[\s:]/g, "");
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) return null;
  return hex.toUpperCase().match(/../g)!.join(":");
}
