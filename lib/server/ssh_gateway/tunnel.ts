/**
 * One SSH connection to the gateway, acting as a virtual client: it waits
 * for the `tcpip-forward` request (`ssh -R`) and the command (`exec`), starts
 * the proxy the command describes, and serves each user connection over a
 * new `forwarded-tcpip` channel back to the ssh client, which connects it to
 * its local target. Closing the SSH connection closes the proxy.
 *
 * With `ssh -N` (no command) the forward alone makes a tcp proxy on the
 * forward's port, like plain OpenSSH remote forwarding.
 *
 * @example
 * ```ts
 * import { SshTunnel } from "./tunnel.ts";
 * import type { SshClientConn } from "./ssh2.ts";
 * import type { ServerServices } from "../services.ts";
 * declare const services: ServerServices;
 * declare const client: SshClientConn;
 * const tunnel = new SshTunnel(services, client, "203.0.113.5:51234", true);
 * tunnel.listen(); // before 'ready', so no request is missed
 * ```
 *
 * @module
 */

import { timingSafeEqual } from "node:crypto";
import type { Logger } from "../../log.ts";
import { withTimeout } from "../../net/timeout.ts";
import type { ConnEnds } from "../proxy/proxy.ts";
import type { ServerServices } from "../services.ts";
import { ClientInfo } from "../stats.ts";
import { ChannelConn } from "./channel_conn.ts";
import { parseTunnelCommand, tunnelUsage } from "./command.ts";
import type { SshChannel, SshClientConn } from "./ssh2.ts";
import { NewProxySchema } from "../../protocol/messages.ts";
import { newProxyMessage } from "../../protocol/new_proxy.ts";
import { startVirtualProxy, type VirtualProxy } from "./virtual_proxy.ts";
import { scopedProxyName } from "../auth/users.ts";

/** How long the forward request and the command may take to arrive, as in frps. */
export const SETUP_TIMEOUT_MS = 3000;

/** How long a refused ssh client may take to hang up by itself. */
const HANGUP_GRACE_MS = 2000;

interface Forward {
  bindAddr: string;
  bindPort: number;
  /** Sends the reply; for port 0 it waits until the proxy's port is known. */
  reply?: (port?: number) => void;
}

/** See the module doc. */
export class SshTunnel {
  /** 16 hex digits, like a dfrpc run id, so the admin API takes it. */
  readonly runId = hex(8);
  readonly log: Logger;
  /** The user named by the authorized key's comment ("" = none); set on authentication. */
  keyUser = "";
  #forward?: Forward;
  #session?: SshChannel;
  #sessionOpened = false;
  #command?: string;
  #shell = false;
  #wake?: () => void;
  #proxy?: VirtualProxy;
  #conns = new Set<ChannelConn>();
  #info: ClientInfo;
  #closed = false;

