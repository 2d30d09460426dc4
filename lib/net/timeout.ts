/**
 * Deadlines for handshakes and dials.
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
