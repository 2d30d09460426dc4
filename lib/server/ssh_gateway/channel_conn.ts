/**
 * An SSH channel as a dfrp connection, so relays treat a `forwarded-tcpip`
 * channel like any socket. Built on {@linkcode NodeSocketConn}, with one
 * change: half-close sends SSH's EOF alone. ssh2's own `end()` on a server
 * channel sends EOF and CLOSE together, which would cut off the reply still
 * coming back from the ssh user's local service.
 *
 * @example
 * ```ts
 * import { channelConn } from "./channel_conn.ts";
 * import type { SshChannel } from "./ssh2.ts";
 * declare const channel: SshChannel;
 * const conn = channelConn(channel, "203.0.113.5:51234");
 * await conn.write(new TextEncoder().encode("hello"));
 * await conn.closeWrite(); // the peer reads EOF and may still answer
 * ```
 *
 * @module
 */

import { NodeSocketConn, type NodeSocketLike } from "../../transport/node_socket_conn.ts";
import type { SshChannel } from "./ssh2.ts";

/** Wraps `channel`; `remoteAddr` names the peer in logs. */
export function channelConn(channel: SshChannel, remoteAddr: string): NodeSocketConn {
  // ssh2 never calls back a write still waiting for window when the channel
  // closes; fail it then, so the relay does not wait forever.
  let pending: ((err?: Error | null) => void) | undefined;
  channel.on("close", () => {
    const cb = pending;
    pending = undefined;
    cb?.(new Deno.errors.BrokenPipe("ssh channel closed"));
  });
  const socket: NodeSocketLike = {
    write: (chunk, cb) => {
      pending = cb;
      return channel.write(chunk, (err) => {
        if (pending !== cb) return;
        pending = undefined;
        cb?.(err);
      });
    },
    end: (cb) => {
      channel.eof();
      cb?.();
    },
    destroy: () => channel.destroy(),
    pause: () => channel.pause(),
    resume: () => channel.resume(),
    on: (event, listener) => channel.on(event, listener),
    once: (event, listener) => channel.once(event, listener),
    removeListener: (event, listener) => channel.removeListener(event, listener),
    get destroyed() {
      return channel.destroyed;
    },
  };
  return new NodeSocketConn(socket, remoteAddr);
}
