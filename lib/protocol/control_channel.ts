/**
 * A control connection: messages in, messages out, with sends serialised so
 * that concurrent senders (replies, heartbeats, work requests) never
 * interleave the bytes of two frames.
 *
 * @example
 * ```ts
 * import { ControlChannel } from "./control_channel.ts";
 * const channel = new ControlChannel(await Deno.connect({ port: 7000 }));
 * await channel.send({ type: "Ping" });
 * const msg = await channel.receive();
 * ```
 *
 * @module
 */

import type { Duplex } from "../net/duplex.ts";
import { encodeMessage, readMessage } from "./codec.ts";
import type { Message, MessageInit } from "./messages.ts";
import { writeAll } from "../net/duplex.ts";

/** See the module doc. */
export class ControlChannel {
  #tail: Promise<void> = Promise.resolve();

  /** @param conn the stream the messages travel on */
  constructor(readonly conn: Duplex) {}

  /** Queues `msg` behind earlier sends; rejects if the connection fails. */
  send(msg: MessageInit): Promise<void> {
    const frame = encodeMessage(msg);
    const sent = this.#tail.then(() => writeAll(this.conn, frame));
    // A failed send must not wedge the queue for later callers.
    this.#tail = sent.catch(() => {});
    return sent;
  }

  /** The next message, or `null` when the peer closed cleanly. */
  receive(): Promise<Message | null> {
    return readMessage(this.conn);
  }

  /** Closes the underlying stream. */
  close(): void {
    this.conn.close();
  }
}
