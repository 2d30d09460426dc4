/**
 * Caps on the connections open on one vhost port, in total and per client
 * address (`vhostMaxConns`, `vhostMaxConnsPerIP`): a connection over a cap
 * is closed at once, before a byte is read, and the refusals are logged as
 * a count at most every 10 s rather than a line each.
 *
 * @example
 * ```ts
 * import { ConnLimiter } from "./conn_limit.ts";
 * import { Logger } from "../../log.ts";
 * const limiter = new ConnLimiter(10_000, 256, new Logger(), "http vhost");
 * if (limiter.tryAcquire("192.0.2.1")) {
 *   // ... serve, then:
 *   limiter.release("192.0.2.1");
 * }
 * ```
 *
 * @module
 */

import type { Logger } from "../../log.ts";

/** How often refusals are summed up in the log. */
const LOG_EVERY_MS = 10_000;

/** See the module doc. */
export class ConnLimiter {
  #total = 0;
  #perAddr = new Map<string, number>();
  #refused = 0;
  #lastLog = -Infinity;

  /**
   * @param maxTotal most connections open at once; 0 = no cap
   * @param maxPerAddr most from one client address; 0 = no cap
   * @param log where refusals are reported
   * @param what the port, for log lines (e.g. "http vhost")
   */
  constructor(
    readonly maxTotal: number,
    readonly maxPerAddr: number,
    readonly log: Logger,
    readonly what: string,
  ) {}

  /** Open connections counted. */
  get total(): number {
    return this.#total;
  }

  /** Counts a new connection from `addr`; false when it is over a cap (not counted then). */
  tryAcquire(addr: string): boolean {
    const mine = this.#perAddr.get(addr) ?? 0;
    if (this.maxTotal > 0 && this.#total >= this.maxTotal) {
      this.#refuse(addr, `vhostMaxConns ${this.maxTotal}`);
      return false;
    }
    if (this.maxPerAddr > 0 && mine >= this.maxPerAddr) {
      this.#refuse(addr, `vhostMaxConnsPerIP ${this.maxPerAddr}`);
      return false;
    }
    this.#total++;
    this.#perAddr.set(addr, mine + 1);
    return true;
  }

  /** Gives back the slot of a connection from `addr` that {@linkcode tryAcquire} admitted. */
  release(addr: string): void {
    this.#total--;
    const mine = (this.#perAddr.get(addr) ?? 1) - 1;
    if (mine > 0) this.#perAddr.set(addr, mine);
    else this.#perAddr.delete(addr);
  }

  #refuse(addr: string, cap: string): void {
    this.#refused++;
    const now = Date.now();
    if (now - this.#lastLog < LOG_EVERY_MS) return;
    this.log.warn(
      `${this.what}: refused ${this.#refused} connection(s) over ${cap}, the last from ${
        JSON.stringify(addr.slice(0, 64))
      }`,
    );
    this.#refused = 0;
    this.#lastLog = now;
  }
}
