/**
 * A node takes its `nodeName` in one atomic step at start: the node key is
 * set unless a node at another `advertiseAddr` holds it, so two nodes started
 * at once with one name cannot both come up (a check followed by a later
 * write could let both through).
 *
 * @example
 * ```ts
 * import { claimNodeName } from "./node_name.ts";
 * import type { Redis } from "./redis.ts";
 * declare const redis: Redis;
 * const holder = await claimNodeName(redis, "dfrp:node:fra-1", '{"peer":"10.0.0.1:7001"}', "10.0.0.1:7001");
 * if (holder) console.log(`taken by the node at ${holder}`);
 * ```
 *
 * @module
 */

import { LEASE_MS } from "./keys.ts";
import type { Redis } from "./redis.ts";

/** KEYS[1] node key; ARGV: record, peer, lease ms. Returns the holder's peer, or false when set. */
const CLAIM_NODE_LUA = `
local cur = redis.call('GET', KEYS[1])
if cur then
  local ok, c = pcall(cjson.decode, cur)
  if ok and c.peer ~= ARGV[2] then return c.peer end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return false`;

/**
 * Sets node key `key` to `record` (with the node lease) unless a node at
 * another peer address holds it; resolves to that address, or undefined when
 * the name is this node's now.
 *
 * @example
 * ```ts
 * import { claimNodeName } from "./node_name.ts";
 * import type { Redis } from "./redis.ts";
 * declare const redis: Redis;
 * await claimNodeName(redis, "dfrp:node:fra-1", "{}", "10.0.0.1:7001");
 * ```
 */
export async function claimNodeName(
  redis: Redis,
  key: string,
  record: string,
  peer: string,
): Promise<string | undefined> {
  const holder = await redis.eval(CLAIM_NODE_LUA, 1, key, record, peer, LEASE_MS);
  return typeof holder === "string" ? holder : undefined;
}
