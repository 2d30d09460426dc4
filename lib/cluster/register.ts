/**
 * Registers the cluster layer with the server (`registerClusterStarter`):
 * the entry points import this file, and a server with a `[cluster]`
 * section then loads `mod.ts` (and the Redis client) by a dynamic import.
 * A single node without `[cluster]` never loads either.
 *
 * @example
 * ```ts
 * import "./register.ts";
 * ```
 *
 * @module
 */

import { registerClusterStarter } from "../server/placement.ts";

registerClusterStarter(async (services) => (await import("./mod.ts")).startClusterNode(services));
