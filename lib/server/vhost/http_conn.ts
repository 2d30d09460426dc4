/**
 * One user connection on the HTTP vhost port: a streaming HTTP/1.1 reverse
 * proxy. Each request head is read and parsed here, then routed and checked
 * (`http_route.ts`), rewritten and sent over a work connection to the client
 * (`http_send.ts`, `work_conn.ts`), and its response streamed back
 * (`http_response.ts`); bodies keep their framing both ways
 * (`body_pump.ts`). A work connection is kept for the next keep-alive
 * request to the same proxy.
 *
 * This file owns the connection's deadlines: for a request head
 * (`vhostHTTPHeaderTimeout`), between keep-alive requests
 * (`vhostHTTPIdleTimeout`) and for the backend's response head
 * (`vhostHTTPTimeout`), all checked by the listener's one
 * {@linkcode DeadlineSweeper}.
 *
 * @example
 * ```ts
 * import { serveHttpConn } from "./http_conn.ts";
 * import type { HttpConnOptions } from "./http_conn.ts";
 * declare const opts: HttpConnOptions;
 * declare const user: Deno.TcpConn;
 * await serveHttpConn(opts, user, { srcAddr: "1.2.3.4", srcPort: 5555, dstAddr: "0.0.0.0", dstPort: 80 });
 * ```
 *
 * @module
 */

import type { Logger } from "../../log.ts";
import { MESSAGE_SENT } from "./body_pump.ts";
import { type Duplex, writeAll } from "../../net/duplex.ts";
import type { ConnEnds } from "../proxy/proxy.ts";
import type { DeadlineSweeper } from "./deadline_sweeper.ts";
import { errorResponse } from "./error_page.ts";
import {
  HttpError,
  keepsAlive,
  parseRequestHead,
  requestFraming,
  serializeRequestHead,
} from "./http_parser.ts";
import { HttpReader } from "./http_reader.ts";
import { MAX_HEAD, type ResponseSink, streamResponse } from "./http_response.ts";
import { authChallenge, type HttpRoute, rewriteRequest, routeRequest } from "./http_route.ts";
import { type RequestSource, sendRequest, type Sent } from "./http_send.ts";
import type { VhostRouter } from "./router.ts";
import { NoWorkConn, type Work, WorkSlot } from "./work_conn.ts";

export type { HttpRoute } from "./http_route.ts";
export { MAX_HEAD } from "./http_response.ts";

/** What every connection on the vhost port shares. */
export interface HttpConnOptions {
  router: VhostRouter<HttpRoute>;
  /** How long a backend may take to start answering (`vhostHTTPTimeout`); 0 = forever. */
  timeoutMs: number;
  /** How long a user may take to send a request head (`vhostHTTPHeaderTimeout`); 0 = forever. */
  headerTimeoutMs: number;
  /** How long a kept-alive connection may idle between requests (`vhostHTTPIdleTimeout`). */
  idleTimeoutMs: number;
  /** The listener's one deadline checker. */
  sweeper: DeadlineSweeper;
  /** The body of the 404 page. */
  notFoundPage(): Promise<Uint8Array>;
  log: Logger;
}

/** What a connection's deadline, when set, is waiting for. */
const enum Phase {
  /** Nothing: a body or response is streaming. */
  None,
  /** A request head; the connection is closed when it does not come in time. */
  Head,
  /** The first byte of the next request on a kept-alive connection. */
  Idle,
  /** The backend's response head: 504 when it does not come in time. */
  Response,
}

const REQUEST_TIMEOUT = errorResponse(408, "the request head did not arrive in time");

/**
 * Serves HTTP requests on `user` until either side ends the connection.
 * Never rejects; closes `user` when done.
 */
export async function serveHttpConn(
  opts: HttpConnOptions,
  user: Duplex,
  ends: ConnEnds,
): Promise<void> {
  const conn = new HttpConnection(opts, user, ends);
  try {
    await conn.run();
  } finally {
    conn.close();
  }
}

/**
 * Room for a request or response head and a small body, per direction and
 * per connection: allocating a small Uint8Array per request showed up in
 * the vhost's profile.
 */
const SCRATCH = 4 * 1024;

class HttpConnection implements RequestSource, ResponseSink {
  readonly reader: HttpReader;
  readonly slot: WorkSlot;
  #requestScratch: Uint8Array | null = null;
  #responseScratch: Uint8Array | null = null;
  #responding = false;
  #deadline = Infinity;
  #phase = Phase.None;
  #awaitingHead = false;
  #timedOut = false;
  /** The group members a request already failed to reach (see {@linkcode #exchange}). */
  readonly #tried = new Set<HttpRoute>();

  constructor(
    readonly opts: HttpConnOptions,
    readonly user: Duplex,
    readonly ends: ConnEnds,
  ) {
    this.reader = new HttpReader(user);
    this.slot = new WorkSlot(ends);
    this.#await(Phase.Head, opts.headerTimeoutMs);
    opts.sweeper.add(this);
  }

