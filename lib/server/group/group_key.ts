/**
 * A load-balancing group's `groupKey` as the cluster's routing table keeps
 * it: its SHA-256 in hex. Members compare digests, so the key itself never
 * leaves the node its client sent it to.
 *
 * @example
 * ```ts
 * import { groupKeyDigest } from "./group_key.ts";
 * console.log(await groupKeyDigest("k")); // 64 hex digits
 * ```
 *
 * @module
 */

/**
 * The SHA-256 of `groupKey`, in lower-case hex.
 *
 * @example
 * ```ts
 * import { groupKeyDigest } from "./group_key.ts";
 * const same = (await groupKeyDigest("a")) === (await groupKeyDigest("a")); // true
 * ```
 */
export async function groupKeyDigest(groupKey: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(groupKey));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}
