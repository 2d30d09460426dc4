/**
 * Load-balancing groups in the routing table (docs/cluster.md). A group's
 * route key (`tcp:<port>`, or an http/https/tcpmux vhost key) holds the
 * group's record: its name, its creator's user and its `groupKey`'s digest.
 * Each member has its own leased key under the group's member prefix
 * (`tcpmember:<port>:` or `vhostmember:<route>:`), followed by its node,
 * client and proxy. `GROUP_JOIN_LUA` and `GROUP_LEAVE_LUA` (`keys.ts`) join
 * and leave atomically.
 *
 * @example
 * ```ts
 * import { groupMemberKey, memberPattern, memberPrefix } from "./route_groups.ts";
 * const prefix = memberPrefix("vhostmember", "http:*.example.com::");
 * groupMemberKey(prefix, "node-1", "0123abcd", "web"); // "dfrp:route:vhostmember:http:*.example.com:::node-1:0123abcd:web"
 * memberPattern(prefix); // the same prefix with the "*" escaped, then "*"
 * ```
 *
 * @module
 */

import { ROUTE_PREFIX } from "./keys.ts";

/**
 * The record kinds of a group's route key.
 *
 * @example
 * ```ts
 * import { GROUP_KINDS } from "./route_groups.ts";
 * GROUP_KINDS.has("vhostgroup"); // true
 * ```
 */
export const GROUP_KINDS: ReadonlySet<string> = new Set(["tcpgroup", "vhostgroup"]);

/**
 * The prefix of every member key of the group on route `id` (a port for
 * `tcpmember`, a vhost route key for `vhostmember`).
 *
 * @example
 * ```ts
 * import { memberPrefix } from "./route_groups.ts";
 * memberPrefix("tcpmember", 6000); // "dfrp:route:tcpmember:6000:"
 * ```
 */
export function memberPrefix(kind: "tcpmember" | "vhostmember", id: string | number): string {
  return `${ROUTE_PREFIX}${kind}:${id}:`;
}

/**
 * One member's key under `prefix`.
 *
 * @example
 * ```ts
 * import { groupMemberKey, memberPrefix } from "./route_groups.ts";
 * groupMemberKey(memberPrefix("tcpmember", 6000), "node-1", "0123abcd", "web");
 * ```
 */
export function groupMemberKey(
  prefix: string,
  node: string,
  clientId: string,
  proxy: string,
): string {
  return `${prefix}${node}:${clientId}:${proxy}`;
}

/**
 * A Redis `KEYS` pattern matching exactly the member keys under `prefix`:
 * glob characters in it (a wildcard domain's `*`) are escaped, so another
 * route's members never keep this group's key alive.
 *
 * @example
 * ```ts
 * import { memberPattern } from "./route_groups.ts";
 * memberPattern("dfrp:route:vhostmember:https:*.example.com:::"); // "...:https:\\*.example.com:::*"
 * ```
 */
export function memberPattern(prefix: string): string {
  return prefix.replace(/[\\*?[\]]/g, (c) => `\\${c}`) + "*";
}

/**
 * The refusal for a join that `GROUP_JOIN_LUA` answered with "USER" or
 * "KEY"; `undefined` for any other answer (joined, or a plain route holds
 * the key).
 *
 * @example
 * ```ts
 * import { groupRefusal } from "./route_groups.ts";
 * groupRefusal("web", "KEY")?.message; // "group [web] groupKey does not match"
 * ```
 */
export function groupRefusal(group: string, holder: string | null): Error | undefined {
  if (holder === "USER") return new Error(`group [${group}] belongs to another user`);
  if (holder === "KEY") return new Error(`group [${group}] groupKey does not match`);
  return undefined;
}
