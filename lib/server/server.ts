/**
 * The dfrp server: accepts clients on `bindPort`, checks their login, and
 * runs one {@linkcode ClientControl} per client (frp: Control).
 *
 * @example
 * ```ts
 * import { DfrpServer } from "./server.ts";
 * import { defaultServerConfig } from "../config/mod.ts";
 * const server = new DfrpServer({ ...defaultServerConfig(), bindPort: 0 });
 * await server.start();
 * console.log(server.port);
 * await server.close();
 * ```
 *
 * @module
 */

import { registeredClusterStarter } from "./placement.ts";
import type { ServerConfig } from "../config/mod.ts";
import { clip, log as rootLog, type Logger } from "../log.ts";
import { setDefaultWriteTimeout, withTimeout } from "../net/timeout.ts";
import { MuxSession, TUNNEL_STREAM_WINDOW } from "../mux/mod.ts";
import { boundToTls, prove, randomHex } from "../protocol/auth.ts";
import { ProtocolError, readMessage } from "../protocol/codec.ts";
import { ControlChannel } from "../protocol/control_channel.ts";
import { isMagic } from "../protocol/magic.ts";
import { type Login, type NewWorkConn, PROTOCOL_VERSION } from "../protocol/messages.ts";
import { tcpTransport } from "../transport/tcp.ts";
import { pemFingerprint } from "../transport/fingerprint.ts";
import { SERVER_CERT_FILE } from "../transport/server_identity.ts";
import { QuietClose } from "../transport/server_unwrap.ts";
import type { TransportConn, TransportListener } from "../transport/transport.ts";
import { PortManager } from "./ports.ts";
import { checkLogin, checkWorkConn, type LoginVerdict } from "./auth/login_check.ts";
import { RunIds } from "./auth/run_ids.ts";
import { errorForClient } from "./client_errors.ts";
import { handshakeTimeoutMs } from "./auth/handshake_deadline.ts";
import { tokenWarnings } from "./auth/startup_warnings.ts";
import { type ServerFeature, serverFeatureFactories } from "./feature.ts";
import { ClientControl } from "./control.ts";
import type { ServerServices } from "./services.ts";
import { ServerTransports } from "./transports.ts";
import { serveDialedVisitor } from "./visitor/accept.ts";
import { ClientInfo, forgetOldOfflineClients, type ProxyStats } from "./stats.ts";
import { TrafficHistory } from "./traffic_history.ts";
import "./proxy/mod.ts";
import "./builtin_features.ts";

/** How long a new connection may take to send its magic and first message. */
export const HANDSHAKE_TIMEOUT_MS = handshakeTimeoutMs();

/** See the module doc. */
export class DfrpServer {
  readonly log: Logger;
  readonly services: ServerServices;
  /** Logged-in clients by run id. */
  readonly controls = new Map<string, ClientControl>();
  #listener?: TransportListener;
  #accepting?: Promise<void>;
  #handshakes = new Set<TransportConn>();
  #transports?: ServerTransports;
  #runIds = new RunIds(undefined, () => this.services.placement?.runIds);

  /** @param config a loaded (defaults filled) server config */
  constructor(readonly config: ServerConfig, logger: Logger = rootLog) {
    this.log = logger;
    this.services = {
      config,
      ports: new PortManager(config.allowPorts, config.maxPortsPerClient),
      log: logger,
      stats: new Map<string, ProxyStats>(),
      history: new TrafficHistory(),
      features: new Map<string, ServerFeature>(),
      clients: new Map<string, ClientInfo>(),
    };
  }

  /** The bound `bindPort` (the real one when 0 was asked for). */
  get port(): number {
    return this.#listener?.port ?? 0;
  }

  /** Binds `bindAddr:bindPort` and starts accepting clients. */
  async start(): Promise<void> {
    const { bindAddr, bindPort } = this.config;
    setDefaultWriteTimeout(this.config.transport.writeTimeout * 1000);
    this.#transports = new ServerTransports(this.services);
    await this.#logIdentity();
    for (const warning of tokenWarnings(this.config)) this.log.warn(warning);
    this.#listener = await tcpTransport.bind(bindAddr, bindPort);
    this.log.info(`dfrps tcp listen on ${bindAddr}:${this.port}`);
    try {
      for (const [name, factory] of serverFeatureFactories()) {
        const feature = await factory(this.services);
        if (feature) this.services.features.set(name, feature);
      }
      await this.#transports.startQuic((stream) => this.#dropOnError(stream, ["quic"]));
      this.#transports.startKcp((conn) => this.#dropOnError(conn, ["kcp"]));
      if (this.config.cluster?.redisURL) {
        // The cluster layer sits above the server: the entry points register it.
        const startCluster = registeredClusterStarter();
        if (!startCluster) {
          throw new Error(
            "cluster.redisURL is set, but this program was built without cluster mode",
          );
        }
        this.services.placement = await startCluster(this.services);
      }
    } catch (err) {
      await this.close();
      throw err;
    }
    this.#accepting = this.#acceptLoop(this.#listener);
  }

