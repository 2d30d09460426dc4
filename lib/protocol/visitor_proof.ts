/**
 * The visitor's proof for a secret (stcp, sudp) proxy: an HMAC under the
 * proxy's `secretKey` over a context bound to the server's fresh nonce, the
 * visitor's user and the target proxy. The server cannot check it (it never
 * learns the key); it hands it to the proxy's owner inside `StartWorkConn`.
 *
 * @example
 * ```ts
 * import { proveVisitor, verifyVisitor } from "./visitor_proof.ts";
 * const target = { nonce: "ab", visitorUser: "bob", serverUser: "alice", proxyName: "db" };
 * const proof = await proveVisitor("key", target);
 * console.log(await verifyVisitor("key", target, proof)); // true
 * ```
 *
 * @module
 */

import { prove, verifyProof } from "./auth.ts";

/** What a visitor's proof is bound to. */
export interface VisitorProofContext {
  /** The server's fresh nonce for this visitor connection. */
  nonce: string;
  /** The user of the visiting client. */
  visitorUser: string;
  /** The user of the proxy's owner. */
  serverUser: string;
  /** The proxy's name. */
  proxyName: string;
}

function parts(c: VisitorProofContext): string[] {
  return ["visitor", c.nonce, c.visitorUser, c.serverUser, c.proxyName];
}

/**
 * The visitor's proof, hex.
 *
 * @example
 * ```ts
 * import { proveVisitor } from "./visitor_proof.ts";
 * const proof = await proveVisitor("key", {
 *   nonce: "ab",
 *   visitorUser: "",
 *   serverUser: "",
 *   proxyName: "db",
 * });
 * ```
 */
export function proveVisitor(secretKey: string, context: VisitorProofContext): Promise<string> {
  return prove(secretKey, parts(context));
}

/**
 * Checks a visitor's proof in constant time.
 *
 * @example
 * ```ts
 * import { verifyVisitor } from "./visitor_proof.ts";
 * const ok = await verifyVisitor("key", {
 *   nonce: "ab",
 *   visitorUser: "",
 *   serverUser: "",
 *   proxyName: "db",
 * }, "00");
 * ```
 */
export function verifyVisitor(
  secretKey: string,
  context: VisitorProofContext,
  proof: unknown,
): Promise<boolean> {
  return verifyProof(secretKey, parts(context), proof);
}

/**
 * Whether `user` may visit a proxy owned by `owner` with these `allowUsers`
 * (empty: the owner's own user only; `"*"`: anyone), as frp decides.
 *
 * @example
 * ```ts
 * import { visitorAllowed } from "./visitor_proof.ts";
 * visitorAllowed([], "alice", "alice"); // true
 * visitorAllowed(["*"], "alice", "bob"); // true
 * ```
 */
export function visitorAllowed(allowUsers: unknown, owner: string, user: string): boolean {
  const list = Array.isArray(allowUsers) && allowUsers.length > 0 ? allowUsers : [owner];
  return list.includes("*") || list.includes(user);
}
