/**
 * `plugin.type = "socks5"`: a SOCKS5 server (RFC 1928, CONNECT only) on each
 * user connection, with the user/password method (RFC 1929) when
 * `username` or `password` is set, no authentication otherwise.
 * Destinations are checked by `destinations.ts` (no loopback, link-local
 * or own address unless `allowDestinations` says so); a refused one gets
 * reply 2, "connection not allowed by ruleset".
 *
 * @example
 * ```toml
 * [[proxies]]
 * name = "socks"
 * type = "tcp"
 * remotePort = 1080
 * plugin.type = "socks5"
 * plugin.username = "abc"
 * plugin.password = "abc"
 * ```
 *
 * @module
 */

import { type Duplex, readFull, writeAll } from "../../net/duplex.ts";
import { relay } from "../../net/relay.ts";
import { dialTcp } from "../../net/tcp_conn.ts";
import { withTimeout } from "../../net/timeout.ts";
import type { StartWorkConn } from "../../protocol/messages.ts";
import { Credentials } from "./credentials.ts";
import { Destinations, warnOpen } from "./destinations.ts";
import type { ClientPlugin, PluginContext } from "./plugin.ts";
import { registerPlugin } from "./registry.ts";

/** How long the greeting, authentication and request may take together. */
export const SOCKS_HANDSHAKE_TIMEOUT_MS = 30_000;
/** How long dialing the requested target may take. */
export const SOCKS_DIAL_TIMEOUT_MS = 10_000;

const VERSION = 5;
const METHOD_NONE = 0x00;
const METHOD_USER_PASS = 0x02;
const METHOD_UNACCEPTABLE = 0xff;
const CMD_CONNECT = 1;
const ATYP_IPV4 = 1;
const ATYP_DOMAIN = 3;
const ATYP_IPV6 = 4;

/** SOCKS5 reply codes (RFC 1928 §6). */
export const Reply = {
  succeeded: 0,
  generalFailure: 1,
  notAllowed: 2,
  hostUnreachable: 4,
  connectionRefused: 5,
  commandNotSupported: 7,
  addressNotSupported: 8,
} as const;

/** A refused handshake: `reply` is sent (when set) before closing. */
class SocksError extends Error {
  constructor(message: string, readonly reply?: number) {
    super(message);
  }
}

/** See the module doc. */
export class Socks5Plugin implements ClientPlugin {
  /**
   * @param creds the configured user and password (both empty: no auth)
   * @param ctx the proxy's logger
   * @param destinations where it may connect (default: not this machine)
   */
  constructor(
    readonly creds: Credentials,
    readonly ctx: PluginContext,
    readonly destinations: Destinations = new Destinations([], [], "socks5"),
  ) {
    if (!creds.required) warnOpen(ctx, "socks5", "username/password");
  }

  /** Runs the SOCKS handshake, dials the target, relays. */
  async handle(conn: Duplex, start: StartWorkConn): Promise<void> {
    let target: { host: string; port: number };
    try {
      target = await withTimeout(
        this.#handshake(conn),
        SOCKS_HANDSHAKE_TIMEOUT_MS,
        "socks5 handshake",
      );
    } catch (err) {
      this.ctx.log.warn(`socks5 from ${start.srcAddr}:${start.srcPort}: ${(err as Error).message}`);
      const reply = (err as SocksError).reply;
      if (reply !== undefined) await sendReply(conn, reply).catch(() => {});
      conn.close();
      return;
    }
    const verdict = await this.destinations.check(target.host, target.port);
    if (!verdict.ok) {
      this.ctx.log.warn(`socks5 connect to ${target.host}:${target.port}: ${verdict.reason}`);
      await sendReply(conn, verdict.refused ? Reply.notAllowed : Reply.hostUnreachable)
        .catch(() => {});
      conn.close();
      return;
    }
    let remote: Awaited<ReturnType<typeof dialTcp>>;
    try {
      remote = await dialTcp(verdict.ip, target.port, SOCKS_DIAL_TIMEOUT_MS);
    } catch (err) {
      const message = (err as Error).message;
      this.ctx.log.warn(`socks5 connect to ${target.host}:${target.port}: ${message}`);
      const refused = err instanceof Deno.errors.ConnectionRefused;
      await sendReply(conn, refused ? Reply.connectionRefused : Reply.hostUnreachable)
        .catch(() => {});
      conn.close();
      return;
    }
    try {
      await sendReply(conn, Reply.succeeded, remote.conn.localAddr);
    } catch {
      remote.close();
      conn.close();
      return;
    }
    this.ctx.log.debug(`socks5 ${start.srcAddr}:${start.srcPort} -> ${target.host}:${target.port}`);
    await relay(conn, remote);
  }

