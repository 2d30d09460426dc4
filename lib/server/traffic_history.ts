/**
 * Per-day traffic of every proxy, for `/api/traffic/:name` and the "today"
 * figures: the counters in `ProxyStats` only ever grow, so a day's traffic
 * is the growth since midnight. `roll()` runs once a minute and on every
 * read, so a day boundary is seen within a minute; the data path is untouched.
 *
 * @example
 * ```ts
 * import { TrafficHistory } from "./traffic_history.ts";
 * import { ProxyStats } from "./stats.ts";
 * const history = new TrafficHistory();
 * const stats = new ProxyStats("ssh", "tcp");
 * stats.trafficIn += 10;
 * console.log(history.days(stats).trafficIn); // [10, 0, 0, 0, 0, 0, 0]
 * ```
 *
 * @module
 */

import type { ProxyUsage } from "./placement.ts";
import type { ProxyStats } from "./stats.ts";

/** Days kept, today first (frp's dashboard shows a week). */
export const HISTORY_DAYS = 7;

interface Days {
  /** Local day number the bases belong to. */
  day: number;
  /** Counter values at that day's start. */
  baseIn: number;
  baseOut: number;
  /** Finished days, newest first. */
  pastIn: number[];
  pastOut: number[];
}

/** A proxy's traffic per day, today first. */
export interface DailyTraffic {
  trafficIn: number[];
  trafficOut: number[];
}

function localDay(now: Date): number {
  return Math.floor((now.getTime() - now.getTimezoneOffset() * 60_000) / 86_400_000);
}

/** See the module doc. */
export class TrafficHistory {
  // Keyed by the stats object so entries vanish with deleted proxies.
  #days = new WeakMap<ProxyStats, Days>();

  /** Closes the current day of every proxy in `stats` when the date has changed. */
  rollAll(stats: Iterable<ProxyStats>, now = new Date()): void {
    for (const s of stats) this.#roll(s, localDay(now));
  }

  /**
   * Traffic per day of one proxy, today first, {@linkcode HISTORY_DAYS} long.
   *
   * @example
   * ```ts
   * import { TrafficHistory } from "./traffic_history.ts";
   * import { ProxyStats } from "./stats.ts";
   * console.log(new TrafficHistory().days(new ProxyStats("a", "tcp")).trafficOut[0]); // 0
   * ```
   */
  days(stats: ProxyStats, now = new Date()): DailyTraffic {
    const d = this.#roll(stats, localDay(now));
    const pad = (today: number, past: number[]) => {
      const out = [today, ...past];
      while (out.length < HISTORY_DAYS) out.push(0);
      return out;
    };
    return {
      trafficIn: pad(stats.trafficIn - d.baseIn, d.pastIn),
      trafficOut: pad(stats.trafficOut - d.baseOut, d.pastOut),
    };
  }

  #roll(stats: ProxyStats, day: number): Days {
    let d = this.#days.get(stats);
    if (!d) {
      // First seen today: everything counted so far belongs to today.
      d = { day, baseIn: 0, baseOut: 0, pastIn: [], pastOut: [] };
      this.#days.set(stats, d);
      return d;
    }
    if (day <= d.day) return d;
    // Newest first: the quiet days in between, then the day that just ended.
    const quiet = new Array(Math.min(day - d.day, HISTORY_DAYS) - 1).fill(0);
    d.pastIn.unshift(...quiet, stats.trafficIn - d.baseIn);
    d.pastOut.unshift(...quiet, stats.trafficOut - d.baseOut);
    d.pastIn.length = Math.min(d.pastIn.length, HISTORY_DAYS - 1);
    d.pastOut.length = Math.min(d.pastOut.length, HISTORY_DAYS - 1);
    d.baseIn = stats.trafficIn;
    d.baseOut = stats.trafficOut;
    d.day = day;
    return d;
  }
}

/**
 * `a` plus `b`, counter by counter and day by day ({@linkcode HISTORY_DAYS}
 * days): a proxy's figures on its node plus what other nodes counted for it.
 * What `b` lacks or holds that is not a number counts as 0.
 *
 * @example
 * ```ts
 * import { addUsage } from "./traffic_history.ts";
 * const one = { trafficIn: 1, trafficOut: 2, dailyIn: [1], dailyOut: [2], curConns: 0, totalConns: 1 };
 * console.log(addUsage(one, one).dailyIn); // [2, 0, 0, 0, 0, 0, 0]
 * ```
 */
export function addUsage(a: ProxyUsage, b: Partial<ProxyUsage>): ProxyUsage {
  const n = (v: unknown) => Number(v) || 0;
  const days = (x: number[], y: unknown) => {
    const more = dailyFrom(y);
    return dailyFrom(x).map((bytes, day) => bytes + more[day]);
  };
  return {
    trafficIn: a.trafficIn + n(b.trafficIn),
    trafficOut: a.trafficOut + n(b.trafficOut),
    dailyIn: days(a.dailyIn, b.dailyIn),
    dailyOut: days(a.dailyOut, b.dailyOut),
    curConns: a.curConns + n(b.curConns),
    totalConns: a.totalConns + n(b.totalConns),
  };
}

/**
 * A stored day-by-day array (another node's JSON) as {@linkcode HISTORY_DAYS}
 * numbers, today first: what it lacks, or holds that is not a number, is 0.
 *
 * @example
 * ```ts
 * import { dailyFrom } from "./traffic_history.ts";
 * console.log(dailyFrom([5, "x"])); // [5, 0, 0, 0, 0, 0, 0]
 * ```
 */
export function dailyFrom(stored: unknown): number[] {
  const list = Array.isArray(stored) ? stored : [];
  return Array.from({ length: HISTORY_DAYS }, (_, day) => Number(list[day]) || 0);
}
