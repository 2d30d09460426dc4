/**
 * One logged-in client on the server: its control channel, its proxies, and
 * the work connections it provides (streams of its mux session, or a pool of
 * separate connections when `tcpMux` is off).
 *
 * @example
 * ```ts
 * import { ClientControl } from "./control.ts";
 * declare const control: ClientControl;
 * await control.run(); // until the client goes away
 * ```
 *
 * @module
 */

import { clip, type Logger, quote } from "../log.ts";
import type { Duplex } from "../net/duplex.ts";
import { writeAll } from "../net/duplex.ts";
import { withTimeout } from "../net/timeout.ts";
import type { MuxSession } from "../mux/mod.ts";
import { encodeMessage, ProtocolError } from "../protocol/codec.ts";
import type { ControlChannel } from "../protocol/control_channel.ts";
import type { Login, Message, NewProxy } from "../protocol/messages.ts";
import { newProxyView } from "../protocol/new_proxy.ts";
import type { TransportConn } from "../transport/transport.ts";
import type { ConnEnds, ServerProxy } from "./proxy/proxy.ts";
import { serverProxyFactory } from "./proxy/registry.ts";
import { ProxyStats } from "./stats.ts";
import { acceptVisitorStreams } from "./visitor/accept.ts";
import { admitProxy, portsFor } from "./auth/admission.ts";
import { findUser, scopedProxyName } from "./auth/users.ts";
import { checkPingToken } from "./auth/login_check.ts";
import { errorForClient } from "./client_errors.ts";
import { notifyCloseProxy, pongFor } from "./plugin/ops.ts";
import type { ServerServices } from "./services.ts";

interface RunningProxy {
  proxy: ServerProxy;
  type: string;
  /** Cluster mode: the proxy's name and `maxProxies` slot held cluster-wide. */
  fence?: { release(): void };
}

/** See the module doc. */
export class ClientControl {
  readonly log: Logger;
  readonly loginTime = new Date();
  #proxies = new Map<string, RunningProxy>();
  #pool: TransportConn[] = [];
  #poolWaiters: Array<(conn: TransportConn) => void> = [];
  #closed = false;
  #lastHeartbeat = Date.now();
  #heartbeatTimer?: ReturnType<typeof setInterval>;
  #done: Promise<void>;
  #finish!: () => void;

  /**
   * @param services shared server state
   * @param runId the client's run id
   * @param login what the client sent
   * @param control the control channel (a mux stream, or the raw connection)
   * @param mux the client's mux session when `tcpMux` is on
   * @param remoteAddr the client's address
   */
  constructor(
    readonly services: ServerServices,
    readonly runId: string,
    readonly login: Login,
    readonly control: ControlChannel,
    readonly mux: MuxSession | null,
    readonly remoteAddr: string,
  ) {
    this.log = services.log.with(runId);
    this.#done = new Promise((r) => this.#finish = r);
  }

