/**
 * Frames control messages on a byte stream: a 4-byte big-endian length, then
 * that many bytes of UTF-8 JSON. Reads take exactly one frame and never read
 * ahead, so a pooled work connection can turn into a raw pipe right after its
 * `StartWorkConn`.
 *
 * @example
 * ```ts
 * import { readMessage, writeMessage } from "./codec.ts";
 * const conn = await Deno.connect({ port: 7000 });
 * await writeMessage(conn, { type: "Ping" });
 * const reply = await readMessage(conn);
 * ```
 *
 * @module
 */

import { type Duplex, readFull, writeAll } from "../net/duplex.ts";
import {
  type Message,
  type MessageInit,
  type MessageType,
  parseMessage,
  ProtocolError,
} from "./messages.ts";

export { ProtocolError };

/** Largest control frame body either side accepts, in bytes. */
export const MAX_MESSAGE_SIZE = 64 * 1024;

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Encodes one message as a frame.
 *
 * @example
 * ```ts
 * import { encodeMessage } from "./codec.ts";
 * const frame = encodeMessage({ type: "Ping" });
 * ```
 */
export function encodeMessage(msg: MessageInit): Uint8Array {
  const json = JSON.stringify(msg);
  // UTF-8 straight into the frame (at most 3 bytes per UTF-16 unit): no
  // second buffer and copy per message.
  const room = new Uint8Array(4 + json.length * 3);
  const size = encoder.encodeInto(json, room.subarray(4)).written;
  if (size > MAX_MESSAGE_SIZE) {
    throw new ProtocolError(
      `${msg.type} message is ${size} bytes, over ${MAX_MESSAGE_SIZE}`,
    );
  }
  const frame = room.subarray(0, 4 + size);
  new DataView(room.buffer).setUint32(0, size);
  return frame;
}

/**
 * Writes one message.
 *
 * @example
 * ```ts
 * import { writeMessage } from "./codec.ts";
 * const conn = await Deno.connect({ port: 7000 });
 * await writeMessage(conn, { type: "Ping" });
 * ```
 */
export async function writeMessage(
  conn: Pick<Duplex, "write">,
  msg: MessageInit,
): Promise<void> {
  await writeAll(conn, encodeMessage(msg));
}

/**
 * Reads one message; `null` when the stream ended cleanly between frames.
 * Throws {@linkcode ProtocolError} for an oversized or non-JSON frame, an
 * unknown message, or one whose fields fail its schema in `messages.ts`
 * (the error names the field and the type expected).
 *
 * @example
 * ```ts
 * import { readMessage } from "./codec.ts";
 * const conn = await Deno.connect({ port: 7000 });
 * const msg = await readMessage(conn);
 * if (msg?.type === "Pong") console.log("alive");
 * ```
 */
export async function readMessage(conn: Pick<Duplex, "read">): Promise<Message | null> {
  const header = new Uint8Array(4);
  const first = await conn.read(header);
  if (first === null) return null;
  if (first < 4) await readFull(conn, header.subarray(first));
  const size = new DataView(header.buffer).getUint32(0);
  if (size > MAX_MESSAGE_SIZE) {
    throw new ProtocolError(`frame of ${size} bytes exceeds the ${MAX_MESSAGE_SIZE}-byte limit`);
  }
  const body = new Uint8Array(size);
  await readFull(conn, body);
  return decodeBody(body);
}

/**
 * Decodes and validates one frame body (the JSON after the length).
 *
 * @example
 * ```ts
 * import { decodeBody } from "./codec.ts";
 * const msg = decodeBody(new TextEncoder().encode('{"type":"Ping"}'));
 * ```
 */
export function decodeBody(body: Uint8Array): Message {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(body));
  } catch {
    throw new ProtocolError("frame is not UTF-8 JSON");
  }
  return parseMessage(value);
}

/**
 * Reads one message and checks its type, failing with a clear error otherwise.
 *
 * @example
 * ```ts
 * import { expectMessage } from "./codec.ts";
 * const conn = await Deno.connect({ port: 7000 });
 * const hello = await expectMessage(conn, "ServerHello");
 * console.log(hello.nonce);
 * ```
 */
export async function expectMessage<T extends MessageType>(
  conn: Pick<Duplex, "read">,
  type: T,
): Promise<Extract<Message, { type: T }>> {
  const msg = await readMessage(conn);
  if (msg === null) throw new ProtocolError(`connection closed while waiting for ${type}`);
  if (msg.type !== type) throw new ProtocolError(`expected ${type}, got ${msg.type}`);
  return msg as Extract<Message, { type: T }>;
}
