/**
 * Node-to-node links: one TLS connection per pair of nodes on `peerPort`
 * (Deno's native TLS; each node's self-signed certificate is published with
 * its node record and pinned by the dialer), authenticated both ways with an
 * HMAC of fresh nonces under the cluster secret, carrying a mux session; each
 * forwarded user connection is one stream that starts with a header naming its
 * route. Opened on first use and kept; either side opens streams on it.
 *
 * `peerPort` accepts plain TCP and hands TLS to `nativeServerTls`, as
 * `bindPort` does, because a connection accepted by `Deno.listenTls` cannot be
 * closed before its handshake ends: here everything up to a right proof
 * (first byte, TLS, secret check) has one deadline, each address may have
 * only {@linkcode MAX_PENDING_PER_HOST} such connections at once, and wrong
 * proofs count against the address like wrong logins (`auth.maxFailedLogins`).
 *
 * @example
 * ```ts
 * import { PeerLinks } from "./peer_link.ts";
 * declare const links: PeerLinks;
 * declare const cert: string; // fra-2's certificate, from its node record
 * const stream = await links.open("fra-2", "10.0.0.2:7001", cert);
 * ```
 *
 * @module
 */

import type { ServerConfig } from "../config/mod.ts";
import { clip, type Logger } from "../log.ts";
import type { Duplex, TransportConn } from "../net/duplex.ts";
import { PrefixedConn } from "../net/prefixed_conn.ts";
import { dialTcp, wrapTcp } from "../net/tcp_conn.ts";
import { sleep, withTimeout } from "../net/timeout.ts";
import { MuxSession, TUNNEL_STREAM_WINDOW } from "../mux/mod.ts";
import { prove, randomHex, verifyProof } from "../protocol/auth.ts";
import { handshakeTimeoutMs } from "../server/auth/handshake_deadline.ts";
import { countWrongProof } from "../server/auth/login_check.ts";
import { hostOf } from "../server/auth/rate_limit.ts";
import type { CertPair } from "../transport/self_signed.ts";
import { nativeClientTls, nativeServerTls } from "../transport/native_tls.ts";
import { TLS_HANDSHAKE_BYTE } from "../transport/tls.ts";
import { acceptEach } from "../net/accept_loop.ts";
import { readHeader, writeHeader } from "./frame.ts";

const HANDSHAKE_MS = 10_000;
const KEEPALIVE_MS = 5_000;
/**
 * Connections from one address on `peerPort` that have not proved the secret
 * yet. A node dials one link per peer, so this is room for several nodes
 * behind one address dialing at once, not for a stranger's flood.
 */
export const MAX_PENDING_PER_HOST = 16;

/** A refusal already logged (or counted for a later line): no line of its own. */
class Counted extends Error {}

/** Serves a stream a peer opened (its first bytes are a route header). */
export type StreamHandler = (stream: Duplex, from: string) => void;

/** See the module doc. */
export class PeerLinks {
  #links = new Map<string, Promise<MuxSession>>();
  #listener?: Deno.TcpListener;
  /** Connections on `peerPort` not authenticated yet, by address. */
  #pending = new Map<string, number>();
  /** Deadline of everything before a peer's right proof. */
  readonly #deadlineMs = handshakeTimeoutMs();

  /**
   * @param node this node's name
   * @param secret the cluster secret both ends prove they know
   * @param cert this node's certificate and key
   * @param onStream called for each stream a peer opens
   * @param config the server's configuration: wrong proofs share its
   *   per-address count with wrong logins
   */
  constructor(
    readonly node: string,
    readonly secret: string,
    readonly cert: CertPair,
    readonly log: Logger,
    readonly onStream: StreamHandler,
    readonly config: ServerConfig,
  ) {}