  async #handshake(conn: Duplex): Promise<{ host: string; port: number }> {
    const two = new Uint8Array(2);
    await readFull(conn, two);
    if (two[0] !== VERSION) throw new SocksError(`not a SOCKS5 greeting (version ${two[0]})`);
    const methods = new Uint8Array(two[1]);
    await readFull(conn, methods);
    const wanted = this.creds.required ? METHOD_USER_PASS : METHOD_NONE;
    if (!methods.includes(wanted)) {
      await writeAll(conn, Uint8Array.of(VERSION, METHOD_UNACCEPTABLE));
      throw new SocksError(
        this.creds.required ? "client does not offer user/password auth" : "client needs auth",
      );
    }
    await writeAll(conn, Uint8Array.of(VERSION, wanted));
    if (wanted === METHOD_USER_PASS) await this.#authenticate(conn);

    const head = new Uint8Array(4);
    await readFull(conn, head);
    if (head[0] !== VERSION) throw new SocksError(`bad request version ${head[0]}`);
    if (head[1] !== CMD_CONNECT) {
      throw new SocksError(`command ${head[1]} not supported`, Reply.commandNotSupported);
    }
    let host: string;
    switch (head[3]) {
      case ATYP_IPV4: {
        const a = new Uint8Array(4);
        await readFull(conn, a);
        host = a.join(".");
        break;
      }
      case ATYP_IPV6: {
        const a = new Uint8Array(16);
        await readFull(conn, a);
        const groups = [];
        for (let i = 0; i < 16; i += 2) groups.push(((a[i] << 8) | a[i + 1]).toString(16));
        host = groups.join(":");
        break;
      }
      case ATYP_DOMAIN: {
        const len = new Uint8Array(1);
        await readFull(conn, len);
        const name = new Uint8Array(len[0]);
        await readFull(conn, name);
        host = new TextDecoder().decode(name);
        break;
      }
      default:
        throw new SocksError(`address type ${head[3]} not supported`, Reply.addressNotSupported);
    }
    const portBytes = new Uint8Array(2);
    await readFull(conn, portBytes);
    return { host, port: (portBytes[0] << 8) | portBytes[1] };
  }

  async #authenticate(conn: Duplex): Promise<void> {
    const readField = async () => {
      const len = new Uint8Array(1);
      await readFull(conn, len);
      const field = new Uint8Array(len[0]);
      await readFull(conn, field);
      return new TextDecoder().decode(field);
    };
    const version = new Uint8Array(1);
    await readFull(conn, version);
    if (version[0] !== 1) throw new SocksError(`bad auth version ${version[0]}`);
    const user = await readField();
    const password = await readField();
    const ok = this.creds.check(user, password);
    await writeAll(conn, Uint8Array.of(1, ok ? 0 : 1));
    if (!ok) throw new SocksError(`authentication failed for user "${user}"`);
  }

  /** Nothing of its own to stop. */
  close(): void {}
}

/** Writes a reply with the bound address (IPv4 or zeros). */
async function sendReply(conn: Duplex, reply: number, bound?: Deno.Addr): Promise<void> {
  const out = new Uint8Array(10);
  out.set([VERSION, reply, 0, ATYP_IPV4]);
  if (bound?.transport === "tcp" && /^\d+\.\d+\.\d+\.\d+$/.test(bound.hostname)) {
    out.set(bound.hostname.split(".").map(Number), 4);
    out[8] = bound.port >> 8;
    out[9] = bound.port & 0xff;
  }
  await writeAll(conn, out);
}

registerPlugin(
  "socks5",
  (options, ctx) =>
    new Socks5Plugin(
      new Credentials(options.username ?? "", options.password ?? ""),
      ctx,
      new Destinations(
        options.allowDestinations ?? [],
        options.denyDestinations ?? [],
        "socks5",
      ),
    ),
);
