/**
 * Sends one rewritten request to the backend of its route and waits for the
 * response head: on the kept work connection when there is one, and once
 * more on a fresh one when a kept connection turns out closed before
 * answering a body-less request (the backend closed it while idle).
 *
 * @example
 * ```ts
 * import { sendRequest } from "./http_send.ts";
 * import type { RequestSource } from "./http_send.ts";
 * import type { HttpRoute } from "./http_route.ts";
 * declare const src: RequestSource, route: HttpRoute, head: Uint8Array, scratch: Uint8Array;
 * const sent = await sendRequest(src, route, { kind: "none" }, head, scratch, "a.example", "/");
 * console.log(sent.head.length);
 * ```
 *
 * @module
 */

import { MESSAGE_SENT, pumpBody } from "./body_pump.ts";
import { type Framing, HttpError } from "./http_parser.ts";
import type { HttpReader } from "./http_reader.ts";
import type { HttpRoute } from "./http_route.ts";
import type { Work, WorkSlot } from "./work_conn.ts";

/** What sending needs from the user connection. */
export interface RequestSource {
  /** Reads the user's connection: the request body comes from here. */
  readonly reader: HttpReader;
  /** The user connection's work connection. */
  readonly slot: WorkSlot;
  /**
   * The response head on `work` once the request body is sent (the
   * response deadline runs meanwhile), or null when the backend closed first.
   */
  responseHead(work: Work, bodyDone: Promise<void>): Promise<Uint8Array | null>;
}

/** A request on its way: the work connection, the response head, and the request body's end. */
export interface Sent {
  work: Work;
  head: Uint8Array;
  bodyDone: Promise<void>;
}

/**
 * Writes `reqHead` and streams the request body (by `framing`) to a work
 * connection for `route`, and resolves once the response head is in.
 * Throws {@linkcode HttpError} 502 when the backend does not answer (and
 * what `responseHead` throws, e.g. 504).
 */
export async function sendRequest(
  src: RequestSource,
  route: HttpRoute,
  framing: Framing,
  reqHead: Uint8Array,
  scratch: Uint8Array,
  host: string,
  path: string,
): Promise<Sent> {
  const stats = route.ctx.stats;
  for (let attempt = 0;; attempt++) {
    const kept = src.slot.for(route);
    const work = kept instanceof Promise ? await kept : kept;
    const reused = work.used;
    work.used = true;
    const bodyDone = pumpBody(src.reader, work.conn, framing, reqHead, 400, (n) => {
      stats.trafficIn += n;
    }, scratch);
    // Whatever happens to the response, a failed body must not go unhandled.
    if (bodyDone !== MESSAGE_SENT) bodyDone.catch(() => {});
    let head: Uint8Array | null = null;
    let error: unknown = null;
    try {
      head = await src.responseHead(work, bodyDone);
    } catch (err) {
      error = err;
    }
    if (head !== null) return { work, head, bodyDone };
    src.slot.drop();
    // A kept connection the backend closed while idle: try once on a fresh one.
    if (reused && attempt === 0 && framing.kind === "none") continue;
    if (error instanceof HttpError) throw error;
    const why = error ? (error as Error).message : "it closed the connection";
    route.ctx.log.warn(`http request for [${host}${path}]: no response from backend: ${why}`);
    throw new HttpError(502, `the backend did not answer: ${why}`);
  }
}