  /** Loads (or makes) the TLS identity now, so a state dir problem stops the start, and prints it. */
  async #logIdentity(): Promise<void> {
    const { cert } = await this.#transports!.tls();
    const { certFile } = this.config.transport.tls;
    const { stateDir } = this.config;
    const source = certFile
      ? `transport.tls.certFile ${certFile}`
      : stateDir
      ? `${stateDir}/${SERVER_CERT_FILE}`
      : "made in memory, new at every start: no stateDir";
    this.log.info(
      `server identity: TLS certificate SHA-256 fingerprint ${pemFingerprint(cert)} (${source})`,
    );
  }

  async #acceptLoop(listener: TransportListener): Promise<void> {
    for (let conn; (conn = await listener.accept()) !== null;) {
      this.#dropOnError(conn);
    }
  }

  #dropOnError(conn: TransportConn, outer: string[] = []): void {
    this.#handle(conn, outer).catch((err) => {
      const line = `connection from ${conn.remoteAddr} dropped: ${(err as Error).message}`;
      if (err instanceof QuietClose) this.log.debug(line, { repeatKey: "connection dropped" });
      else this.log.warn(line, { repeatKey: "connection dropped" });
      conn.close();
    });
  }

  async #handle(raw: TransportConn, outer: string[] = []): Promise<void> {
    this.#handshakes.add(raw);
    // The peeled connection (TLS, WebSocket) once there is one: closed on
    // every error, since closing only `raw` would leave its layers open.
    let peeled: { conn: TransportConn } | undefined;
    try {
      const { conn, head, layers } = peeled = await withTimeout(
        this.#transports!.unwrap(raw, outer),
        HANDSHAKE_TIMEOUT_MS,
        "reading the protocol magic",
      );
      if (!isMagic(head)) {
        for (const feature of this.services.features.values()) {
          if (layers.length === 0 && feature.takeConnection?.(conn, head)) return;
        }
        throw new Error("not a dfrp client (bad magic)");
      }
      const nonce = randomHex(32);
      await new ControlChannel(conn).send({
        type: "ServerHello",
        version: PROTOCOL_VERSION,
        nonce,
      });
      const first = await withTimeout(readMessage(conn), HANDSHAKE_TIMEOUT_MS, "waiting for login")
        .catch((err) => this.#refuseBadLogin(conn, err));
      if (first?.type === "Login") return await this.#login(conn, first, nonce, layers);
      if (first?.type === "NewWorkConn") return await this.#workConn(conn, first, nonce);
      if (first?.type === "NewVisitorConn") {
        return await serveDialedVisitor(this.services, this.controls, conn, first, nonce);
      }
      throw new Error(`expected Login or NewWorkConn, got ${clip(first?.type ?? "end of stream")}`);
    } catch (err) {
      peeled?.conn.close();
      throw err;
    } finally {
      this.#handshakes.delete(raw);
    }
  }

  /** A Login that fails its schema gets a LoginResp naming the field and type; then rethrows. */
  async #refuseBadLogin(conn: TransportConn, err: unknown): Promise<never> {
    if (err instanceof ProtocolError && err.messageType === "Login") {
      await new ControlChannel(conn).send({
        type: "LoginResp",
        version: PROTOCOL_VERSION,
        runId: "",
        error: err.message,
      }).catch(() => {});
    }
    throw err;
  }

  async #login(conn: TransportConn, login: Login, nonce: string, layers: string[]): Promise<void> {
    const { clientNonce } = login;
    const channel = new ControlChannel(conn);
    const refuse = async (error: string, verdict?: LoginVerdict) => {
      // While the address cools down after wrong proofs: one line per interval.
      if (verdict?.logSuffix !== null) {
        this.log.warn(
          `login from ${conn.remoteAddr} refused: ${error}${verdict?.logSuffix ?? ""}`,
          {
            repeatKey: "login refused",
          },
        );
      }
      const retryAfter = verdict?.retryAfter ? { retryAfter: verdict.retryAfter } : {};
      await channel.send({
        type: "LoginResp",
        version: PROTOCOL_VERSION,
        runId: "",
        error: errorForClient(this.config, "login refused", error),
        ...retryAfter,
      }).catch(() => {});
      conn.close();
    };
    if (login.version !== PROTOCOL_VERSION) {
      return refuse(
        `protocol version ${login.version} is not supported (server speaks ${PROTOCOL_VERSION})`,
      );
    }
    // Rate limit, per-user token, proof and Login plugins: lib/server/auth/login_check.ts.
    // A proof bound to another certificate than ours came through a TLS relay.
    const ownTls = layers.includes("tls")
      ? pemFingerprint((await this.#transports!.tls()).cert)
      : "";
    const verdict = await checkLogin(this.services, login, nonce, conn.remoteAddr, ownTls);
    const { error: denied, token } = verdict;
    if (denied) return refuse(denied, verdict);
    if (login.tcpMux !== this.config.transport.tcpMux) {
      return refuse(
        `transport.tcpMux is ${login.tcpMux} on the client but ${this.config.transport.tcpMux} on the server`,
      );
    }
    // The user as proven (a Login plugin may have renamed it).
    const owner = login.user;
    // A run id is kept only by the client that made its earlier login (auth/run_ids.ts).
    const assigned = await this.#runIds.assign({
      runId: login.runId,
      user: owner,
      nonce,
      resumeProof: login.resumeProof,
    });
    const { runId } = assigned;
    if (assigned.refused) {
      this.log.warn(
        `login from ${conn.remoteAddr} (user [${owner}]) presented run id [${login.runId}], ` +
          `not resumed (${assigned.refused}): new run id [${runId}]`,
      );
    }
    // A client that reconnects before its old connection timed out replaces it.
    this.controls.get(runId)?.close("replaced by a new login of the same client");
    await this.#runIds.remember(runId, owner, token, clientNonce, nonce);
    await channel.send({
      type: "LoginResp",
      version: PROTOCOL_VERSION,
      runId,
      error: "",
      // Bound to the certificate the client saw (checkLogin made sure it is ours, if any).
      proof: await prove(
        token,
        boundToTls(
          ["server", clientNonce, nonce, runId],
          login.tlsFingerprint ?? "",
        ),
      ),
    });

    let controlChannel = channel;
    let mux: MuxSession | null = null;
    if (this.config.transport.tcpMux) {
      const interval = this.config.transport.tcpMuxKeepaliveInterval * 1000;
      mux = new MuxSession(conn, {
        client: false,
        keepaliveIntervalMs: Math.max(interval, 0),
        streamWindow: TUNNEL_STREAM_WINDOW,
        maxIncomingStreams: this.config.transport.tcpMuxMaxIncomingStreams,
        // The server's end of TLS is a socket Deno leaves Nagle on (lib/transport/native_tls.ts).
        answerAfterFin: layers.includes("tls"),
      });
      // The client's first stream is its control channel.
      const stream = await withTimeout(
        mux.accept(),
        HANDSHAKE_TIMEOUT_MS,
        "opening the control stream",
      );
      if (!stream) throw new Error("mux session closed before the control stream opened");
      controlChannel = new ControlChannel(stream);
    }
    const control = new ClientControl(
      this.services,
      runId,
      login,
      controlChannel,
      mux,
      conn.remoteAddr,
    );
    this.controls.set(runId, control);
    this.#clientOnline(control);
    this.log.info(
      `client login info: ip [${conn.remoteAddr}] transport [${
        layers.join("+") || "tcp"
      }] version [${clip(login.software)}] hostname [${clip(login.hostname)}] ` +
        `os [${clip(login.os)}] arch [${clip(login.arch)}] user [${
          clip(owner)
        }] run id [${runId}] ` +
        `(${assigned.resumed ? "resumed" : "new"})`,
    );
    try {
      await control.run();
    } finally {
      if (this.controls.get(runId) === control) {
        this.controls.delete(runId);
        const info = this.services.clients?.get(runId);
        if (info) {
          Object.assign(info, { online: false, disconnectedAt: new Date(), disconnect: undefined });
          forgetOldOfflineClients(this.services.clients!);
        }
      }
    }
  }

  /** Records a login in the client registry the admin API reads. */
  #clientOnline(control: ClientControl): void {
    const clients = this.services.clients!;
    const info = clients.get(control.runId) ?? new ClientInfo(control.runId);
    const login = control.login;
    const clientID = login.clientID ?? "";
    if (clientID) {
      // A restarted client (new run id) with the same clientID is the same client: one entry.
      for (const [runId, old] of clients) {
        if (old === info || old.online || old.clientID !== clientID) continue;
        if (old.user !== login.user) continue;
        if (old.firstConnectedAt < info.firstConnectedAt) {
          info.firstConnectedAt = old.firstConnectedAt;
        }
        clients.delete(runId);
      }
    }
    Object.assign(info, {
      online: true,
      clientID,
      user: login.user,
      hostname: login.hostname,
      version: login.software,
      os: login.os,
      arch: login.arch,
      address: control.remoteAddr,
      lastConnectedAt: control.loginTime,
      disconnectedAt: undefined,
      disconnect: (reason: string) => control.close(reason),
    });
    clients.set(control.runId, info);
  }

  async #workConn(conn: TransportConn, msg: NewWorkConn, nonce: string): Promise<void> {
    const control = this.controls.get(msg.runId);
    if (!control) throw new Error(`work connection for unknown client [${clip(msg.runId)}]`);
    const denied = await checkWorkConn(this.services, control.login, msg, nonce, conn.remoteAddr);
    if (denied) throw new Error(denied);
    control.addPoolConn(conn);
  }

  /** Stops accepting, disconnects every client and frees every port. */
  async close(): Promise<void> {
    this.#listener?.close();
    this.#transports?.close();
    for (const conn of this.#handshakes) conn.close();
    for (const control of this.controls.values()) control.close("server is shutting down");
    for (const feature of this.services.features.values()) await feature.close();
    this.services.features.clear();
    await this.services.placement?.close();
    await this.#accepting;
  }
}
