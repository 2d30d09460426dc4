/**
 * One user connection on the HTTP vhost port: a streaming HTTP/1.1 reverse
 * proxy. Each request head is parsed, routed by Host, path and Basic-auth
 * user, checked against the proxy's `httpUser`/`httpPassword`, rewritten,
 * and sent over a work connection to the client; bodies stream both ways
 * with their framing kept (Content-Length, chunked, or until close). A work
 * connection is kept for the next keep-alive request to the same proxy, and
 * a `101 Switching Protocols` answer turns the exchange into a raw relay.
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
import { type Duplex, writeAll } from "../../net/duplex.ts";
import { relay } from "../../net/relay.ts";
import type { ConnEnds, ProxyContext } from "../proxy/proxy.ts";
import { BASIC_REALM, basicAuthMatches, decodeBasicAuth } from "./basic_auth.ts";
import { ChunkedScanner } from "./chunked.ts";
import { errorResponse } from "./error_page.ts";
import {
  type Framing,
  getHeader,
  getHeaderList,
  type Header,
  HttpError,
  keepsAlive,
  parseRequestHead,
  parseResponseHead,
  requestFraming,
  type RequestHead,
  responseFraming,
  serializeRequestHead,
  serializeResponseHead,
  setHeader,
} from "./http_parser.ts";
import { HttpReader } from "./http_reader.ts";
import type { DeadlineSweeper } from "./deadline_sweeper.ts";
import { requestTarget } from "./request_target.ts";
import type { VhostRouter } from "./router.ts";

/** Largest request or response head accepted. */
export const MAX_HEAD = 64 * 1024;
/** A head and the body bytes already read with it go out in one write up to this size. */
const COALESCE_LIMIT = 16 * 1024;

/** What one http proxy put into the router, for each of its domains and locations. */
export interface HttpRoute {
  /** The proxy's context: work connections, counters, logger. */
  ctx: ProxyContext;
  httpUser: string;
  httpPassword: string;
  hostHeaderRewrite: string;
  /** `requestHeaders.set`. */
  requestHeaders: Header[];
  /** `responseHeaders.set`. */
  responseHeaders: Header[];
  /** Work connections open for this proxy; closed when it goes away. */
  conns: Set<Duplex>;
}

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

interface Work {
  route: HttpRoute;
  conn: Duplex;
  reader: HttpReader;
  used: boolean;
}

/**
 * Serves HTTP requests on `user` until either side ends the connection.
 * Never rejects; closes `user` when done.
 */
export async function serveHttpConn(
  opts: HttpConnOptions,
  user: Duplex,
  ends: ConnEnds,
): Promise<void> {
  const session = new HttpSession(opts, user, ends);
  try {
    await session.run();
  } finally {
    session.close();
  }
}

/**
 * Room for a request or response head and a small body, per direction and
 * per connection: allocating a small Uint8Array per request showed up in
 * the vhost's profile.
 */
const SCRATCH = 4 * 1024;

class HttpSession {
  #reader: HttpReader;
  #requestScratch: Uint8Array | null = null;
  #responseScratch: Uint8Array | null = null;
  #work: Work | null = null;
  #responding = false;
  #deadline = Infinity;
  #phase = Phase.None;
  #awaitingHead = false;
  #timedOut = false;