  /**
   * @param services shared server state
   * @param client the authenticating SSH connection
   * @param remoteAddr "ip:port" of the ssh client
   * @param keyAuthenticated whether a listed key authenticated it (else a token is due)
   */
  constructor(
    readonly services: ServerServices,
    readonly client: SshClientConn,
    readonly remoteAddr: string,
    readonly keyAuthenticated: boolean,
  ) {
    this.log = services.log.with(this.runId);
    this.#info = new ClientInfo(this.runId);
    Object.assign(this.#info, { version: "ssh", address: remoteAddr });
  }

  /** Subscribes to the connection's requests and channels. */
  listen(): void {
    const { client } = this;
    client.on("request", (accept, reject, name, info) => {
      if (name === "tcpip-forward" && !this.#forward) {
        const forward: Forward = { bindAddr: info.bindAddr, bindPort: info.bindPort };
        // OpenSSH needs the port it asked 0 for; only the proxy will know it.
        if (info.bindPort === 0 && accept) forward.reply = accept;
        else accept?.();
        this.#forward = forward;
        this.#wake?.();
      } else if (name === "tcpip-forward") {
        this.log.warn(`second remote forward ${info.bindAddr}:${info.bindPort} refused`);
        reject?.();
      } else if (name === "cancel-tcpip-forward") {
        accept?.();
      } else {
        reject?.();
      }
    });
    client.on("session", (accept) => {
      if (this.#sessionOpened) return void accept();
      this.#sessionOpened = true;
      const session = accept();
      session.on("pty", (ok) => ok?.());
      session.on("env", (ok) => ok?.());
      session.on("exec", (ok, _no, info) => {
        this.#session = ok();
        this.#command = info.command;
        this.#wake?.();
      });
      session.on("shell", (ok) => {
        this.#session = ok();
        this.#shell = true;
        this.#wake?.();
      });
      this.#wake?.();
    });
    client.on("error", (err) => this.log.debug(`ssh connection error: ${err.message}`));
    client.on("close", () => this.close("ssh connection closed"));
  }

  /** After authentication: sets the proxy up, or tells the ssh user why not. */
  async run(): Promise<void> {
    try {
      await withTimeout(this.#setup(), SETUP_TIMEOUT_MS, "").catch(() => {});
      if (this.#closed) return;
      await this.#start();
    } catch (err) {
      this.#fail((err as Error).message);
    }
  }

  // Waits for a forward and a command, or a forward and no session at all (ssh -N).
  async #setup(): Promise<void> {
    for (;;) {
      if (this.#closed || this.#shell) return;
      if (this.#forward && (this.#command !== undefined || this.#shell)) return;
      // Help and bad commands are answered without waiting for a forward.
      if (this.#command !== undefined && !isProxyCommand(this.#command)) return;
      await new Promise<void>((r) => this.#wake = r);
    }
  }

  async #start(): Promise<void> {
    const forward = this.#forward;
    if (this.#shell) {
      return this.#fail(tunnelUsage().trimEnd(), 0);
    }
    let command = this.#command;
    if (command === undefined && forward && !this.#sessionOpened) {
      command = `tcp --remote_port ${forward.bindPort}`;
    }
    if (command === undefined) throw new Error(`no command given\n${tunnelUsage()}`);
    const parsed = parseTunnelCommand(command);
    if (parsed.kind === "help") return this.#fail(parsed.text.trimEnd(), 0);
    if (!forward) {
      throw new Error(
        "no remote forward: run ssh -R :80:127.0.0.1:8080 v0@{address} [command]",
      );
    }
    if (!this.keyAuthenticated) this.#checkToken(parsed.token);
    const user = this.keyUser || parsed.user;
    const { proxy } = parsed;
    this.#info.user = user;
    this.#info.online = true;
    this.#info.disconnect = (reason) => this.close(reason);
    this.services.clients?.set(this.runId, this.#info);
    this.#proxy = await startVirtualProxy(this.services, {
      owner: this.runId,
      user,
      // Per user, like a dfrpc's proxies (auth/users.ts): visitors find it as serverUser.serverName.
      name: scopedProxyName(user, proxy.name),
      type: proxy.type,
      // What a dfrpc would send: no secretKey, plugin options or group key kept.
      config: NewProxySchema.parse(await newProxyMessage(proxy)),
      openWorkConn: (ends) => this.#openWorkConn(ends),
    });
    if (this.#closed) return this.#proxy.close();
    if (forward.reply) {
      const port = Number(this.#proxy.remoteAddr.match(/:(\d+)$/)?.[1] ?? 0);
      forward.reply(port);
      forward.bindPort = port;
      forward.reply = undefined;
    }
    this.log.info(
      `ssh tunnel from ${this.remoteAddr} (user [${user}]) runs proxy [${proxy.name}]`,
    );
    this.#write(
      `\ndfrp (via SSH) (Ctrl+C to quit)\n\nUser: ${user}\nProxyName: ${proxy.name}\n` +
        `Type: ${proxy.type}\nRemoteAddress: ${this.#proxy.remoteAddr}\n`,
    );
  }

  #checkToken(given: string | undefined): void {
    const auth = this.services.config.auth;
    const want = new TextEncoder().encode(auth.token);
    const got = new TextEncoder().encode(given ?? "");
    if (want.length !== got.length || !timingSafeEqual(want, got)) {
      throw new Error("token in login doesn't match token from configuration");
    }
  }

  async #openWorkConn(ends: ConnEnds): Promise<ChannelConn> {
    const forward = this.#forward!;
    if (this.#closed) throw new Error("ssh tunnel is closed");
    const channel = await withTimeout(
      new Promise<SshChannel>((resolve, reject) => {
        this.client.forwardOut(
          forward.bindAddr,
          forward.bindPort,
          ends.srcAddr,
          ends.srcPort,
          (err, ch) => err ? reject(err) : resolve(ch),
        );
      }),
      this.services.config.userConnTimeout * 1000,
      "opening a forwarded-tcpip channel",
    );
    const conn = new ChannelConn(channel);
    if (this.#closed) {
      conn.close();
      throw new Error("ssh tunnel is closed");
    }
    this.#conns.add(conn);
    channel.on("close", () => this.#conns.delete(conn));
    return conn;
  }

  #write(text: string): void {
    try {
      this.#session?.write(new TextEncoder().encode(text));
    } catch {
      // The ssh client went away first.
    }
  }

  /** Tells the ssh user `message`, then hangs up (exit status 1 unless given). */
  #fail(message: string, status = 1): void {
    if (this.#closed) return;
    if (status !== 0) {
      this.log.warn(`ssh tunnel from ${this.remoteAddr} refused: ${message}`);
    }
    this.#forward?.reply?.();
    const session = this.#session;
    if (session) {
      session.write(new TextEncoder().encode(message + "\n"));
      session.exit(status);
      // EOF and CLOSE on the channel: OpenSSH prints what came and hangs up
      // itself. Disconnecting first can make it drop the message.
      session.end();
      setTimeout(() => this.close(message), HANGUP_GRACE_MS);
    } else {
      this.close(message);
    }
  }

  /** Closes the proxy, its channels and the SSH connection; safe to call twice. */
  close(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#wake?.();
    this.#proxy?.close();
    for (const conn of this.#conns) conn.close();
    this.#conns.clear();
    if (this.#info.online) {
      Object.assign(this.#info, { online: false, disconnectedAt: new Date() });
      this.#info.disconnect = undefined;
    }
    try {
      this.client.end();
    } catch {
      // Already gone.
    }
    this.log.debug(`ssh tunnel from ${this.remoteAddr} closed: ${reason}`);
  }
}

function isProxyCommand(command: string): boolean {
  try {
    return parseTunnelCommand(command).kind === "proxy";
  } catch {
    return false;
  }
}

function hex(bytes: number): string {
  return Array.from(
    crypto.getRandomValues(new Uint8Array(bytes)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
}
