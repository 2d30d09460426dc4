/**
 * Resuming a run id after a reconnect. Both ends derive a per-login resume
 * key from the token and the two nonces of that login; it never travels. To
 * keep its run id on the next login, the client proves the key for the new
 * server nonce. Only the client that made the original login knows the nonce
 * pair together with the token, so another user (who lacks the token) or
 * another client of the same user (who lacks the nonces) gets a fresh run id
 * instead of taking over the client. See docs/auth.md, "Tenants".
 *
 * @example
 * ```ts
 * import { proveResume, resumeKey, verifyResume } from "./resume.ts";
 * const key = await resumeKey("token", "client-nonce", "server-nonce", "0123456789abcdef");
 * const proof = await proveResume(key, "next-server-nonce", "0123456789abcdef");
 * await verifyResume(key, "next-server-nonce", "0123456789abcdef", proof); // true
 * ```
 *
 * @module
 */

import { prove, verifyProof } from "./auth.ts";

/**
 * The resume key of one login: HMAC-SHA256(token, ["resume-key", clientNonce, serverNonce, runId]), hex.
 *
 * @example
 * ```ts
 * import { resumeKey } from "./resume.ts";
 * const key = await resumeKey("token", "cn", "sn", "0123456789abcdef");
 * ```
 */
export function resumeKey(
  token: string,
  clientNonce: string,
  serverNonce: string,
  runId: string,
): Promise<string> {
  return prove(token, ["resume-key", clientNonce, serverNonce, runId]);
}

/**
 * The proof a `Login` carries (`resumeProof`) to keep `runId`, bound to this
 * login's server nonce.
 *
 * @example
 * ```ts
 * import { proveResume } from "./resume.ts";
 * const proof = await proveResume("00ff", "server-nonce", "0123456789abcdef");
 * ```
 */
export function proveResume(key: string, serverNonce: string, runId: string): Promise<string> {
  return prove(key, ["resume", serverNonce, runId]);
}

/**
 * Whether `proof` was made by {@linkcode proveResume} with `key` (constant time).
 *
 * @example
 * ```ts
 * import { verifyResume } from "./resume.ts";
 * await verifyResume("00ff", "server-nonce", "0123456789abcdef", "00"); // false
 * ```
 */
export function verifyResume(
  key: string,
  serverNonce: string,
  runId: string,
  proof: unknown,
): Promise<boolean> {
  return verifyProof(key, ["resume", serverNonce, runId], proof);
}
