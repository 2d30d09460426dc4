/**
 * Copies bytes both ways between two streams until both directions end.
 *
 * Speed and memory come from the buffers (see `shared/deno-networking-facts.md`):
 * a read/write loop over a reused buffer, not `pipeTo`; the buffer starts
 * small so an idle connection costs little, grows to 256 KiB only once a
 * read fills it, i.e. when bulk data is actually flowing, and goes back to a
 * shared pool when the flow stops (`relay_buffer.ts`).
 *
 * @example
 * ```ts
 * import { relay } from "./relay.ts";
 * const listener = Deno.listen({ port: 0 });
 * const user = await listener.accept();
 * const backend = await Deno.connect({ port: 22 });
 * const { aToB, bToA } = await relay(user, backend);
 * ```
 *
 * @module
 */

import { type Duplex, writeAll } from "./duplex.ts";
import type { RateLimiter } from "./rate_limit.ts";
import { INITIAL_BUFFER, MAX_BUFFER, RelayBuffer } from "./relay_buffer.ts";
import { defaultWriteTimeout, WriteWatch } from "./timeout.ts";

export { INITIAL_BUFFER, MAX_BUFFER } from "./relay_buffer.ts";

/** Hooks for counting traffic as it passes. */
export interface RelayOptions {
  /** Called after each chunk copied from `a` to `b`. */
  onAToB?: (bytes: number) => void;
  /** Called after each chunk copied from `b` to `a`. */
  onBToA?: (bytes: number) => void;
  /** Paces `a` → `b` (may be the same bucket as `limitBToA`). */
  limitAToB?: Pick<RateLimiter, "take" | "burst">;
  /** Paces `b` → `a`. */
  limitBToA?: Pick<RateLimiter, "take" | "burst">;
  /**
   * A write that makes no progress for this long (ms) ends the relay: both
   * streams are reset or closed. 0 = never. Default: `defaultWriteTimeout()`
   * (`transport.writeTimeout`, 5 minutes).
   */
  writeTimeoutMs?: number;
}

/** Bytes moved by a finished relay. */
export interface RelayResult {
  aToB: number;
  bToA: number;
}

/**
 * Copies `src` to `dst` until `src` ends, then half-closes `dst`.
 * Returns the byte count. Throws what the streams throw.
 *
 * @example
 * ```ts
 * import { copy } from "./relay.ts";
 * const a = await Deno.connect({ port: 7 });
 * const b = await Deno.connect({ port: 9 });
 * await copy(a, b);
 * ```
 */
export async function copy(
  src: Duplex,
  dst: Duplex,
  onBytes?: (bytes: number) => void,
  limiter?: Pick<RateLimiter, "take" | "burst">,
  watch?: WriteWatch,
): Promise<number> {
  // A separate loop keeps the unlimited path free of extra awaits.
  if (limiter) return await copyLimited(src, dst, limiter, onBytes, watch);
  let total = 0;
  // read() into one reused buffer, even where readChunk() exists: writing into
  // fresh memory per chunk measured 10x costlier than reusing warm memory.
  // It grows while reads fill it and goes back to a shared pool when the flow
  // stops (relay_buffer.ts), so an idle direction holds 1 KiB.
  const rb = new RelayBuffer();
  for (let n; (n = await src.read(rb.buf)) !== null;) {
    const buf = rb.buf;
    if (dst.tryWrite?.(n === buf.length ? buf : buf.subarray(0, n))) {
      // Taken whole without waiting (a mux stream copies it into its queue): no await, no promise.
      if (watch) watch.progress++;
    } else if (watch) {
      // Two field writes per chunk; the process-wide sweep does the timing.
      watch.pending = true;
      for (let off = 0; off < n; watch.progress++) {
        off += await dst.write(off === 0 && n === buf.length ? buf : buf.subarray(off, n));
      }
      watch.pending = false;
    } else {
      await writeAll(dst, buf.subarray(0, n));
    }
    total += n;
    onBytes?.(n);
    rb.afterRead(n);
  }
  rb.release();
  await dst.closeWrite();
  return total;
}

