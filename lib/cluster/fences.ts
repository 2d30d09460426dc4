/**
 * A user's fences held cluster-wide (docs/cluster.md): every proxy a node
 * runs takes its name in its user's ledger in Redis, in one Lua script that
 * also counts the user's live proxies against `maxProxies`. Two nodes racing
 * for one name, or for a user's last slot, cannot both win. Each entry is a
 * lease the node renews with its routes, so the proxies of a node that dies
 * stop counting once its lease lapses; a closed proxy gives its entry back at
 * once.
 *
 * A user's ledger is two keys: `dfrp:fence:leases:<user>` (a sorted set of
 * proxy names scored by when their lease lapses, in Redis's clock) and
 * `dfrp:fence:owners:<user>` (a hash of proxy name to the holder's record).
 *
 * @example
 * ```ts
 * import { UserFences } from "./fences.ts";
 * import { connectRedis } from "./redis.ts";
 * const fences = new UserFences(await connectRedis("redis://127.0.0.1:6379/0"), "fra-1");
 * const owner = { proxyName: "alice.ssh", clientId: "0123", user: "alice", type: "tcp" };
 * const held = await fences.claim(owner, 3); // at most 3 of alice's proxies cluster-wide
 * held.release();
 * ```
 *
 * @module
 */

import type { ClusterView, ProxyOwner, ProxyUsage, RouteOwner } from "../server/placement.ts";
import { dailyFrom } from "../server/traffic_history.ts";
import { LEASE_MS } from "./keys.ts";
import { type Redis, scanKeys } from "./redis.ts";

/** Prefix of the sorted sets of a user's proxy names by lease end. */
export const FENCE_LEASES_PREFIX = "dfrp:fence:leases:";
/** Prefix of the hashes of a user's proxy names to their holders. */
export const FENCE_OWNERS_PREFIX = "dfrp:fence:owners:";

/**
 * Takes (or renews) proxy name ARGV[1] in a user's ledger. Lapsed entries are
 * dropped first; the name is refused when a live entry of another node and
 * another client holds it ("NAME" then the holder's record), and a new name
 * when the user already has ARGV[6] (> 0) live proxies ("MAX"). The same
 * client (run id) on another node takes its entry over, as with routes.
 * KEYS[1] leases, KEYS[2] owners; ARGV: name, record, node, clientId, lease
 * ms, maxProxies. Returns false when held.
 */
const CLAIM_FENCE_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lapsed = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
if #lapsed > 0 then
  redis.call('ZREM', KEYS[1], unpack(lapsed))
  redis.call('HDEL', KEYS[2], unpack(lapsed))
end
local live = redis.call('ZSCORE', KEYS[1], ARGV[1])
if live then
  local cur = redis.call('HGET', KEYS[2], ARGV[1])
  local ok, c = pcall(cjson.decode, cur or '')
  if ok and c.node ~= ARGV[3] and c.clientId ~= ARGV[4] then return 'NAME' .. cur end
else
  local max = tonumber(ARGV[6])
  if max > 0 and redis.call('ZCARD', KEYS[1]) >= max then return 'MAX' end
end
local lease = tonumber(ARGV[5])
redis.call('ZADD', KEYS[1], now + lease, ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], lease)
redis.call('PEXPIRE', KEYS[2], lease)
return false`;

/**
 * Gives back a name only if this node and client still hold it by the same
 * claim: the same client logging in again on this node takes the entry over
 * with a new claim, which the old proxy's late release must leave alone.
 * KEYS as above; ARGV: name, node, clientId, claim id.
 */
const RELEASE_FENCE_LUA = `
local cur = redis.call('HGET', KEYS[2], ARGV[1])
if not cur then return 0 end
local ok, c = pcall(cjson.decode, cur)
if ok and c.node == ARGV[2] and c.clientId == ARGV[3] and c.claim == ARGV[4] then
  redis.call('ZREM', KEYS[1], ARGV[1])
  redis.call('HDEL', KEYS[2], ARGV[1])
  return 1
