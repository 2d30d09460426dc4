/**
 * Redis key names and the Lua scripts that make route ownership atomic.
 * Every key is a lease (PX): a node that stops refreshing loses it.
 *
 * @example
 * ```ts
 * import { nodeKey, routeKey } from "./keys.ts";
 * nodeKey("fra-1"); // "dfrp:node:fra-1"
 * routeKey("tcp", 6000); // "dfrp:route:tcp:6000"
 * ```
 *
 * @module
 */

/** Lease of node and route keys (ms): with the 2 s rescan, a dead node's routes are gone from every node within 10 s. */
export const LEASE_MS = 8_000;
/** How often a node refreshes its leases and reconciles its view (ms). */
export const REFRESH_MS = 2_000;
/** Pub/sub channel on which nodes announce route changes. */
export const ROUTES_CHANNEL = "dfrp:routes";
/** Prefix of node keys. */
export const NODE_PREFIX = "dfrp:node:";
/** Prefix of the keys listing each node's clients (for the admin views). */
export const CLIENT_PREFIX = "dfrp:client:";
/** Pub/sub channel asking the node that holds a client (the message: its run id) to drop it. */
export const KICK_CHANNEL = "dfrp:kick";
/** Prefix of route keys. */
export const ROUTE_PREFIX = "dfrp:route:";
/** Prefix of run-id resume records (`lib/server/auth/run_ids.ts`), kept for a day. */
export const RUN_ID_PREFIX = "dfrp:runid:";

/**
 * Key of node `name`.
 *
 * @example
 * ```ts
 * import { nodeKey } from "./keys.ts";
 * nodeKey("fra-1");
 * ```
 */
export function nodeKey(name: string): string {
  return NODE_PREFIX + name;
}

/**
 * Key of a route: `kind` ("tcp") and what names it (a port).
 *
 * @example
 * ```ts
 * import { routeKey } from "./keys.ts";
 * routeKey("tcp", 6000);
 * ```
 */
export function routeKey(kind: string, id: string | number): string {
  return `${ROUTE_PREFIX}${kind}:${id}`;
}

/**
 * Claims a route: sets it unless another node holds it for another client.
 * The same client (run id) logging in on another node takes it over: its old
 * connection is gone. Returns nil when set, else the holder's value.
 * KEYS[1] route; ARGV: value, node, clientId, lease ms.
 */
export const CLAIM_LUA = `
local cur = redis.call('GET', KEYS[1])
if cur then
  local ok, c = pcall(cjson.decode, cur)
  if ok and c.node ~= ARGV[2] and c.clientId ~= ARGV[3] then return cur end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[4])
return false`;

/**
 * Refreshes a lease this node holds, or republishes it when the key is gone
 * (Redis restarted or the lease lapsed during an outage). Returns 1 when
 * held, 0 when another node has it now. Same arguments as CLAIM_LUA.
 */
export const REFRESH_LUA = `
local cur = redis.call('GET', KEYS[1])
if cur then
  local ok, c = pcall(cjson.decode, cur)
  if not ok or c.node ~= ARGV[2] or c.clientId ~= ARGV[3] then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[4])
return 1`;

/**
 * Deletes a route only if this node and client still hold it by the same
 * claim (a newer claim of the same client, which took the route over, stays).
 * KEYS[1]; ARGV: node, clientId, claim id ("" for a record without one).
 */
export const RELEASE_LUA = `
local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
local ok, c = pcall(cjson.decode, cur)
if ok and c.node == ARGV[1] and c.clientId == ARGV[2] and (c.claim or '') == ARGV[3] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0`;

/**
 * Joins a load-balancing group (tcp, or vhost: `route_groups.ts`): the
 * route's key names the group (any number of nodes may hold members of it),
 * each member has its own key. Refused when the route holds something else
 * (a plain proxy, or a group of another kind or name), or the group's key
 * differs. KEYS[1] the route's key, KEYS[2] the member's key; ARGV: group
 * value (its `kind` and `user` are compared), group name, groupKey hash,
 * member value, lease ms. Returns nil when joined, "USER" when another user
 * made the group (a group belongs to its creator's user, as on one node),
 * "KEY" for a wrong groupKey, else the holder's value. Also the renewal.
 */
export const GROUP_JOIN_LUA = `
local cur = redis.call('GET', KEYS[1])
if cur then
  local ok, c = pcall(cjson.decode, cur)
  local g = cjson.decode(ARGV[1])
  if not ok or c.kind ~= g.kind or c.group ~= ARGV[2] then return cur end
  if c.user ~= g.user then return 'USER' end
  if c.groupKeyHash ~= ARGV[3] then return 'KEY' end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[5])
redis.call('SET', KEYS[2], ARGV[4], 'PX', ARGV[5])
return false`;

/**
 * Leaves a group: deletes the member's key, and the route's key when no
 * member is left. KEYS[1] the route's key, KEYS[2] the member's key;
 * ARGV[1] the pattern of the group's member keys.
 */
export const GROUP_LEAVE_LUA = `
redis.call('DEL', KEYS[2])
if #redis.call('KEYS', ARGV[1]) == 0 then redis.call('DEL', KEYS[1]) end
return 0`;
