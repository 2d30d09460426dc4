/**
 * Traffic and connection counters per proxy: the read model that logs, the
 * admin API and metrics use. Counting is a field increment on the data path.
 *
 * @example
 * ```ts
 * import { ProxyStats } from "./stats.ts";
 * const stats = new ProxyStats("ssh", "tcp");
 * stats.trafficIn += 100;
 * ```
 *
 * @module
 */

/** Counters of one proxy. */
export class ProxyStats {
  /** Bytes from users towards the client's service. */
  trafficIn = 0;
  /** Bytes from the client's service back to users. */
  trafficOut = 0;
  /** User connections open now. */
  curConns = 0;
  /** User connections ever accepted. */
  totalConns = 0;
  /** The run id of the client session that holds the proxy now; unset when offline. */
  owner: string | undefined;

  /**
   * @param name proxy name
   * @param type proxy type
   */
  constructor(readonly name: string, readonly type: string) {}
}