  constructor(
    readonly opts: HttpConnOptions,
    readonly user: Duplex,
    readonly ends: ConnEnds,
  ) {
    this.#reader = new HttpReader(user);
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
        const head = await this.#reader.readHead(MAX_HEAD);
        this.#phase = Phase.None;
        this.#deadline = Infinity;
        if (head === null || !(await this.#exchange(head))) return;
        // A pipelined request may already be here; else the connection idles.
        if (this.#reader.buffered > 0) this.#await(Phase.Head, this.opts.headerTimeoutMs);
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

  /** One request and its response; resolves to whether the connection stays open. */
  async #exchange(headBytes: Uint8Array): Promise<boolean> {
    const req = parseRequestHead(headBytes);
    if (req.method === "CONNECT") {
      throw new HttpError(405, "CONNECT is not supported on the HTTP vhost port");
    }
    const { host, path, loosePath, proxyForm } = requestTarget(req);
    const authHeader = proxyForm ? "proxy-authorization" : "authorization";
    const creds = decodeBasicAuth(getHeader(req.headers, authHeader));
    // Proxy-form clients that only send Authorization still route by that user (as frp).
    const routeUser = creds?.user ??
      (proxyForm ? decodeBasicAuth(getHeader(req.headers, "authorization"))?.user : "") ?? "";
    const router = this.opts.router;
    if (loosePath !== path && !router.sameRoute(host, path, loosePath, routeUser)) {
      // Backends split "%2F" and "\\" differently; either reading must reach one proxy.
      throw new HttpError(400, "the path reaches different locations depending on how it is read");
    }
    const route = router.find(host, path, routeUser);
    if (!route) {
      this.opts.log.info(`http request for unknown host [${host}] path [${path}]: 404`);
      await this.#answer(errorResponse(404, "", await this.opts.notFoundPage()));
      return false;
    }
    if (
      (route.httpUser || route.httpPassword) &&
      !basicAuthMatches(creds, route.httpUser, route.httpPassword)
    ) {
      route.ctx.log.info(`http request for [${host}] without valid credentials`);
      const status = proxyForm ? 407 : 401;
      const challenge: Header = [
        proxyForm ? "Proxy-Authenticate" : "WWW-Authenticate",
        `Basic realm="${BASIC_REALM}"`,
      ];
      await this.#answer(errorResponse(status, "", undefined, [challenge]));
      return false;
    }
    const framing = requestFraming(req);
    const wantsKeepAlive = keepsAlive(req.version, req.headers);
    this.#rewrite(req, route, host, proxyForm);
    const reqHead = serializeRequestHead(req, this.#requestScratch ??= new Uint8Array(SCRATCH));
    const stats = route.ctx.stats;

    let work: Work;
    let respHead: Uint8Array;
    let bodyDone: Promise<void>;
    for (let attempt = 0;; attempt++) {
      work = await this.#workFor(route);
      const reused = work.used;
      work.used = true;
      bodyDone = pumpBody(this.#reader, work.conn, framing, reqHead, 400, (n) => {
        stats.trafficIn += n;
      }, this.#requestScratch!);
      // Whatever happens to the response, a failed body must not go unhandled.
      bodyDone.catch(() => {});
      let head: Uint8Array | null = null;
      let error: unknown = null;
      try {
        head = await this.#responseHead(work, bodyDone);
      } catch (err) {
        error = err;
      }
      if (head !== null) {
        respHead = head;
        break;
      }
      this.#dropWork();
      // A kept connection the backend closed while idle: try once on a fresh one.
      if (reused && attempt === 0 && framing.kind === "none") continue;
      if (error instanceof HttpError) throw error;
      const why = error ? (error as Error).message : "it closed the connection";
      route.ctx.log.warn(`http request for [${host}${path}]: no response from backend: ${why}`);
      throw new HttpError(502, `the backend did not answer: ${why}`);
    }

    let resp = parseResponseHead(respHead);
    // Interim answers (100 Continue, 103 Early Hints) pass straight through.
    while (resp.status >= 100 && resp.status < 200 && resp.status !== 101) {
      await this.#toUser(serializeResponseHead(resp), stats);
      const next = await work.reader.readHead(MAX_HEAD, 502);
      if (next === null) throw new HttpError(502, "the backend closed after an interim response");
      resp = parseResponseHead(next);
      respHead = next;
    }
    for (const [name, value] of route.responseHeaders) setHeader(resp.headers, name, value);
    this.#responding = true;

    if (resp.status === 101) {
      await this.#toUser(serializeResponseHead(resp), stats);
      await bodyDone;
      await this.#switchProtocols(work);
      return false;
    }
    const respFraming = responseFraming(resp, req.method);
    const backendKeeps = keepsAlive(resp.version, resp.headers) && respFraming.kind !== "close";
    // Unchanged heads go out as received: no re-serialising on the common path.
    const scratch = this.#responseScratch ??= new Uint8Array(SCRATCH);
    const outHead = route.responseHeaders.length > 0
      ? serializeResponseHead(resp, scratch)
      : respHead;
    await pumpBody(work.reader, this.user, respFraming, outHead, 502, (n) => {
      stats.trafficOut += n;
    }, scratch);
    await bodyDone;
    if (!backendKeeps) this.#dropWork();
    return wantsKeepAlive && backendKeeps;
  }

  #rewrite(req: RequestHead, route: HttpRoute, host: string, proxyForm: boolean): void {
    const h = req.headers;
    const ip = this.ends.srcAddr;
    const forwarded = getHeaderList(h, "x-forwarded-for");
    setHeader(h, "X-Forwarded-For", forwarded ? `${forwarded}, ${ip}` : ip);
    setHeader(h, "X-Forwarded-Host", host);
    setHeader(h, "X-Forwarded-Proto", "http");
    setHeader(h, "X-Real-IP", ip);
    if (proxyForm && (route.httpUser || route.httpPassword)) {
      // The credential was meant for this hop, not for the backend.
      const i = h.findIndex(([n]) => n.toLowerCase() === "proxy-authorization");
      if (i >= 0) h.splice(i, 1);
    }
    if (route.hostHeaderRewrite) setHeader(h, "Host", route.hostHeaderRewrite);
    // RFC 9112 §3.2.2: the target's authority replaces whatever Host said.
    else if (proxyForm && getHeader(h, "host") !== host) setHeader(h, "Host", host);
    for (const [name, value] of route.requestHeaders) setHeader(h, name, value);
  }

  async #toUser(bytes: Uint8Array, stats: { trafficOut: number }): Promise<void> {
    await writeAll(this.user, bytes);
    stats.trafficOut += bytes.length;
  }

  /** The response head, or null when the backend closed first; 504 after the timeout. */
  async #responseHead(work: Work, bodyDone: Promise<void>): Promise<Uint8Array | null> {
    const ms = this.opts.timeoutMs;
    this.#timedOut = false;
    let bodyError: unknown = null;
    // Like Go's ResponseHeaderTimeout, the clock starts once the request is sent.
    bodyDone.then(() => {
      if (ms > 0 && this.#awaitingHead) this.#await(Phase.Response, ms);
    }, (err) => {
      bodyError = err;
      work.conn.close();
    });
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
        if (this.#reader.buffered > 0) {
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
        if (this.#reader.buffered === 0) return this.user.close();
        // Fire and forget: a few hundred bytes fit in any socket buffer.
        writeAll(this.user, REQUEST_TIMEOUT).catch(() => {}).finally(() => this.user.close());
        this.#responding = true;
        return;
      }
      case Phase.Response:
        this.#timedOut = true;
        this.#work?.conn.close();
        return;
    }
  }

  #who(): string {
    return `${this.ends.srcAddr}:${this.ends.srcPort}`;
  }

  async #workFor(route: HttpRoute): Promise<Work> {
    if (this.#work?.route === route) return this.#work;
    this.#dropWork();
    let conn: Duplex;
    try {
      conn = await route.ctx.openWorkConn(this.ends);
    } catch (err) {
      route.ctx.log.warn(`no work connection: ${(err as Error).message}`);
      throw new HttpError(502, `no connection to the backend: ${(err as Error).message}`);
    }
    route.conns.add(conn);
    route.ctx.stats.curConns++;
    route.ctx.stats.totalConns++;
    this.#work = { route, conn, reader: new HttpReader(conn), used: false };
    return this.#work;
  }

  #dropWork(): void {
    const work = this.#work;
    if (!work) return;
    this.#work = null;
    work.conn.close();
    if (work.route.conns.delete(work.conn)) work.route.ctx.stats.curConns--;
  }

