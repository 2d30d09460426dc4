/**
 * The server's table of secret proxies (stcp, sudp; later xtcp): proxies
 * with no public port that only visitors reach. A server-wide feature, so
 * the proxy types and the visitor handshake find the same table in
 * `ServerServices.features`.
 *
 * @example
 * ```ts
 * import { SECRET_PROXIES_FEATURE, type SecretProxies } from "./secret_proxies.ts";
 * import type { ServerServices } from "../services.ts";
 * declare const services: ServerServices;
 * const table = services.features.get(SECRET_PROXIES_FEATURE) as SecretProxies;
 * console.log(table.find("db"));
 * ```
 *
 * @module
 */

import { type FeatureKey, registerServerFeature, type ServerFeature } from "../feature.ts";
import type { ProxyContext } from "../proxy/proxy.ts";

/** The feature's name in `ServerServices.features`. */
export const SECRET_PROXIES_FEATURE: FeatureKey<SecretProxies> = "secretProxies";

/** One registered secret proxy. */
export interface SecretProxyEntry {
  /** "stcp" or "sudp": a visitor must be of the same type. */
  readonly type: string;
  /** The proxy's context: its owner's user, work connections, counters. */
  readonly ctx: ProxyContext;
  /** The proxy's config as the owner sent it (`allowUsers`; never a secret key the server uses). */
  readonly config: Record<string, unknown>;
}

/** See the module doc. Keyed by the server-side name (`user.name`), unique on a dfrp server. */
export class SecretProxies implements ServerFeature {
  #byName = new Map<string, SecretProxyEntry>();

  /** Adds a proxy; throws if the name is taken. */
  add(entry: SecretProxyEntry): void {
    if (this.#byName.has(entry.ctx.name)) {
      throw new Error(`secret proxy [${entry.ctx.name}] is already registered`);
    }
    this.#byName.set(entry.ctx.name, entry);
  }

  /** Removes `entry` if it is still the one registered under its name. */
  remove(entry: SecretProxyEntry): void {
    if (this.#byName.get(entry.ctx.name) === entry) this.#byName.delete(entry.ctx.name);
  }

  /** The proxy named `name`, if registered. */
  find(name: string): SecretProxyEntry | undefined {
    return this.#byName.get(name);
  }

  /** Nothing listens; the proxies leave with their clients. */
  close(): void {
    this.#byName.clear();
  }
}

registerServerFeature(SECRET_PROXIES_FEATURE, () => Promise.resolve(new SecretProxies()));