  /** Server-side names (`user.name`) of the proxies running now. */
  get proxyNames(): string[] {
    return [...this.#proxies.keys()];
  }

  /** Resolves once the control has closed. */
  get done(): Promise<void> {
    return this.#done;
  }

  /** Reads control messages until the client goes away, then cleans up. */
  async run(): Promise<void> {
    const { config } = this.services;
    if (!this.mux) {
      // Fill the client's pool up front so the first user need not wait.
      const count = Math.min(this.login.poolCount, config.transport.maxPoolCount);
      for (let i = 0; i < count; i++) this.control.send({ type: "ReqWorkConn" }).catch(() => {});
    }
    // With tcpMux the default is -1 (the mux keepalive watches); a timeout set explicitly applies too.
    const timeout = config.transport.heartbeatTimeout * 1000;
    if (timeout > 0) {
      this.#heartbeatTimer = setInterval(() => {
        if (Date.now() - this.#lastHeartbeat > timeout) this.close("heartbeat timeout");
      }, Math.min(timeout, 1000));
    }
    this.mux?.closed.then((reason) => this.close(`connection lost: ${reason}`));
    // Streams the client opens after its control stream are visitor connections.
    acceptVisitorStreams(this);
    try {
      for (let msg; (msg = await this.control.receive()) !== null;) {
        this.#lastHeartbeat = Date.now();
        await this.#handle(msg);
      }
      this.close("client closed the control connection");
    } catch (err) {
      // A frame that fails its schema ends this client's control only; the reason is escaped.
      if (err instanceof ProtocolError && !this.#closed) {
        this.log.warn(`client ${this.remoteAddr} sent a bad message: ${err.message}`);
      }
      this.close(this.#closed ? "closed" : `control connection failed: ${(err as Error).message}`);
    }
    await this.#done;
  }

  async #handle(msg: Message): Promise<void> {
    switch (msg.type) {
      case "NewProxy":
        await this.#newProxy(msg);
        break;
      case "CloseProxy":
        this.#closeProxy(scopedProxyName(this.#user, String(msg.proxyName ?? "")));
        break;
      case "Ping": {
        // OIDC with additionalScopes HeartBeats: each heartbeat carries a valid token (oidc.ts).
        const denied = await checkPingToken(this.services, this.login, msg, this.remoteAddr);
        if (denied) {
          const error = errorForClient(this.services.config, "invalid ping", denied);
          await this.control.send({ type: "Pong", error }).catch(() => {});
          this.close(denied);
          break;
        }
        const pong = await pongFor(this.services, this.login, this.runId);
        if (pong.error) {
          pong.error = errorForClient(this.services.config, "invalid ping", pong.error);
        }
        await this.control.send(pong);
        break;
      }
      default:
        this.log.warn(`unexpected ${quote(msg.type)} message on the control channel, ignored`);
    }
  }