  async #switchProtocols(work: Work): Promise<void> {
    const stats = work.route.ctx.stats;
    const early = work.reader.drain();
    if (early.length > 0) await this.#toUser(early, stats);
    const pending = this.#reader.drain();
    if (pending.length > 0) {
      await writeAll(work.conn, pending);
      stats.trafficIn += pending.length;
    }
    await relay(this.user, work.conn, {
      onAToB: (n) => stats.trafficIn += n,
      onBToA: (n) => stats.trafficOut += n,
    });
  }

  close(): void {
    this.opts.sweeper.delete(this);
    this.#dropWork();
    this.user.close();
  }
}

/**
 * Streams one message body from `reader` to `dst`, keeping its framing, with
 * `head` in front. The head goes out with the body bytes already buffered
 * in one write when they are small, and alone at once otherwise, so a
 * backend that sends its head and then thinks is not held up. The joined
 * write is built in `scratch` when it fits (the head may already sit at its
 * start), not in a fresh array.
 */
async function pumpBody(
  reader: HttpReader,
  dst: Duplex,
  framing: Framing,
  head: Uint8Array,
  errorStatus: number,
  onBytes: (n: number) => void,
  scratch?: Uint8Array,
): Promise<void> {
  let pendingHead: Uint8Array | null = head;
  const buffered = reader.buffered;
  if (framing.kind === "none" || buffered === 0 || buffered > COALESCE_LIMIT) {
    await writeAll(dst, head);
    onBytes(head.length);
    pendingHead = null;
  }
  const write = async (data: Uint8Array) => {
    if (pendingHead) {
      const both = join(pendingHead, data, scratch);
      pendingHead = null;
      await writeAll(dst, both);
      onBytes(both.length);
      return;
    }
    await writeAll(dst, data);
    onBytes(data.length);
  };
  switch (framing.kind) {
    case "none":
      return;
    case "length": {
      let left = framing.length;
      while (left > 0) {
        const data = await reader.peek();
        if (data === null) throw new Deno.errors.UnexpectedEof("stream ended inside a body");
        const n = Math.min(left, data.length);
        await write(data.subarray(0, n));
        reader.consume(n);
        left -= n;
      }
      return;
    }
    case "chunked": {
      const scanner = new ChunkedScanner(errorStatus);
      while (!scanner.done) {
        const data = await reader.peek();
        if (data === null) throw new Deno.errors.UnexpectedEof("stream ended inside a body");
        const n = scanner.scan(data);
        await write(data.subarray(0, n));
        reader.consume(n);
      }
      return;
    }
    case "close":
      for (let data; (data = await reader.peek()) !== null;) {
        await write(data);
        reader.consume(data.length);
      }
      await dst.closeWrite();
      return;
  }
}

/** `head` then `data` in one array: in `scratch` when both fit, else a new one. */
function join(head: Uint8Array, data: Uint8Array, scratch?: Uint8Array): Uint8Array {
  const total = head.length + data.length;
  if (!scratch || total > scratch.length) {
    const both = new Uint8Array(total);
    both.set(head);
    both.set(data, head.length);
    return both;
  }
  if (head.buffer !== scratch.buffer || head.byteOffset !== scratch.byteOffset) scratch.set(head);
  scratch.set(data, head.length);
  return scratch.subarray(0, total);
}