end
return 0`;

/** A fence entry this node holds. */
interface HeldFence {
  owner: ProxyOwner;
  maxProxies: number;
  /** This claim's id, in the entry's record (see RELEASE_FENCE_LUA). */
  claim: string;
}

/** See the module doc. */
export class UserFences {
  #held = new Map<string, HeldFence>();

  /**
   * @param redis the node's connection
   * @param node this node's name
   * @param retry runs a Redis operation, waiting a while for Redis to come back
   * @param usage a proxy's counters here, published with its entry for the admin views
   */
  constructor(
    readonly redis: Redis,
    readonly node: string,
    readonly retry: <T>(op: () => Promise<T>) => Promise<T> = (op) => op(),
    readonly usage: (proxyName: string) => ProxyUsage | undefined = () => undefined,
  ) {}

  /**
   * Takes `owner.proxyName` for `owner.user` cluster-wide, counting it
   * against `maxProxies` (0 = no limit); throws a user-facing Error when the
   * name is held elsewhere or the user is at the limit. `release` gives it
   * back.
   */
  async claim(owner: ProxyOwner, maxProxies: number): Promise<{ release(): void }> {
    const id = fenceId(owner);
    const held: HeldFence = { owner, maxProxies, claim: crypto.randomUUID() };
    const answer = await this.retry(() => this.#run(held));
    if (answer === "MAX") {
      throw new Error(
        `user [${owner.user}] may run at most ${maxProxies} proxies (maxProxies, cluster-wide)`,
      );
    }
    if (typeof answer === "string") {
      throw new Error(`proxy [${owner.proxyName}] is already in use${holderOf(answer.slice(4))}`);
    }
    this.#held.set(id, held);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        if (this.#held.get(id) === held) this.#held.delete(id);
        this.#release(held);
      },
    };
  }

  /**
   * Renews every entry this node holds (with the node's other leases) by the
   * claim script, which also sets an entry again that Redis lost; one another
   * node took meanwhile is dropped here and reported to `onLost`.
   */
  async renew(onLost: (owner: RouteOwner) => void): Promise<void> {
    for (const [id, held] of [...this.#held]) {
      const answer = await this.#run(held);
      if (answer === null) continue;
      this.#held.delete(id);
      onLost(held.owner);
    }
  }

  /** Gives back every entry (the node is closing). */
  async releaseAll(): Promise<void> {
    const held = [...this.#held.values()];
    this.#held.clear();
    await Promise.all(held.map((h) => this.#release(h)));
  }

  /** Deletes `held`'s entry if it is still this claim's; errors are moot (it lapses). */
  #release({ owner, claim }: HeldFence): Promise<unknown> {
    return this.redis.eval(
      RELEASE_FENCE_LUA,
      2,
      FENCE_LEASES_PREFIX + owner.user,
      FENCE_OWNERS_PREFIX + owner.user,
      owner.proxyName,
      this.node,
      owner.clientId,
      claim,
    ).catch(() => {});
  }

  /** Takes or renews `held`'s entry by CLAIM_FENCE_LUA. */
  #run({ owner, maxProxies, claim }: HeldFence): Promise<string | null> {
    const u = this.usage(owner.proxyName);
    const counters = u
      ? {
        trafficIn: u.trafficIn,
        trafficOut: u.trafficOut,
        dailyIn: u.dailyIn,
        dailyOut: u.dailyOut,
        curConns: u.curConns,
        totalConns: u.totalConns,
      }
      : {};
    const record = JSON.stringify({ ...owner, node: this.node, claim, ...counters });
    return this.redis.eval(
      CLAIM_FENCE_LUA,
      2,
      FENCE_LEASES_PREFIX + owner.user,
      FENCE_OWNERS_PREFIX + owner.user,
      owner.proxyName,
      record,
      this.node,
      owner.clientId,
      LEASE_MS,
      maxProxies,
    ) as Promise<string | null>;
  }
}

/**
 * Every live entry of every user's ledger: the cluster's running proxies of
 * every type (the admin views list them with their node).
 *
 * @example
 * ```ts
 * import { readRunningProxies } from "./fences.ts";
 * import type { Redis } from "./redis.ts";
 * declare const redis: Redis;
 * for (const p of await readRunningProxies(redis)) console.log(p.name, p.node);
 * ```
 */
export async function readRunningProxies(redis: Redis): Promise<ClusterView["running"]> {
  const users = (await scanKeys(redis, FENCE_OWNERS_PREFIX)).map((k) =>
    k.slice(FENCE_OWNERS_PREFIX.length)
  );
  if (users.length === 0) return [];
  const pipe = redis.pipeline().time();
  for (const user of users) {
    pipe.hgetall(FENCE_OWNERS_PREFIX + user).zrange(
      FENCE_LEASES_PREFIX + user,
      0,
      -1,
      "WITHSCORES",
    );
  }
  const results = (await pipe.exec()) ?? [];
  const [seconds, micros] = (results[0]?.[1] ?? ["0", "0"]) as [string, string];
  const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  const out: ClusterView["running"] = [];
  users.forEach((_, i) => {
    const owners = (results[1 + 2 * i]?.[1] ?? {}) as Record<string, string>;
    const leases = (results[2 + 2 * i]?.[1] ?? []) as string[];
    for (let j = 0; j + 1 < leases.length; j += 2) {
      if (Number(leases[j + 1]) <= now || !owners[leases[j]]) continue;
      try {
        const o = JSON.parse(owners[leases[j]]) as ProxyOwner & Partial<ProxyUsage> & {
          node: string;
        };
        out.push({
          name: String(o.proxyName),
          type: String(o.type ?? ""),
          node: String(o.node),
          clientId: String(o.clientId),
          user: String(o.user),
          trafficIn: Number(o.trafficIn ?? 0),
          trafficOut: Number(o.trafficOut ?? 0),
          dailyIn: dailyFrom(o.dailyIn),
          dailyOut: dailyFrom(o.dailyOut),
          curConns: Number(o.curConns ?? 0),
          totalConns: Number(o.totalConns ?? 0),
        });
      } catch {
        // Not ours; skipped.
      }
    }
  });
  return out.sort((a, b) => a.name.localeCompare(b.name) || a.node.localeCompare(b.node));
}

function fenceId(owner: RouteOwner): string {
  return `${owner.user}\n${owner.proxyName}\n${owner.clientId}`;
}

/** " by proxy [x] on node [y]" from a holder's record, or "". */
function holderOf(record: string): string {
  try {
    const h = JSON.parse(record) as RouteOwner & { node: string };
    return ` by proxy [${h.proxyName}] on node [${h.node}]`;
  } catch {
    return "";
  }
}
