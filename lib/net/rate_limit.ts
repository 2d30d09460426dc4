/**
 * A token bucket for `transport.bandwidthLimit`: `rate` bytes per second
 * with a burst of one second's worth, like frp (golang.org/x/time/rate with
 * burst = limit). One bucket is shared by every connection of a proxy and by
 * both directions, as in frp.
 *
 * @example
 * ```ts
 * import { parseBandwidth, RateLimiter } from "./rate_limit.ts";
 * const limiter = new RateLimiter(parseBandwidth("256KB"));
 * const delayMs = limiter.take(16 * 1024); // 0 while the burst lasts
 * if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
 * ```
 *
 * @module
 */

import type { Duplex } from "./duplex.ts";

/**
 * Bytes per second of a `bandwidthLimit` like `"1MB"` or `"512KB"`
 * (KB = 1024 bytes, MB = 1024 KB, as in frp); 0 for `""`. Throws on
 * anything else.
 *
 * @example
 * ```ts
 * import { parseBandwidth } from "./rate_limit.ts";
 * parseBandwidth("10KB"); // 10240
 * ```
 */
export function parseBandwidth(text: string): number {
  const s = text.trim();
  if (s === "") return 0;
  const m = /^(\d+(?:\.\d+)?)(MB|KB)$/.exec(s);
  if (!m) throw new Error(`bad bandwidthLimit "${text}": expected e.g. 1MB or 512KB`);
  return Math.floor(Number(m[1]) * (m[2] === "MB" ? 1024 * 1024 : 1024));
}

/** A token bucket; see the module doc. */
export class RateLimiter {
  /** The largest amount a caller should `take` at once. */
  readonly burst: number;
  #tokens: number;
  #last = performance.now();

  /**
   * @param rate bytes per second, > 0
   * @param burst bucket size; one second's worth by default
   */
  constructor(readonly rate: number, burst = rate) {
    if (!(rate > 0)) throw new RangeError("rate must be > 0");
    this.burst = Math.max(1, Math.floor(burst));
    this.#tokens = this.burst;
  }

  /**
   * Takes `n` bytes' worth of tokens and returns how many milliseconds the
   * caller must wait before sending them (0 = now). Tokens go into debt, so
   * callers that share the bucket queue up behind each other fairly.
   */
  take(n: number): number {
    const now = performance.now();
    this.#tokens = Math.min(this.burst, this.#tokens + (now - this.#last) * this.rate / 1000);
    this.#last = now;
    this.#tokens -= n;
    return this.#tokens >= 0 ? 0 : -this.#tokens * 1000 / this.rate;
  }

  /**
   * Waits until `n` bytes may pass.
   *
   * @example
   * ```ts
   * import { RateLimiter } from "./rate_limit.ts";
   * const limiter = new RateLimiter(1024);
   * await limiter.wait(512);
   * ```
   */
  wait(n: number): Promise<void> {
    const ms = this.take(n);
    return ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve();
  }
}

/**
 * `d` with both directions paced by `limiter`: reads charge the bytes read,
 * writes go out at most one burst at a time. For streams whose bytes are
 * not relayed by `relay()`, e.g. a udp proxy's framed work connection.
 *
 * @example
 * ```ts
 * import { limitDuplex, RateLimiter } from "./rate_limit.ts";
 * const conn = await Deno.connect({ port: 7000 });
 * const slow = limitDuplex(conn, new RateLimiter(64 * 1024));
 * await slow.write(new Uint8Array(1000));
 * ```
 */
export function limitDuplex(d: Duplex, limiter: RateLimiter): Duplex {
  const pause = (n: number) => {
    const ms = limiter.take(n);
    return ms > 0 ? new Promise((r) => setTimeout(r, ms)) : undefined;
  };
  return {
    async read(p) {
      const n = await d.read(p);
      if (n) await pause(n);
      return n;
    },
    async write(p) {
      const piece = p.length > limiter.burst ? p.subarray(0, limiter.burst) : p;
      await pause(piece.length);
      return await d.write(piece);
    },
    closeWrite: () => d.closeWrite(),
    close: () => d.close(),
  };
}
