/**
 * The parts of a Node duplex stream (`net.Socket`, `tls.TLSSocket`, an ssh2
 * channel) that dfrp's adapters use: events, pause/resume, write and end.
 * Typed here so the adapters do not depend on Node's stream types.
 *
 * @example
 * ```ts
 * import net from "node:net";
 * import type { NodeStreamLike } from "./node_stream.ts";
 * const stream: NodeStreamLike = net.connect({ host: "127.0.0.1", port: 7000 });
 * stream.on("data", (chunk: Uint8Array) => console.log(chunk.length));
 * ```
 *
 * @module
 */

/** See the module doc. */
export interface NodeStreamLike {
  write(chunk: Uint8Array, cb?: (err?: Error | null) => void): boolean;
  end(cb?: () => void): unknown;
  destroy(err?: Error): unknown;
  pause(): unknown;
  resume(): unknown;
  on(event: string, listener: (...args: any[]) => void): unknown;
  once(event: string, listener: (...args: any[]) => void): unknown;
  removeListener(event: string, listener: (...args: any[]) => void): unknown;
  readonly destroyed: boolean;
}
