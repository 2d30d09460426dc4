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

import { ChunkQueue } from "../../net/chunk_queue.ts";
import type { Duplex } from "../../net/duplex.ts";
import type { SshChannel } from "./ssh2.ts";

/** Received bytes held before the channel is paused. */
const QUEUE_HIGH = 256 * 1024;

/** See the module doc. */
export class ChannelConn extends ChunkQueue implements Duplex {
  #closed = false;
  #failWrite: ((err: Error) => void) | null = null;

  /** @param channel an open channel; data may arrive at once */
  constructor(readonly channel: SshChannel) {
    super(QUEUE_HIGH, channel);
    channel.on("data", (chunk: Uint8Array) => this.push(chunk));
    channel.on("end", () => this.finish());
    channel.on("error", (err: Error) => this.fail(err));
    channel.on("close", () => {
      this.#closed = true;
      this.finish();
      const fail = this.#failWrite;
      this.#failWrite = null;
      fail?.(new Deno.errors.BrokenPipe("ssh channel closed"));
    });
  }

  /** Writes all of `p`; resolves once ssh2 has sent it, so `p` may be reused. */
  write(p: Uint8Array): Promise<number> {
    if (this.error) return Promise.reject(this.error);
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
    this.channel.destroy();
    this.stop();
  }
}
