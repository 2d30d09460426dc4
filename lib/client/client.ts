/**
 * The dfrp client: keeps a control connection to the server, registers its
 * proxies, serves the work connections the server sends, and reconnects with
 * exponential backoff and jitter when the connection is lost.
 *
 * @example
 * ```ts
 * import { DfrpClient } from "./client.ts";
 * import { defaultClientConfig } from "../config/mod.ts";
 * const client = new DfrpClient({ ...defaultClientConfig(), serverAddr: "127.0.0.1" });
 * await client.start(); // resolves after the first login
 * await client.close();
 * ```
 *
 * @module
 */

import type { ClientConfig, ProxyConfig } from "../config/mod.ts";
import { log as rootLog, type Logger } from "../log.ts";
import type { Duplex } from "../net/duplex.ts";
import { setDefaultWriteTimeout, sleep, WriteWatch } from "../net/timeout.ts";
import { MuxSession, TUNNEL_STREAM_WINDOW } from "../mux/mod.ts";
import { newProxyMessage } from "../protocol/new_proxy.ts";
import { expectMessage } from "../protocol/codec.ts";
import { ControlChannel } from "../protocol/control_channel.ts";
import type { Message, StartWorkConn } from "../protocol/messages.ts";
import type { TransportConn } from "../transport/transport.ts";
import { dialServer, dialWorkConn, HANDSHAKE_TIMEOUT_MS, login, LoginError } from "./login.ts";
import { oidcFields } from "./oidc_token.ts";
import type { ClientProxy } from "./proxy/proxy.ts";
import { clientProxyFactory } from "./proxy/registry.ts";
import { pluginProxyFactory } from "./proxy/plugin_proxy.ts";
import { VISITED_TYPES } from "./proxy/visitor_check.ts";
import { HealthChecker } from "./health_check.ts";
import { VisitorManager } from "./visitor/manager.ts";
import { serverChannelOpener } from "./visitor/dial.ts";
import { endpointName, serverEndpoints } from "./servers.ts";
import "./proxy/mod.ts";

/** Status of one proxy as the client sees it. */
export interface ProxyStatus {
  name: string;
  type: string;
  /** "new", "running", "start error", "closed". */
  status: string;
  err: string;
  remoteAddr: string;
}

/** A logged-in connection to the server. */
interface ServerLink {
  /** The server this link is logged in to (one of `[[servers]]`). */
  server: ClientConfig;
  conn: TransportConn;
  mux: MuxSession | null;
  control: ControlChannel;
}

const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 4_000;

/**
 * See the module doc. Events (`CustomEvent`s): `login` ({runId}),
 * `disconnect` ({reason}), `proxy` (a {@linkcode ProxyStatus} after the
 * server accepted or refused a proxy).
 */
export class DfrpClient extends EventTarget {
  readonly log: Logger;
  #runId = "";
  #resumeKey = "";
  /** Enabled proxies by name: the source of truth that reloads edit. */
  #configs = new Map<string, ProxyConfig>();
  #proxies = new Map<string, ClientProxy>();
  #status = new Map<string, ProxyStatus>();
  #closing = false;
  #stop = new AbortController();
  #current?: ServerLink;
  #loop?: Promise<void>;
  #workConns = new Set<Duplex>();
  #checkers = new Map<string, HealthChecker>();
  /** Visitors (stcp, sudp) by name, with `handOver` and `status()`. */
  readonly visitors: VisitorManager;
  /** The servers to try, in order (failover), and the one in use. */
  #endpoints: ClientConfig[];
  #active = 0;
  /** `serversMode = "all"`: one client per server, each with every proxy. */
  #fanout?: DfrpClient[];