  /** Sets the deadline for `phase` `ms` from now (none when `ms` is 0). */
  #await(phase: Phase, ms: number): void {
    this.#phase = phase;
    this.#deadline = ms > 0 ? Date.now() + ms : Infinity;
  }

  async run(): Promise<void> {
    for (;;) {
      this.#responding = false;
      try {
        const head = await this.reader.readHead(MAX_HEAD);
        this.#phase = Phase.None;
        this.#deadline = Infinity;
        if (head === null || !(await this.#exchange(head))) return;
        // A pipelined request may already be here; else the connection idles.
        if (this.reader.buffered > 0) this.#await(Phase.Head, this.opts.headerTimeoutMs);
        else this.#await(Phase.Idle, this.opts.idleTimeoutMs);
      } catch (err) {
        await this.#failed(err);
        return;
      }
    }
  }

  async #failed(err: unknown): Promise<void> {
    const who = this.#who();
    if (!(err instanceof HttpError)) {
      this.opts.log.debug(`http connection from ${who} ended: ${(err as Error).message}`);
      return;
    }
    this.opts.log.warn(`http request from ${who}: ${err.status} ${err.message}`);
    if (this.#responding) return;
    await this.#answer(errorResponse(err.status, err.message));
  }

  async #answer(response: Uint8Array): Promise<void> {
    try {
      await writeAll(this.user, response);
    } catch {
      // The user went away; nothing to tell.
    }
  }

  /**
   * One request and its response; resolves to whether the connection stays
   * open. A group member whose work connection cannot be opened (its client
   * left, or its cluster node died and its routes have not lapsed yet) has
   * read nothing of the request, so the next member of the group takes it;
   * a member tried already, or a route without a group, gets a 502. One
   * async function for all of it: each level of awaiting costs every request.
   */
  async #exchange(headBytes: Uint8Array): Promise<boolean> {
    // One set per connection, emptied per request: rarely used, allocated once.
    const tried = this.#tried;
    if (tried.size > 0) tried.clear();
    for (;;) {
      // Parsed again on each try: rewriting a request for one member changes its headers.
      const req = parseRequestHead(headBytes);
      const routed = routeRequest(this.opts.router, req);
      const { route, host, path, proxyForm, routeUser } = routed;
      if (!route) {
        this.opts.log.info(`http request for unknown host [${host}] path [${path}]: 404`);
        await this.#answer(errorResponse(404, "", await this.opts.notFoundPage()));
        return false;
      }
      const challenge = authChallenge(route, routed);
      if (challenge) {
        await this.#answer(challenge);
        return false;
      }
      const framing = requestFraming(req);
      const wantsKeepAlive = keepsAlive(req.version, req.headers);
      rewriteRequest(req, route, host, proxyForm, this.ends.srcAddr);
      const scratch = this.#requestScratch ??= new Uint8Array(SCRATCH);
      const reqHead = serializeRequestHead(req, scratch);
      let sent: Sent;
      try {
        sent = await sendRequest(this, route, framing, reqHead, scratch, host, path);
      } catch (err) {
        if (!(err instanceof NoWorkConn)) throw err;
        if (tried.has(route) || this.opts.router.memberCount(host, path, routeUser) < 2) {
          throw new HttpError(502, err.message);
        }
        tried.add(route);
        continue;
      }
      const backendKeeps = await streamResponse(this, sent, req.method);
      return wantsKeepAlive && backendKeeps;
    }
  }

  /** See {@linkcode ResponseSink.responding}. */
  responding(): void {
    this.#responding = true;
  }

  /** See {@linkcode ResponseSink.responseScratch}. */
  responseScratch(): Uint8Array {
    return this.#responseScratch ??= new Uint8Array(SCRATCH);
  }

  /** The response head, or null when the backend closed first; 504 after the timeout. */
  async responseHead(work: Work, bodyDone: Promise<void>): Promise<Uint8Array | null> {
    const ms = this.opts.timeoutMs;
    this.#timedOut = false;
    let bodyError: unknown = null;
    // Like Go's ResponseHeaderTimeout, the clock starts once the request is sent.
    if (bodyDone === MESSAGE_SENT) {
      if (ms > 0) this.#await(Phase.Response, ms);
    } else {
      bodyDone.then(() => {
        if (ms > 0 && this.#awaitingHead) this.#await(Phase.Response, ms);
      }, (err) => {
        bodyError = err;
        work.conn.close();
      });
    }
    this.#awaitingHead = true;
    let head: Uint8Array | null = null;
    try {
      head = await work.reader.readHead(MAX_HEAD, 502);
    } catch (err) {
      if (!this.#timedOut && !bodyError) throw err;
    } finally {
      this.#awaitingHead = false;
      this.#phase = Phase.None;
      this.#deadline = Infinity;
    }
    if (bodyError) throw bodyError;
    if (this.#timedOut) {
      work.route.ctx.log.warn(`http request: backend did not answer within ${ms / 1000} s`);
      throw new HttpError(504, `the backend did not answer within ${ms / 1000} s`);
    }
    return head;
  }

  /**
   * Called by the sweeper. Past the deadline: an idle connection whose next
   * request has begun gets the head timeout from now, else it is closed; a
   * request head that is late gets 408 and the close; a late response head
   * ends the work connection (the user gets 504).
   */
  checkDeadline(now: number): void {
    if (now < this.#deadline) return;
    this.#deadline = Infinity;
    switch (this.#phase) {
      case Phase.Idle:
        if (this.reader.buffered > 0) {
          const ms = this.opts.headerTimeoutMs;
          this.#phase = Phase.Head;
          if (ms > 0) this.#deadline = now + ms;
          return;
        }
        this.opts.log.debug(`http connection from ${this.#who()} idle: closed`);
        this.user.close();
        return;
      case Phase.Head: {
        this.opts.log.debug(`http connection from ${this.#who()}: no request head in time`);
        if (this.reader.buffered === 0) return this.user.close();
        // Fire and forget: a few hundred bytes fit in any socket buffer.
        writeAll(this.user, REQUEST_TIMEOUT).catch(() => {}).finally(() => this.user.close());
        this.#responding = true;
        return;
      }
      case Phase.Response:
        this.#timedOut = true;
        this.slot.current?.conn.close();
        return;
    }
  }

  #who(): string {
    return `${this.ends.srcAddr}:${this.ends.srcPort}`;
  }

  close(): void {
    this.opts.sweeper.delete(this);
    this.slot.drop();
    this.user.close();
  }
}
