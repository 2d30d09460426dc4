/**
 * An SSH channel as a {@linkcode Duplex}, so relays treat a `forwarded-tcpip`
 * channel like any socket. Two ssh2 details shape it:
 *
 * - half-close sends SSH's EOF alone: ssh2's `end()` on a server channel
 *   sends EOF and CLOSE together, which would cut off the reply still coming
 *   back from the ssh user's local service;
 * - a write still waiting for window when the channel closes is never called
 *   back by ssh2; it fails here on `close`, so a relay cannot hang on it.
 *
 * Reads use `data` events with pause/resume: pausing stops ssh2 from
 * widening the window, which is the SSH-level back-pressure.
 *
 * @example
 * ```ts
 * import { ChannelConn } from "./channel_conn.ts";
 * import type { SshChannel } from "./ssh2.ts";
 * declare const channel: SshChannel;
 * const conn = new ChannelConn(channel);
 * await conn.write(new TextEncoder().encode("hello"));
 * await conn.closeWrite(); // the peer reads EOF and may still answer
 * ```
 *
 * @module
 */

import type { Duplex } from "../../net/duplex.ts";
import type { SshChannel } from "./ssh2.ts";

/** Received bytes held before the channel is paused. */
const QUEUE_HIGH = 256 * 1024;

/** See the module doc. */
export class ChannelConn implements Duplex {
  #queue: Uint8Array[] = [];
  #queued = 0;
  #paused = false;
  #pending: Uint8Array | null = null;
  #ended = false;
  #closed = false;
  #error: Error | null = null;
  #wake: (() => void) | null = null;
  #failWrite: ((err: Error) => void) | null = null;

  /** @param channel an open channel; data may arrive at once */
  constructor(readonly channel: SshChannel) {
    channel.on("data", (chunk: Uint8Array) => {
      this.#queue.push(chunk);
      this.#queued += chunk.length;
      if (this.#queued >= QUEUE_HIGH && !this.#paused) {
        this.#paused = true;
        channel.pause();
      }
      this.#wakeReader();
    });
    channel.on("end", () => {
      this.#ended = true;
      this.#wakeReader();
    });
    channel.on("error", (err: Error) => {
      this.#error ??= err;
      this.#wakeReader();
    });
    channel.on("close", () => {
      this.#ended = true;
      this.#closed = true;
      this.#wakeReader();
      const fail = this.#failWrite;
      this.#failWrite = null;
      fail?.(new Deno.errors.BrokenPipe("ssh channel closed"));
    });
  }

  #wakeReader(): void {
    const w = this.#wake;
    this.#wake = null;
    w?.();
  }

  /** Next chunk as ssh2 delivered it (no copy), or null at end of stream. */
  async readChunk(): Promise<Uint8Array | null> {
    if (this.#pending) {
      const chunk = this.#pending;
      this.#pending = null;
      return chunk;
    }
    for (;;) {
      const chunk = this.#queue.shift();
      if (chunk !== undefined) {
        this.#queued -= chunk.length;
        if (this.#paused && this.#queued < QUEUE_HIGH / 2) {
          this.#paused = false;
          this.channel.resume();
        }
        return chunk;
      }
      if (this.#error) throw this.#error;
      if (this.#ended) return null;
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
  }

  /** Reads into `p`. */
  async read(p: Uint8Array): Promise<number | null> {
    const chunk = await this.readChunk();
    if (chunk === null) return null;
    const n = Math.min(p.length, chunk.length);
    p.set(n === chunk.length ? chunk : chunk.subarray(0, n));
    if (n < chunk.length) this.#pending = chunk.subarray(n);
    return n;
  }

  /** Writes all of `p`; resolves once ssh2 has sent it, so `p` may be reused. */
  write(p: Uint8Array): Promise<number> {
    if (this.#error) return Promise.reject(this.#error);
    if (this.#closed) return Promise.reject(new Deno.errors.BrokenPipe("ssh channel closed"));
    return new Promise((resolve, reject) => {
      this.#failWrite = reject;
      this.channel.write(p, (err) => {
        this.#failWrite = null;
        if (err) reject(err);
        else resolve(p.length);
      });
    });
  }

  /** Sends EOF; the channel stays open for the other direction. */
  closeWrite(): Promise<void> {
    if (!this.#closed) this.channel.eof();
    return Promise.resolve();
  }

  /** Closes the channel (EOF and CLOSE); safe to call more than once. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#ended = true;
    this.channel.destroy();
    this.#wakeReader();
  }
}
