/**
 * Streams a backend's response to the user: interim answers (100 Continue,
 * 103 Early Hints) pass straight through, `responseHeaders.set` is applied,
 * the body keeps its framing, and a `101 Switching Protocols` turns the
 * connection into a raw two-way relay.
 *
 * @example
 * ```ts
 * import { streamResponse } from "./http_response.ts";
 * import type { ResponseSink } from "./http_response.ts";
 * import type { Sent } from "./http_send.ts";
 * declare const sink: ResponseSink, sent: Sent;
 * const backendKeeps = await streamResponse(sink, sent, "GET");
 * ```
 *
 * @module
 */

import { type Duplex, writeAll } from "../../net/duplex.ts";
import { relay } from "../../net/relay.ts";
import { MESSAGE_SENT, pumpBody } from "./body_pump.ts";
import {
  HttpError,
  keepsAlive,
  parseResponseHead,
  responseFraming,
  serializeResponseHead,
  setHeader,
} from "./http_parser.ts";
import type { HttpReader } from "./http_reader.ts";
import type { Sent } from "./http_send.ts";
import type { Work, WorkSlot } from "./work_conn.ts";

/** Largest request or response head accepted. */
export const MAX_HEAD = 64 * 1024;

/** What streaming a response needs from the user connection. */
export interface ResponseSink {
  readonly user: Duplex;
  /** Reads the user's connection: bytes it holds go to the backend after a 101. */
  readonly reader: HttpReader;
  /** The user connection's work connection. */
  readonly slot: WorkSlot;
  /** Called once the response has begun: an error can no longer be answered with a page. */
  responding(): void;
  /** A reused buffer for response heads and small bodies. */
  responseScratch(): Uint8Array;
}

/**
 * Streams the response whose head `sent` holds to `sink.user`. Resolves to
 * whether the backend keeps its connection for another request (false
 * after a protocol switch, which relays until either side closes).
 */
export async function streamResponse(
  sink: ResponseSink,
  sent: Sent,
  method: string,
): Promise<boolean> {
  const { work, bodyDone } = sent;
  const route = work.route;
  const stats = route.ctx.stats;
  let respHead = sent.head;
  // A head passed on as received needs only its framing headers (once checked);
  // interim answers and protocol switches are re-serialised, so they get all.
  const unchanged = route.responseHeaders.length === 0;
  let resp = parseResponseHead(respHead, unchanged);
  if (resp.status < 200 && unchanged) resp = parseResponseHead(respHead);
  // Interim answers (100 Continue, 103 Early Hints) pass straight through.
  while (resp.status >= 100 && resp.status < 200 && resp.status !== 101) {
    await toUser(sink.user, serializeResponseHead(resp), stats);
    const next = await work.reader.readHead(MAX_HEAD, 502);
    if (next === null) throw new HttpError(502, "the backend closed after an interim response");
    resp = parseResponseHead(next);
    respHead = next;
  }
  for (const [name, value] of route.responseHeaders) setHeader(resp.headers, name, value);
  sink.responding();

  if (resp.status === 101) {
    await toUser(sink.user, serializeResponseHead(resp), stats);
    await bodyDone;
    await switchProtocols(sink, work);
    return false;
  }
  const respFraming = responseFraming(resp, method);
  const backendKeeps = keepsAlive(resp.version, resp.headers) && respFraming.kind !== "close";
  // Unchanged heads go out as received: no re-serialising on the common path.
  const scratch = sink.responseScratch();
  const outHead = unchanged ? respHead : serializeResponseHead(resp, scratch);
  await pumpBody(work.reader, sink.user, respFraming, outHead, 502, (n) => {
    stats.trafficOut += n;
  }, scratch);
  if (bodyDone !== MESSAGE_SENT) await bodyDone;
  if (!backendKeeps) sink.slot.drop();
  return backendKeeps;
}

async function toUser(
  user: Duplex,
  bytes: Uint8Array,
  stats: { trafficOut: number },
): Promise<void> {
  await writeAll(user, bytes);
  stats.trafficOut += bytes.length;
}

async function switchProtocols(sink: ResponseSink, work: Work): Promise<void> {
  const stats = work.route.ctx.stats;
  const early = work.reader.drain();
  if (early.length > 0) await toUser(sink.user, early, stats);
  const pending = sink.reader.drain();
  if (pending.length > 0) {
    await writeAll(work.conn, pending);
    stats.trafficIn += pending.length;
  }
  await relay(sink.user, work.conn, {
    onAToB: (n) => stats.trafficIn += n,
    onBToA: (n) => stats.trafficOut += n,
  });
}