async function copyLimited(
  src: Duplex,
  dst: Duplex,
  limiter: Pick<RateLimiter, "take" | "burst">,
  onBytes?: (bytes: number) => void,
  watch?: WriteWatch,
): Promise<number> {
  let total = 0;
  // Pieces of at most one burst, so a big chunk does not owe seconds at once.
  const write = async (chunk: Uint8Array) => {
    for (let off = 0; off < chunk.length;) {
      const end = Math.min(chunk.length, off + limiter.burst);
      const ms = limiter.take(end - off);
      if (ms > 0) await new Promise((r) => setTimeout(r, ms));
      if (watch) watch.pending = true;
      await writeAll(dst, chunk.subarray(off, end));
      if (watch) {
        watch.pending = false;
        watch.progress++;
      }
      onBytes?.(end - off);
      total += end - off;
      off = end;
    }
  };
  if (src.readChunk) {
    for (let chunk; (chunk = await src.readChunk()) !== null;) await write(chunk);
  } else {
    const buf = new Uint8Array(Math.min(MAX_BUFFER, Math.max(INITIAL_BUFFER, limiter.burst)));
    for (let n; (n = await src.read(buf)) !== null;) await write(buf.subarray(0, n));
  }
  await dst.closeWrite();
  return total;
}

/**
 * Relays `a` ⇄ `b` with half-close: when one side ends its writing, the other
 * side's writing half is ended and the opposite direction keeps flowing.
 * An error in either direction closes both streams. Both are closed when the
 * promise settles, so no descriptor leaks. Never rejects.
 *
 * A relay never outlives its streams: when either one breaks from the other
 * side (its `signal` aborts: a mux stream reset, or its session died), or a
 * write makes no progress for `writeTimeoutMs`, both are reset (or closed),
 * which also rejects a write blocked on a peer that stopped reading.
 *
 * @example
 * ```ts
 * import { relay } from "./relay.ts";
 * const a = await Deno.connect({ port: 7 });
 * const b = await Deno.connect({ port: 9 });
 * let up = 0;
 * await relay(a, b, { onAToB: (n) => up += n });
 * ```
 */
export async function relay(a: Duplex, b: Duplex, opts: RelayOptions = {}): Promise<RelayResult> {
  const result: RelayResult = { aToB: 0, bToA: 0 };
  // Either end may already be closed (an abort, the other direction's error):
  // Deno.Conn throws on a second close, which must not make the relay reject.
  const closeBoth = () => {
    closeQuietly(a);
    closeQuietly(b);
  };
  const onAToB = (n: number) => {
    result.aToB += n;
    opts.onAToB?.(n);
  };
  const onBToA = (n: number) => {
    result.bToA += n;
    opts.onBToA?.(n);
  };
  const abortBoth = () => {
    abort(a);
    abort(b);
  };
  const timeoutMs = opts.writeTimeoutMs ?? defaultWriteTimeout();
  const watchAB = timeoutMs > 0 ? new WriteWatch(timeoutMs, abortBoth).start() : undefined;
  const watchBA = timeoutMs > 0 ? new WriteWatch(timeoutMs, abortBoth).start() : undefined;
  const forgetA = onBreak(a, abortBoth);
  const forgetB = onBreak(b, abortBoth);
  try {
    await Promise.all([
      copy(a, b, onAToB, opts.limitAToB, watchAB).catch(closeBoth),
      copy(b, a, onBToA, opts.limitBToA, watchBA).catch(closeBoth),
    ]);
  } finally {
    watchAB?.stop();
    watchBA?.stop();
    forgetA?.();
    forgetB?.();
    closeBoth();
  }
  return result;
}

/**
 * Runs `cb` when `x` breaks from the other side (`onBreak`, else `signal`,
 * e.g. through an encryption wrapper); returns how to stop listening.
 */
function onBreak(x: Duplex, cb: () => void): (() => void) | undefined {
  if (x.onBreak) return x.onBreak(cb);
  const signal = x.signal;
  if (!signal) return undefined;
  signal.addEventListener("abort", cb);
  if (signal.aborted) cb();
  return () => signal.removeEventListener("abort", cb);
}

function closeQuietly(x: Duplex): void {
  try {
    x.close();
  } catch {
    // Already closed.
  }
}

/** Resets `x` if it can (a mux stream: the peer learns at once), else closes it. */
function abort(x: Duplex): void {
  try {
    if (x.reset) x.reset();
    else x.close();
  } catch {
    // Already closed.
  }
}
