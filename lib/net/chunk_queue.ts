/**
 * A {@linkcode ChunkReader} fed by events (a Node stream's `data`, `end`,
 * `error`): received chunks wait in a queue, and when more than `highWater`
 * bytes wait the source is paused through `flow` until the reader has taken
 * the queue below half of that (back-pressure). Adapters of Node-style
 * streams (an SSH channel, a `node:tls` socket) extend it and add writing.
 *
 * @example
 * ```ts
 * import { ChunkQueue } from "./chunk_queue.ts";
 * class Fed extends ChunkQueue {
 *   feed(chunk: Uint8Array): void {
 *     this.push(chunk);
 *   }
 * }
 * const fed = new Fed(1024, { pause() {}, resume() {} });
 * fed.feed(new TextEncoder().encode("hi"));
 * await fed.readChunk(); // "hi"
 * ```
 *
 * @module
 */

import { ChunkReader } from "./chunk_reader.ts";

/** Switches the flow of received data off and on (back-pressure). */
export interface FlowControl {
  pause(): void;
  resume(): void;
}

/** See the module doc. */
export class ChunkQueue extends ChunkReader {
  #queue: Uint8Array[] = [];
  #queued = 0;
  #paused = false;
  #received = false;
  #ended = false;
  #stopped = false;
  #error: Error | null = null;
  #wake: (() => void) | null = null;

  /**
   * @param highWater received bytes held before `flow` is paused
   * @param flow how to stop and restart received data
   */
  constructor(readonly highWater: number, readonly flow: FlowControl) {
    super();
  }

  /** The first error the source reported, if any. */
  protected get error(): Error | null {
    return this.#error;
  }

  /** Whether any chunk has been read yet. */
  protected get received(): boolean {
    return this.#received;
  }

  /** Queues a received chunk; pauses the source above the high-water mark. */
  protected push(chunk: Uint8Array): void {
    this.#queue.push(chunk);
    this.#queued += chunk.length;
    if (this.#queued >= this.highWater && !this.#paused) {
      this.#paused = true;
      this.flow.pause();
    }
    this.#wakeReader();
  }

  /** The source reached its end: reads return null once the queue is empty. */
  protected finish(): void {
    this.#ended = true;
    this.#wakeReader();
  }

  /** The source failed: reads throw the first error once the queue is empty. */
  protected fail(err: Error): void {
    this.#error ??= err;
    this.#wakeReader();
  }

  /** Closed on this side: reads return null once the queue is empty. */
  protected stop(): void {
    this.#stopped = true;
    this.#wakeReader();
  }

  /**
   * What a read at the end of the stream throws (`error` is the source's
   * error, null at a clean end); null means end of stream. By default the
   * source's error.
   */
  protected endError(error: Error | null): Error | null {
    return error;
  }

  #wakeReader(): void {
    const w = this.#wake;
    this.#wake = null;
    w?.();
  }

  /** Next queued chunk, waiting for one; null at end of stream. */
  protected async nextChunk(): Promise<Uint8Array | null> {
    for (;;) {
      const chunk = this.#queue.shift();
      if (chunk !== undefined) {
        this.#received = true;
        this.#queued -= chunk.length;
        if (this.#paused && this.#queued < this.highWater / 2) {
          this.#paused = false;
          this.flow.resume();
        }
        return chunk;
      }
      if (this.#error) throw this.endError(this.#error) ?? this.#error;
      if (this.#ended) {
        const err = this.endError(null);
        if (err) throw err;
        return null;
      }
      if (this.#stopped) return null;
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
  }
}