  /** Listens for other nodes on `host:port`. */
  listen(host: string, port: number): void {
    try {
      this.#listener = Deno.listen({ hostname: host, port, transport: "tcp" });
    } catch (err) {
      throw new Error(
        `cluster.peerPort: cannot listen on ${host}:${port}: ${(err as Error).message}`,
      );
    }
    this.log.info(`cluster peer link listen on ${host}:${port}`);
    acceptEach(this.#listener, (tcp) => {
      const raw = wrapTcp(tcp);
      const from = hostOf(raw.remoteAddr);
      const pending = this.#pending.get(from) ?? 0;
      if (pending >= MAX_PENDING_PER_HOST) {
        this.log.warn(`peer link from ${from} refused: ${pending} unauthenticated already`, {
          repeatKey: "peer link refused",
        });
        return raw.close();
      }
      this.#pending.set(from, pending + 1);
      this.#accept(raw).catch((err) => {
        if (err instanceof Counted) return;
        this.log.warn(`peer link from ${raw.remoteAddr} dropped: ${(err as Error).message}`, {
          repeatKey: "peer link dropped",
        });
      }).finally(() => {
        const left = (this.#pending.get(from) ?? 1) - 1;
        if (left > 0) this.#pending.set(from, left);
        else this.#pending.delete(from);
      });
    });
  }

  /**
   * Takes a connection to `peerPort` up to a right proof, within the
   * deadline; closes every layer of it on failure. Resolves once the link is
   * up (it then serves in the background).
   */
  async #accept(raw: TransportConn): Promise<void> {
    let tls: TransportConn | undefined;
    let failed = false;
    const handshake = async () => {
      const head = new Uint8Array(1);
      if (await raw.read(head) === null) throw new Error("closed before sending anything");
      if (head[0] !== TLS_HANDSHAKE_BYTE) throw new Error("not a TLS ClientHello");
      const conn = await nativeServerTls(new PrefixedConn(raw, head), this.cert);
      tls = conn;
      // The deadline passed while TLS finished: nobody else will close it.
      if (failed) conn.close();
      return { conn, peer: await this.#challenge(conn) };
    };
    let link;
    try {
      link = await withTimeout(handshake(), this.#deadlineMs, "peer handshake");
    } catch (err) {
      failed = true;
      tls?.close();
      raw.close();
      throw err;
    }
    const { conn, peer } = link;
    const mux = this.#serve(conn, peer, false);
    // Keep it for our own forwards to that node unless we already have one.
    if (!this.#links.has(peer)) this.#links.set(peer, Promise.resolve(mux));
    this.log.info(`peer link from node [${peer}] up`);
  }

  /** The accepting side of the secret check: the peer's node name, or throws. */
  async #challenge(conn: TransportConn): Promise<string> {
    const nonce = randomHex(16);
    await writeHeader(conn, { nonce });
    const hello = await readHeader(conn);
    const peer = String(hello.node ?? "");
    const theirs = String(hello.nonce ?? "");
    if (!await verifyProof(this.secret, ["cluster-dial", nonce, theirs, peer], hello.proof)) {
      const wrong = countWrongProof(this.config, conn.remoteAddr);
      if (wrong.delayMs > 0) await sleep(wrong.delayMs);
      const reason = `node [${clip(peer)}] failed the cluster secret check`;
      if (wrong.logSuffix !== null) {
        this.log.warn(`peer link from ${conn.remoteAddr} dropped: ${reason}${wrong.logSuffix}`);
      }
      throw new Counted(reason);
    }
    await writeHeader(conn, {
      node: this.node,
      proof: await prove(this.secret, ["cluster-accept", nonce, theirs, this.node]),
    });
    return peer;
  }

  #serve(conn: Duplex, peer: string, client: boolean): MuxSession {
    const mux = new MuxSession(conn, {
      client,
      keepaliveIntervalMs: KEEPALIVE_MS,
      streamWindow: TUNNEL_STREAM_WINDOW,
    });
    mux.closed.then(async (reason) => {
      const current = await this.#links.get(peer)?.catch(() => undefined);
      if (current === mux) this.#links.delete(peer);
      this.log.info(`peer link with node [${peer}] closed: ${reason}`);
    });
    (async () => {
      for (let s; (s = await mux.accept()) !== null;) this.onStream(s, peer);
    })();
    return mux;
  }

  async #dial(peer: string, addr: string, cert: string): Promise<MuxSession> {
    const i = addr.lastIndexOf(":");
    const host = addr.slice(0, i).replace(/^\[|\]$/g, "");
    const tcp = await dialTcp(host, Number(addr.slice(i + 1)), HANDSHAKE_MS);
    let conn;
    try {
      // The peer's own certificate, from its node record, is the only anchor.
      conn = await nativeClientTls(tcp.conn, addr, {
        serverName: host,
        caCerts: [cert],
        pinned: true,
      });
    } catch (err) {
      tcp.close();
      throw err;
    }
    try {
      const challenge = await withTimeout(readHeader(conn), HANDSHAKE_MS, "peer challenge");
      const theirs = String(challenge.nonce ?? "");
      const nonce = randomHex(16);
      await writeHeader(conn, {
        node: this.node,
        nonce,
        proof: await prove(this.secret, ["cluster-dial", theirs, nonce, this.node]),
      });
      const answer = await withTimeout(readHeader(conn), HANDSHAKE_MS, "peer answer");
      const context = ["cluster-accept", theirs, nonce, String(answer.node ?? "")];
      if (answer.node !== peer || !await verifyProof(this.secret, context, answer.proof)) {
        throw new Error(`${addr} is not node [${peer}] of this cluster (secret check failed)`);
      }
    } catch (err) {
      conn.close();
      throw err;
    }
    this.log.info(`peer link to node [${peer}] at ${addr} up`);
    return this.#serve(conn, peer, true);
  }

  /** A new stream to node `peer` at `addr` (certificate `cert`), dialing the link if there is none. */
  async open(peer: string, addr: string, cert: string): Promise<Duplex> {
    let link = this.#links.get(peer);
    let mux = link && await link.catch(() => undefined);
    if (!mux || mux.isClosed) {
      link = this.#dial(peer, addr, cert);
      this.#links.set(peer, link);
      link.catch(() => {
        if (this.#links.get(peer) === link) this.#links.delete(peer);
      });
      mux = await link;
    }
    return mux.open();
  }

  /** Closes the listener and every link. */
  async close(): Promise<void> {
    try {
      this.#listener?.close();
    } catch { /* closed */ }
    for (const link of this.#links.values()) {
      (await link.catch(() => undefined))?.close("node stopping");
    }
    this.#links.clear();
  }
}