  /** The login user, which scopes this client's proxy names. */
  get #user(): string {
    return this.login.user;
  }

  async #newProxy(msg: NewProxy): Promise<void> {
    // The client's own name travels on the wire; the server knows the proxy as `user.name`.
    const wireName = msg.proxyName;
    const name = scopedProxyName(this.#user, wireName);
    const reply = (remoteAddr: string, error: string) => {
      // A proxy the dashboard knows (it ran before) shows why it is not running now.
      if (error) this.services.stats.get(name)?.noteError(`registration refused: ${error}`);
      return this.control.send({
        type: "NewProxyResp",
        proxyName: wireName,
        remoteAddr,
        error: errorForClient(this.services.config, `new proxy [${wireName}] error`, error),
      });
    };
    const factory = serverProxyFactory(msg.proxyType);
    const log = this.services.log.with(name);
    if (!wireName) return reply("", "proxy name is empty");
    if (!factory) {
      return reply("", `proxy type ${quote(msg.proxyType)} is not supported by this server`);
    }
    if (this.#proxies.has(name) || this.#nameTakenElsewhere(name)) {
      return reply("", `proxy [${name}] is already in use`);
    }
    // [[auth.users]] limits and NewProxy plugins (lib/server/auth/admission.ts).
    msg = { ...msg, proxyName: name };
    const denied = await admitProxy(this.services, this.login, this.runId, msg);
    if (denied) {
      log.warn(`proxy refused for user [${clip(this.login.user)}]: ${denied}`);
      return reply("", denied);
    }
    // A proxy that comes back keeps its counters, as frp's dashboard does.
    const previous = this.services.stats.get(name);
    const stats = previous?.type === msg.proxyType ? previous : new ProxyStats(name, msg.proxyType);
    const proxy = factory(msg, {
      name,
      services: this.services,
      serverConfig: this.services.config,
      ports: portsFor(this.services, this.login.user),
      clientId: this.runId,
      user: this.login.user,
      metas: this.login.metas,
      log,
      stats,
      openWorkConn: (ends) => this.openWorkConn(wireName, ends),
      openWorkConnWith: (ends, head) => this.openWorkConn(wireName, ends, head),
    });
    let remoteAddr: string;
    let fence: { release(): void } | undefined;
    try {
      // Cluster mode: the name and the user's maxProxies hold across every node, atomically.
      fence = await this.services.placement?.claimProxy(
        { proxyName: name, clientId: this.runId, user: this.login.user, type: msg.proxyType },
        findUser(this.services.config, this.login.user)?.maxProxies ?? 0,
      );
      remoteAddr = await proxy.start();
    } catch (err) {
      fence?.release();
      proxy.close();
      const reason = (err as Error).message;
      log.warn(`start proxy error: ${reason}`);
      return reply("", reason);
    }
    if (this.#closed) {
      fence?.release();
      return proxy.close();
    }
    this.#proxies.set(name, { proxy, type: msg.proxyType, fence });
    Object.assign(stats, {
      owner: this.runId,
      clientRunId: this.runId,
      clientID: this.login.clientID ?? "",
      user: this.login.user,
      // What the admin API shows: no password, key or proof of one.
      config: newProxyView(msg),
      lastStartTime: new Date(),
    });
    this.services.stats.set(name, stats);
    log.info(`${msg.proxyType} proxy listen at ${remoteAddr} success`);
    await reply(remoteAddr, "");
  }

  #nameTakenElsewhere(name: string): boolean {
    const stats = this.services.stats.get(name);
    return stats !== undefined && stats.owner !== undefined && stats.owner !== this.runId;
  }

  #closeProxy(name: string): void {
    const running = this.#proxies.get(name);
    if (!running) return;
    running.proxy.close();
    running.fence?.release();
    this.#proxies.delete(name);
    const stats = this.services.stats.get(name);
    if (stats) Object.assign(stats, { owner: undefined, lastCloseTime: new Date() });
    this.log.info(`[${name}] proxy closed`);
    notifyCloseProxy(this.services, this.login, this.runId, name);
  }

  /** Adds a pooled work connection (tcpMux off) that the client dialed in. */
  addPoolConn(conn: TransportConn): void {
    if (this.#closed) return conn.close();
    const waiter = this.#poolWaiters.shift();
    if (waiter) return waiter(conn);
    if (this.#pool.length >= this.services.config.transport.maxPoolCount) return conn.close();
    this.#pool.push(conn);
  }

  /**
   * A work connection for the client's proxy `name` (its own, unscoped name),
   * already sent its `StartWorkConn` and, in the same write, `head` (the
   * user's first bytes) if given.
   */
  async openWorkConn(name: string, ends: ConnEnds, head?: Uint8Array): Promise<Duplex> {
    if (this.#closed) throw new Error("client control is closed");
    let start = encodeMessage({ type: "StartWorkConn", proxyName: name, ...ends });
    if (head?.length) {
      const both = new Uint8Array(start.length + head.length);
      both.set(start);
      both.set(head, start.length);
      start = both;
    }
    if (this.mux) {
      const stream = this.mux.open();
      await writeAll(stream, start);
      return stream;
    }
    const conn = await this.#takePoolConn();
    try {
      await writeAll(conn, start);
    } catch (err) {
      conn.close();
      throw err;
    }
    return conn;
  }

  #takePoolConn(): Promise<TransportConn> {
    // Ask for a replacement whether or not the pool had one, like frp.
    this.control.send({ type: "ReqWorkConn" }).catch(() => {});
    const pooled = this.#pool.shift();
    if (pooled) return Promise.resolve(pooled);
    let resolve!: (conn: TransportConn) => void;
    const wait = new Promise<TransportConn>((r) => resolve = r);
    this.#poolWaiters.push(resolve);
    const timeoutMs = this.services.config.userConnTimeout * 1000;
    return withTimeout(wait, timeoutMs, "waiting for a work connection").catch((err) => {
      const i = this.#poolWaiters.indexOf(resolve);
      if (i >= 0) this.#poolWaiters.splice(i, 1);
      // A connection may still arrive for this waiter after the deadline.
      wait.then((conn) => this.addPoolConn(conn));
      throw err;
    });
  }

  /** Ends the control: closes its proxies (freeing their ports) and connections. */
  close(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#heartbeatTimer);
    for (const name of [...this.#proxies.keys()]) this.#closeProxy(name);
    for (const conn of this.#pool.splice(0)) conn.close();
    this.#poolWaiters.length = 0;
    this.control.close();
    this.mux?.close(reason);
    this.log.info(`client ${this.remoteAddr} disconnected: ${reason}`);
    this.#finish();
  }
}
