/**
 * The Redis connection of a cluster node (ioredis): reconnects forever with
 * a short backoff, and fails commands fast while Redis is away so callers
 * keep serving from their cached view instead of queueing behind it.
 *
 * @example
 * ```ts
 * import { connectRedis } from "./redis.ts";
 * const redis = await connectRedis("redis://127.0.0.1:6379/0");
 * await redis.set("k", "v");
 * redis.disconnect();
 * ```
 *
 * @module
 */

import { Redis } from "ioredis";

export type { Redis };

/**
 * Connects to `url` (redis://, rediss://, with a password if any) and waits
 * for the first connection (rejects if Redis is not there at start).
 *
 * @example
 * ```ts
 * import { connectRedis } from "./redis.ts";
 * const redis = await connectRedis("redis://127.0.0.1:6379/0");
 * redis.disconnect();
 * ```
 */
export async function connectRedis(url: string): Promise<Redis> {
  const redis = new Redis(url, {
    lazyConnect: true,
    // Commands made while Redis is away fail at once: the caller retries.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 3_000,
    retryStrategy: (times: number) => Math.min(100 * times, 1_000),
  });
  // ioredis reports every failed reconnect as an "error" event; the node logs state changes itself.
  redis.on("error", () => {});
  await redis.connect();
  return redis;
}

/**
 * Every key under `prefix` (SCAN, so Redis is never blocked by one long KEYS).
 *
 * @example
 * ```ts
 * import { connectRedis, scanKeys } from "./redis.ts";
 * const redis = await connectRedis("redis://127.0.0.1:6379/0");
 * console.log(await scanKeys(redis, "dfrp:node:"));
 * ```
 */
export async function scanKeys(redis: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = "0";
  do {
    const [next, batch] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== "0");
  return keys;
}
