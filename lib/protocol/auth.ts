/**
 * Token proofs. The token itself never crosses the wire: each side proves it
 * knows it with an HMAC over a context that includes the server's fresh
 * per-connection nonce, so a captured proof is useless on any other
 * connection (frp's md5(token + timestamp) can be replayed; this cannot).
 *
 * Over TLS, the login proofs of both sides also cover the SHA-256
 * fingerprint of the certificate the client received
 * ({@linkcode boundToTls}): a relay that terminates TLS with its own
 * certificate makes the client prove knowledge of the token for the relay's
 * certificate, which the real server (which knows its own) refuses.
 *
 * @example
 * ```ts
 * import { prove, verifyProof } from "./auth.ts";
 * const proof = await prove("secret", ["login", "nonce-a", "nonce-b"]);
 * console.log(await verifyProof("secret", ["login", "nonce-a", "nonce-b"], proof)); // true
 * ```
 *
 * @module
 */

const encoder = new TextEncoder();
const keys = new Map<string, Promise<CryptoKey>>();

function hmacKey(token: string): Promise<CryptoKey> {
  let key = keys.get(token);
  if (!key) {
    key = crypto.subtle.importKey(
      "raw",
      // Prefixed so an empty token (frp's default) is still a valid HMAC key.
      encoder.encode(`dfrp-auth\n${token}`),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign", "verify"],
    );
    keys.set(token, key);
  }
  return key;
}

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function fromHex(hex: string): Uint8Array<ArrayBuffer> | null {
  if (!/^(?:[0-9a-f]{2})*$/.test(hex)) return null;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

// Fields are joined with a separator that cannot occur in them, so two
// different contexts never hash the same bytes.
function context(parts: readonly string[]): Uint8Array<ArrayBuffer> {
  return encoder.encode(parts.map((p) => p.replaceAll("\n", " ")).join("\n"));
}

/**
 * Returns `count` random bytes as hex.
 *
 * @example
 * ```ts
 * import { randomHex } from "./auth.ts";
 * const nonce = randomHex(32);
 * ```
 */
export function randomHex(count: number): string {
  return toHex(crypto.getRandomValues(new Uint8Array(count)));
}

/**
 * HMAC-SHA256 of the context under the token, as hex.
 *
 * @example
 * ```ts
 * import { prove } from "./auth.ts";
 * const proof = await prove("secret", ["work", "nonce", "run-id"]);
 * ```
 */
export async function prove(token: string, parts: readonly string[]): Promise<string> {
  const sig = await crypto.subtle.sign("HMAC", await hmacKey(token), context(parts));
  return toHex(new Uint8Array(sig));
}

/**
 * Checks a proof in constant time (Web Crypto's `verify`).
 *
 * @example
 * ```ts
 * import { verifyProof } from "./auth.ts";
 * const ok = await verifyProof("secret", ["work", "n", "r"], "00");
 * ```
 */
export async function verifyProof(
  token: string,
  parts: readonly string[],
  proof: unknown,
): Promise<boolean> {
  if (typeof proof !== "string") return false;
  const sig = fromHex(proof);
  if (sig === null || sig.length !== 32) return false;
  return await crypto.subtle.verify("HMAC", await hmacKey(token), sig, context(parts));
}

/**
 * A proof context bound to the TLS certificate the client saw: `parts` plus
 * its fingerprint, or `parts` unchanged without one (plain TCP, or a server
 * verified by a CA), so such logins keep their proof.
 *
 * @example
 * ```ts
 * import { boundToTls, prove } from "./auth.ts";
 * const proof = await prove("secret", boundToTls(["login", "n1", "n2"], "AB:CD:..."));
 * ```
 */
export function boundToTls(parts: readonly string[], tlsFingerprint: string): string[] {
  return tlsFingerprint === "" ? [...parts] : [...parts, "tls", tlsFingerprint];
}
