/**
 * Deadlines for handshakes and dials, and the one sweep that ends writes
 * making no progress ({@linkcode WriteWatch}).
 *
 * @example
 * ```ts
 * import { withTimeout } from "./timeout.ts";
 * const conn = await withTimeout(Deno.connect({ port: 80 }), 5000, "dial");
 * ```
 *
 * @module
 */

/**
 * Rejects with `Deno.errors.TimedOut` if `promise` has not settled in `ms`
 * milliseconds (the promise itself is not cancelled: the caller closes what
 * it is waiting on). `ms <= 0` waits forever.
 *
 * @example
 * ```ts
 * import { withTimeout } from "./timeout.ts";
 * await withTimeout(new Promise((r) => setTimeout(r, 10)), 1000, "sleep");
 * ```
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  if (ms <= 0) return promise;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Deno.errors.TimedOut(`${what} timed out after ${ms} ms`)),
      ms,
    );
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/**
 * Resolves after `ms` milliseconds, or at once when `signal` aborts.
 *
 * @example
 * ```ts
 * import { sleep } from "./timeout.ts";
 * await sleep(100);
 * ```
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** Default of {@linkcode defaultWriteTimeout}: 5 minutes (frp has no such limit). */
export const DEFAULT_WRITE_TIMEOUT_MS = 300_000;
let writeTimeoutMs = DEFAULT_WRITE_TIMEOUT_MS;

/**
 * How long a relayed write may make no progress before the connection is
 * ended (ms; 0 = never). Set from `transport.writeTimeout` when a server or a
 * client starts; it is per process, so a process that runs both uses the
 * value of the one started last.
 *
 * @example
 * ```ts
 * import { defaultWriteTimeout, setDefaultWriteTimeout } from "./timeout.ts";
 * setDefaultWriteTimeout(60_000);
 * defaultWriteTimeout(); // 60000
 * ```
 */
export function defaultWriteTimeout(): number {
  return writeTimeoutMs;
}

/**
 * Sets {@linkcode defaultWriteTimeout}; relays started later use it.
 *
 * @example
 * ```ts
 * import { setDefaultWriteTimeout } from "./timeout.ts";
 * setDefaultWriteTimeout(0); // never time out a write
 * ```
 */
export function setDefaultWriteTimeout(ms: number): void {
  writeTimeoutMs = Math.max(0, ms);
}

/** How often the one process-wide sweep looks at the writes being watched. */
const SWEEP_MS = 500;
const watched = new Set<WriteWatch>();
let sweeper: ReturnType<typeof setInterval> | undefined;

/**
 * A writer whose progress is checked by one sweep per process (no timer per
 * write): around each write the owner sets {@linkcode pending} and bumps
 * {@linkcode progress}; if a write stays pending with no progress for
 * `timeoutMs`, `onStall` runs once and the watch is dropped.
 *
 * @example
 * ```ts
 * import { WriteWatch } from "./timeout.ts";
 * const conn = await Deno.connect({ port: 80 });
 * const watch = new WriteWatch(60_000, () => conn.close()).start();
 * watch.pending = true;
 * await conn.write(new Uint8Array(1024));
 * watch.pending = false;
 * watch.progress++;
 * watch.stop();
 * ```
 */
export class WriteWatch {
  /** True while a write is outstanding. */
  pending = false;
  /** Bumped whenever a write completes (fully or partly). */
  progress = 0;
  #seen = 0;
  #since = 0;

  /**
   * @param timeoutMs how long a pending write may go without progress
   * @param onStall called once when it did (e.g. close the connection, so the write rejects)
   */
  constructor(readonly timeoutMs: number, readonly onStall: () => void) {}

  /** Starts watching (the sweep runs while anything is watched); returns `this`. */
  start(): this {
    this.#since = Date.now();
    watched.add(this);
    if (sweeper === undefined) {
      sweeper = setInterval(sweep, SWEEP_MS);
      // Watching never keeps a process alive by itself.
      Deno.unrefTimer(sweeper);
    }
    return this;
  }

  /** Stops watching. */
  stop(): void {
    watched.delete(this);
    if (watched.size === 0 && sweeper !== undefined) {
      clearInterval(sweeper);
      sweeper = undefined;
    }
  }

  /** Internal (the sweep): true when stalled for `timeoutMs`. */
  _stalled(now: number): boolean {
    if (!this.pending || this.progress !== this.#seen) {
      this.#seen = this.progress;
      this.#since = now;
      return false;
    }
    return now - this.#since >= this.timeoutMs;
  }
}

function sweep(): void {
  const now = Date.now();
  for (const w of watched) {
    if (!w._stalled(now)) continue;
    w.stop();
    try {
      w.onStall();
    } catch {
      // One failing callback must not stop the sweep for the others.
    }
  }
}
