/**
 * Wrong proofs per address (logins, pooled work connections and dialed
 * visitor connections alike): after `max` failures within a minute the
 * address cools down until a minute has passed since its last failure.
 * While it cools down its wrong proofs are answered slowly and logged once
 * per {@linkcode LOG_INTERVAL_MS} with a count; a right proof is never held
 * back, so nobody sharing the address (a NAT, a balancer) can lock the real
 * client out.
 *
 * @example
 * ```ts
 * import { FailedLogins } from "./rate_limit.ts";
 * const failed = new FailedLogins(5);
 * for (let i = 0; i < 5; i++) failed.record("203.0.113.9");
 * failed.blockedFor("203.0.113.9"); // ~60000 (ms left of the cooldown)
 * failed.logTurn("203.0.113.9"); // 0: log this refusal; -1 for the next ones for 10 s
 * ```
 *
 * @module
 */

/** Failures are counted over this window. */
export const FAILURE_WINDOW_MS = 60_000;
/** How long an address stays refused after its last failure. */
export const COOLDOWN_MS = 60_000;
/** Addresses remembered at most; the oldest are forgotten first. */
export const MAX_TRACKED = 10_000;
/** While an address cools down, its refusals are logged at most once per this long. */
export const LOG_INTERVAL_MS = 10_000;

interface Entry {
  /** Failure times within the window, oldest first. */
  times: number[];
  blockedUntil: number;
  /** When a refusal of this address was last logged during its cooldown. */
  loggedAt: number;
  /** Refusals not logged since then. */
  unlogged: number;
}

/** See the module doc. */
export class FailedLogins {
  #byHost = new Map<string, Entry>();

  /**
   * @param max failures within the window that start a cooldown; 0 = never
   * @param now the clock (tests may pass their own)
   */
  constructor(readonly max: number, readonly now: () => number = Date.now) {}

  /** Milliseconds `host` must still wait, or 0 when it may try. */
  blockedFor(host: string): number {
    const entry = this.#byHost.get(host);
    if (!entry) return 0;
    return Math.max(0, entry.blockedUntil - this.now());
  }

  /** Counts one failure of `host`; true when it is now blocked. */
  record(host: string): boolean {
    if (this.max <= 0) return false;
    const now = this.now();
    let entry = this.#byHost.get(host);
    if (entry) this.#byHost.delete(host); // re-insert: Map order is recency
    else entry = { times: [], blockedUntil: 0, loggedAt: 0, unlogged: 0 };
    this.#byHost.set(host, entry);
    entry.times.push(now);
    while (entry.times.length > 0 && entry.times[0] <= now - FAILURE_WINDOW_MS) entry.times.shift();
    if (entry.times.length > this.max) entry.times.shift();
    if (entry.times.length >= this.max) entry.blockedUntil = now + COOLDOWN_MS;
    if (this.#byHost.size > MAX_TRACKED) {
      this.#byHost.delete(this.#byHost.keys().next().value!);
    }
    return entry.blockedUntil > now;
  }

  /**
   * Whether to log a refusal of `host` now: always outside a cooldown, else
   * once per {@linkcode LOG_INTERVAL_MS}. Resolves to the number of refusals
   * left unlogged since the last line (0 or more), or -1 to stay quiet.
   */
  logTurn(host: string): number {
    const entry = this.#byHost.get(host);
    const now = this.now();
    if (!entry || entry.blockedUntil <= now) return 0;
    if (now - entry.loggedAt < LOG_INTERVAL_MS) {
      entry.unlogged++;
      return -1;
    }
    const skipped = entry.unlogged;
    entry.loggedAt = now;
    entry.unlogged = 0;
    return skipped;
  }
}

/**
 * The host part of `addr` (`1.2.3.4:5` → `1.2.3.4`, `[::1]:5` → `::1`).
 *
 * @example
 * ```ts
 * import { hostOf } from "./rate_limit.ts";
 * hostOf("[2001:db8::1]:7000"); // "2001:db8::1"
 * ```
 */
export function hostOf(addr: string): string {
  const colon = addr.lastIndexOf(":");
  const host = colon > 0 && !addr.endsWith("]") ? addr.slice(0, colon) : addr;
  return host.replace(/^\[|\]$/g, "");
}