  /** @param config a loaded client config (defaults filled, `start` applied) */
  constructor(readonly config: ClientConfig, logger: Logger = rootLog) {
    super();
    this.log = logger;
    this.#endpoints = serverEndpoints(config);
    if (config.serversMode === "all" && this.#endpoints.length > 1) {
      this.#fanout = this.#endpoints.map((server) => {
        const child = new DfrpClient(
          { ...server, visitors: [] },
          logger.with(`server ${endpointName(server)}`),
        );
        for (const type of ["login", "disconnect", "proxy"]) {
          child.addEventListener(type, (e) => {
            const detail = (e as CustomEvent).detail;
            this.dispatchEvent(
              new CustomEvent(type, { detail: { ...detail, server: endpointName(server) } }),
            );
          });
        }
        return child;
      });
    }
    // With several servers at once, visitors go through the first one.
    const linkOf = (c: DfrpClient) =>
      c.#current && { ...c.#current, config: c.#current.server, runId: c.#runId };
    this.visitors = new VisitorManager(
      config,
      logger,
      serverChannelOpener(
        config,
        () => this.#fanout ? linkOf(this.#fanout[0]) : linkOf(this),
      ),
    );
    for (const proxy of config.proxies) {
      if (proxy.enabled === false) continue;
      if (this.#configs.has(proxy.name)) {
        throw new Error(`proxy [${proxy.name}] is configured twice`);
      }
      this.#track(proxy);
    }
  }

  #track(proxy: ProxyConfig): void {
    this.#configs.set(proxy.name, proxy);
    this.#status.set(proxy.name, {
      name: proxy.name,
      type: proxy.type,
      status: "new",
      err: "",
      remoteAddr: "",
    });
  }

  /** The configs of the proxies this client runs now. */
  get proxies(): ProxyConfig[] {
    return [...this.#configs.values()];
  }

  /**
   * Adds and registers a proxy while running. Throws if the name is taken.
   *
   * @example
   * ```ts
   * import { DfrpClient } from "./client.ts";
   * declare const client: DfrpClient;
   * client.addProxy({ ...client.proxies[0], name: "web2", remotePort: 0 });
   * ```
   */
  addProxy(proxy: ProxyConfig): void {
    if (this.#configs.has(proxy.name)) throw new Error(`proxy [${proxy.name}] already exists`);
    if (this.#fanout) {
      for (const child of this.#fanout) child.addProxy(proxy);
      if (proxy.enabled !== false) this.#track(proxy);
      return;
    }
    if (proxy.enabled === false) return;
    this.#track(proxy);
    if (!this.#closing) this.#startHealthCheck(proxy);
    const control = this.#current?.control;
    if (control) this.#register(control, proxy);
  }

  /**
   * Withdraws a proxy while running; its open connections finish. Returns
   * whether it existed.
   */
  removeProxy(name: string): boolean {
    if (!this.#configs.delete(name)) return false;
    if (this.#fanout) {
      this.#status.delete(name);
      for (const child of this.#fanout) child.removeProxy(name);
      return true;
    }
    this.#status.delete(name);
    this.#checkers.get(name)?.stop();
    this.#checkers.delete(name);
    this.#proxies.get(name)?.close();
    this.#proxies.delete(name);
    this.#current?.control.send({ type: "CloseProxy", proxyName: name }).catch(() => {});
    this.log.with(name).info("proxy removed");
    return true;
  }

  /**
   * Makes the running proxies equal `next` (a hot reload): new names are
   * added, missing ones removed, changed ones restarted; unchanged proxies,
   * and their open connections, are not touched.
   */
  updateProxies(
    next: readonly ProxyConfig[],
  ): { added: string[]; removed: string[]; changed: string[] } {
    const wanted = new Map(next.filter((p) => p.enabled !== false).map((p) => [p.name, p]));
    const result = { added: [] as string[], removed: [] as string[], changed: [] as string[] };
    for (const name of [...this.#configs.keys()]) {
      const proxy = wanted.get(name);
      if (!proxy) {
        this.removeProxy(name);
        result.removed.push(name);
      } else if (JSON.stringify(proxy) !== JSON.stringify(this.#configs.get(name))) {
        this.removeProxy(name);
        this.addProxy(proxy);
        result.changed.push(name);
      }
    }
    for (const [name, proxy] of wanted) {
      if (!this.#configs.has(name)) {
        this.addProxy(proxy);
        result.added.push(name);
      }
    }
    return result;
  }

  /** The run id the server gave this client ("" before the first login). */
  get runId(): string {
    if (this.#fanout) return this.#fanout[0].runId;
    return this.#runId;
  }

  /**
   * Every configured proxy's status. With `serversMode = "all"` a proxy is
   * "running" when every server accepted it; otherwise its status and error
   * are those of the first server that did not, named in `err`, and
   * `remoteAddr` lists every server's answer.
   */
  status(): ProxyStatus[] {
    if (!this.#fanout) return [...this.#status.values()].map((s) => ({ ...s }));
    const perServer = this.#fanout.map((c) => new Map(c.status().map((s) => [s.name, s])));
    return [...this.#status.values()].map((s) => {
      const all = perServer.map((m) => m.get(s.name)).filter((x) => x !== undefined);
      const bad = all.findIndex((x) => x.status !== "running");
      const merged = { ...s, remoteAddr: all.map((x) => x.remoteAddr).filter(Boolean).join(",") };
      if (bad < 0 && all.length > 0) return { ...merged, status: "running", err: "" };
      const first = all[bad] ?? s;
      const where = endpointName(this.#endpoints[bad] ?? this.config);
      return { ...merged, status: first.status, err: first.err && `${where}: ${first.err}` };
    });
  }

  /** The server in use (`host:port`), or every server with `serversMode = "all"`. */
  get servers(): string[] {
    if (this.#fanout) return this.#endpoints.map(endpointName);
    return [endpointName(this.#endpoints[this.#active])];
  }

  /**
   * Logs in and starts the reconnect loop. Resolves after the first login;
   * rejects with {@linkcode LoginError} if it fails and `loginFailExit` is set
   * (otherwise keeps retrying in the background).
   */
  async start(): Promise<void> {
    setDefaultWriteTimeout(this.config.transport.writeTimeout * 1000);
    if (this.#fanout) {
      await this.visitors.start();
      await Promise.all(this.#fanout.map((c) => c.start()));
      this.#loop = Promise.all(this.#fanout.map((c) => c.done)).then(() => {});
      return;
    }
    for (const proxy of this.#configs.values()) this.#startHealthCheck(proxy);
    await this.visitors.start();
    if (this.config.loginFailExit) {
      const link = await this.#connectUnlessRefused();
      this.#loop = this.#run(link);
    } else {
      this.#loop = this.#run(null);
    }
  }

  /** Resolves when the client has stopped for good. */
  get done(): Promise<void> {
    return this.#loop ?? Promise.resolve();
  }

  /**
   * Logs in, retrying only while the server names a delay (its address
   * limit, e.g. someone else's wrong logins from the same address): that is
   * no reason for `loginFailExit` to give up. Any other failure rejects.
   */
  async #connectUnlessRefused(): Promise<ServerLink> {
    for (;;) {
      try {
        return await this.#connect();
      } catch (err) {
        const retryAfter = err instanceof LoginError ? err.retryAfter : undefined;
        if (retryAfter === undefined || this.#closing) throw err;
        const delay = retryAfter * 1000 * (1 + Math.random() * 0.2);
        this.log.warn(
          `login to the server failed: ${
            (err as Error).message
          }; the server asks to wait, retrying in ${Math.round(delay)} ms`,
        );
        await sleep(delay, this.#stop.signal);
      }
    }
  }

  /**
   * Logs in to the server in use or, failing that, to each next one in
   * `[[servers]]` order; throws the last error when none answers.
   */
  async #connect(): Promise<ServerLink> {
    let lastErr: unknown;
    for (let i = 0; i < this.#endpoints.length; i++) {
      const index = (this.#active + i) % this.#endpoints.length;
      try {
        const link = await this.#connectTo(this.#endpoints[index]);
        this.#active = index;
        return link;
      } catch (err) {
        lastErr = err;
        if (this.#closing) break;
        if (this.#endpoints.length > 1) {
          this.log.warn(
            `server ${endpointName(this.#endpoints[index])}: ${(err as Error).message}`,
          );
        }
      }
    }
    throw lastErr;
  }

  async #connectTo(server: ClientConfig): Promise<ServerLink> {
    const conn = await dialServer(server);
    try {
      const previous = this.#runId ? { runId: this.#runId, resumeKey: this.#resumeKey } : null;
      const { runId, resumeKey } = await login(conn, server, previous);
      this.#runId = runId;
      this.#resumeKey = resumeKey;
      let mux: MuxSession | null = null;
      let control = new ControlChannel(conn);
      if (this.config.transport.tcpMux) {
        mux = new MuxSession(conn, {
          client: true,
          streamWindow: TUNNEL_STREAM_WINDOW,
          keepaliveIntervalMs: Math.max(this.config.transport.tcpMuxKeepaliveInterval, 0) * 1000,
          maxIncomingStreams: this.config.transport.tcpMuxMaxIncomingStreams,
        });
        control = new ControlChannel(mux.open());
      }
      const where = this.#endpoints.length > 1 ? ` on ${endpointName(server)}` : "";
      this.log.info(`login to server success, get run id [${runId}]${where}`);
      this.dispatchEvent(new CustomEvent("login", { detail: { runId } }));
      return { server, conn, mux, control };
    } catch (err) {
      conn.close();
      throw err;
    }
  }

  async #run(first: ServerLink | null): Promise<void> {
    let attempt = 0;
    let link = first;
    while (!this.#closing) {
      if (!link) {
        try {
          link = await this.#connect();
        } catch (err) {
          if (this.#closing) break;
          const kind = err instanceof LoginError
            ? "login to the server failed"
            : "connect to server error";
          // The server's named delay (address rate limit) wins over the backoff.
          const named = err instanceof LoginError && err.retryAfter ? err.retryAfter * 1000 : 0;
          const delay = Math.max(named, Math.min(BACKOFF_FIRST_MS * 2 ** attempt, BACKOFF_MAX_MS)) *
            (0.8 + Math.random() * 0.4);
          attempt++;
          this.log.warn(`${kind}: ${(err as Error).message}; retrying in ${Math.round(delay)} ms`);
          await sleep(delay, this.#stop.signal);
          continue;
        }
      }
      attempt = 0;
      this.#current = link;
      const reason = await this.#serve(link);
      this.#current = undefined;
      for (const s of this.#status.values()) s.status = "new";
      if (!this.#closing) this.log.warn(`connection to server lost: ${reason}; reconnecting`);
      this.dispatchEvent(new CustomEvent("disconnect", { detail: { reason } }));
      link = null;
      // Failover: a lost server is tried last, after every other one.
      this.#active = (this.#active + 1) % this.#endpoints.length;
    }
  }

  /** Runs one logged-in link; resolves with why it ended. */
  async #serve(link: ServerLink): Promise<string> {
    const { conn, mux, control } = link;
    const ended = new AbortController();
    let reason = "";
    const end = (why: string) => {
      if (ended.signal.aborted) return;
      reason = why;
      ended.abort();
      mux?.close(why);
      control.close();
      conn.close();
    };
    const onStop = () => end("client is closing");
    this.#stop.signal.addEventListener("abort", onStop, { once: true });
    // close() may have run while this link was still logging in.
    if (this.#stop.signal.aborted) end("client is closing");
    mux?.closed.then((why) => end(why));
    if (mux) this.#acceptStreams(mux);
    const heartbeat = this.#startHeartbeat(control, end);
    for (const proxy of this.#configs.values()) {
      if (this.#checkers.get(proxy.name)?.healthy === false) continue;
      this.#register(control, proxy);
    }
    try {
      for (let msg; (msg = await control.receive()) !== null;) {
        heartbeat.seen();
        this.#handle(msg);
      }
      end("server closed the control connection");
    } catch (err) {
      end(ended.signal.aborted ? reason : (err as Error).message);
    }
    heartbeat.stop();
    this.#stop.signal.removeEventListener("abort", onStop);
    for (const proxy of this.#proxies.values()) proxy.close();
    this.#proxies.clear();
    return reason;
  }

  #registering: Promise<void> = Promise.resolve();

  #register(control: ControlChannel, proxy: ProxyConfig): void {
    // Only what the server needs: no secretKey, plugin options or local address.
    // Chained, so proxies register in config order although the group proof is async.
    const message = newProxyMessage(proxy);
    this.#registering = this.#registering
      .then(() => message)
      .then((msg) => control.send(msg))
      .catch((err) =>
        this.log.debug(`[${proxy.name}] NewProxy not sent: ${(err as Error).message}`)
      );
  }

  #startHealthCheck(proxy: ProxyConfig): void {
    const check = proxy.healthCheck;
    if (!check?.type) return;
    const log = this.log.with(proxy.name);
    const checker = new HealthChecker(
      check,
      proxy.localIP ?? "127.0.0.1",
      Number(proxy.localPort ?? 0),
      (healthy, reason) => {
        const control = this.#current?.control;
        const status = this.#status.get(proxy.name);
        if (healthy) {
          log.info("health check success");
          if (control) this.#register(control, proxy);
          return;
        }
        log.warn(`health check failed: ${reason}`);
        if (status) Object.assign(status, { status: "check failed", err: reason });
        this.#proxies.get(proxy.name)?.close();
        this.#proxies.delete(proxy.name);
        control?.send({ type: "CloseProxy", proxyName: proxy.name }).catch(() => {});
      },
    );
    this.#checkers.set(proxy.name, checker);
    checker.start();
  }

  #startHeartbeat(control: ControlChannel, end: (why: string) => void) {
    const intervalMs = this.config.transport.heartbeatInterval * 1000;
    const timeoutMs = this.config.transport.heartbeatTimeout * 1000;
    let last = Date.now();
    let timer: ReturnType<typeof setInterval> | undefined;
    if (intervalMs > 0) {
      timer = setInterval(() => {
        if (timeoutMs > 0 && Date.now() - last > timeoutMs) return end("heartbeat timeout");
        oidcFields(this.config, "HeartBeats")
          .then((fields) => control.send({ type: "Ping", ...fields }))
          .catch((err) => this.log.warn(`heartbeat not sent: ${(err as Error).message}`));
      }, intervalMs);
    }
    return {
      seen: () => last = Date.now(),
      stop: () => clearInterval(timer),
    };
  }

  #handle(msg: Message): void {
    switch (msg.type) {
      case "NewProxyResp": {
        const status = this.#status.get(msg.proxyName);
        const config = this.#configs.get(msg.proxyName);
        if (!status || !config) return;
        const log = this.log.with(msg.proxyName);
        if (msg.error) {
          status.status = "start error";
          status.err = msg.error;
          log.warn(`start error: ${msg.error}`);
          this.dispatchEvent(new CustomEvent("proxy", { detail: { ...status } }));
          return;
        }
        // Visited types check each visitor before their plugin sees a byte.
        const factory = config.plugin?.type && !VISITED_TYPES.has(config.type)
          ? pluginProxyFactory
          : clientProxyFactory(config.type);
        if (!factory) {
          status.status = "start error";
          status.err = `proxy type ${config.type} is not supported by this client`;
          log.warn(status.err);
          return;
        }
        this.#proxies.get(msg.proxyName)?.close();
        this.#proxies.set(msg.proxyName, factory(config, { clientConfig: this.config, log }));
        Object.assign(status, { status: "running", err: "", remoteAddr: msg.remoteAddr });
        log.info("start proxy success");
        this.dispatchEvent(new CustomEvent("proxy", { detail: { ...status } }));
        return;
      }
      case "ReqWorkConn":
        this.#poolWorkConn();
        return;
      case "Pong":
        if (msg.error) this.log.warn(`heartbeat answered with error: ${msg.error}`);
        return;
      default:
        this.log.warn(`unexpected ${msg.type} message from the server, ignored`);
    }
  }

  async #acceptStreams(mux: MuxSession): Promise<void> {
    for (let stream; (stream = await mux.accept()) !== null;) {
      this.#serveWorkConn(stream);
    }
  }

  async #poolWorkConn(): Promise<void> {
    let conn: TransportConn;
    try {
      conn = await dialWorkConn(this.#current?.server ?? this.config, this.#runId);
    } catch (err) {
      this.log.warn(`new work connection error: ${(err as Error).message}`);
      return;
    }
    await this.#serveWorkConn(conn, 0);
  }

  /** Reads the StartWorkConn header of a work connection and hands it to its proxy. */
  async #serveWorkConn(conn: Duplex, timeoutMs = HANDSHAKE_TIMEOUT_MS): Promise<void> {
    this.#workConns.add(conn);
    try {
      let start: StartWorkConn;
      // The deadline rides on the process-wide write-watch sweep: a timer set
      // and cleared per tunneled connection was 3% of its CPU on this side.
      let timedOut = false;
      const deadline = timeoutMs > 0
        ? new WriteWatch(timeoutMs, () => {
          timedOut = true;
          conn.close();
        }).start()
        : undefined;
      if (deadline) deadline.pending = true;
      try {
        start = await expectMessage(conn, "StartWorkConn");
      } catch (err) {
        const why = timedOut
          ? `waiting for StartWorkConn timed out after ${timeoutMs} ms`
          : (err as Error).message;
        if (!this.#closing) this.log.debug(`work connection dropped: ${why}`);
        conn.close();
        return;
      } finally {
        deadline?.stop();
      }
      const proxy = this.#proxies.get(start.proxyName) ??
        await this.#awaitStart(start.proxyName);
      if (!proxy) {
        this.log.warn(`work connection for unknown proxy [${start.proxyName}], closed`);
        conn.close();
        return;
      }
      await proxy.handleWorkConn(conn, start);
    } finally {
      this.#workConns.delete(conn);
    }
  }

  /**
   * The server only hands out work connections for proxies it accepted, but a
   * pooled work connection travels apart from the control connection, so its
   * StartWorkConn can overtake the NewProxyResp: wait for that answer.
   */
  async #awaitStart(name: string): Promise<ClientProxy | undefined> {
    if (this.#status.get(name)?.status !== "new") return undefined;
    const { promise, resolve } = Promise.withResolvers<void>();
    const onProxy = (event: Event) => {
      if ((event as CustomEvent<ProxyStatus>).detail.name === name) resolve();
    };
    const timer = setTimeout(resolve, HANDSHAKE_TIMEOUT_MS);
    const onStop = () => resolve();
    this.addEventListener("proxy", onProxy);
    this.#stop.signal.addEventListener("abort", onStop);
    await promise;
    clearTimeout(timer);
    this.removeEventListener("proxy", onProxy);
    this.#stop.signal.removeEventListener("abort", onStop);
    return this.#proxies.get(name);
  }

  /** Closes the link and every connection; no reconnect follows. */
  async close(): Promise<void> {
    this.#closing = true;
    this.#stop.abort();
    if (this.#fanout) await Promise.all(this.#fanout.map((c) => c.close()));
    for (const checker of this.#checkers.values()) checker.stop();
    this.visitors.close();
    const current = this.#current;
    if (current) {
      current.mux?.close("client is closing");
      current.conn.close();
    }
    for (const conn of this.#workConns) conn.close();
    await this.#loop;
  }
}
