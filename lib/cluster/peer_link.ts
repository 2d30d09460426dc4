/**
 * Node-to-node links: one TLS connection per pair of nodes on `peerPort`
 * (Deno's native TLS; each node's self-signed certificate is published with
 * its node record and pinned by the dialer), authenticated both ways with an
 * HMAC of fresh nonces under the cluster secret, carrying a mux session; each
 * forwarded user connection is one stream that starts with a header naming its
 * route. Opened on first use and kept.
 *
 * Streams to a node ride the link that node dialed, when there is one: the
 * accepting end of a link pays for relaying its TLS (below), and the node a
 * stream goes to is usually the busier one (it also carries the client's
 * tunnel). So a node that accepts a link dials one back, and until that one is
 * up (or if it cannot reach the dialer) streams use the link they have.
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

/** Where node `peer` is reached and its certificate, from the cluster's view; undefined if unknown. */
export type PeerLocator = (peer: string) => { peer: string; cert: string } | undefined;

/** See the module doc. */
export class PeerLinks {
  /** Links this node dialed, by peer. */
  #dialed = new Map<string, Promise<MuxSession>>();
  /** Links peers dialed to this node, by peer: preferred for our streams to them. */
  #accepted = new Map<string, MuxSession>();
  /** Every link up, for close() (a peer may have dialed more than one). */
  #all = new Set<MuxSession>();
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
   * @param locate finds a node that dialed us, to dial it back
   */
  constructor(
    readonly node: string,
    readonly secret: string,
    readonly cert: CertPair,
    readonly log: Logger,
    readonly onStream: StreamHandler,
    readonly config: ServerConfig,
    readonly locate: PeerLocator = () => undefined,
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
    this.#accepted.set(peer, this.#serve(conn, peer, false));
    this.log.info(`peer link from node [${peer}] up`);
    this.#dialBack(peer);
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
    this.#all.add(mux);
    mux.closed.then(async (reason) => {
      this.#all.delete(mux);
      if (this.#accepted.get(peer) === mux) this.#accepted.delete(peer);
      const dialed = await this.#dialed.get(peer)?.catch(() => undefined);
      if (dialed === mux) this.#dialed.delete(peer);
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

  /**
   * A new stream to node `peer` at `addr` (certificate `cert`): on the link
   * `peer` dialed if there is one, else on ours, dialing it if there is none.
   */
  async open(peer: string, addr: string, cert: string): Promise<Duplex> {
    const theirs = this.#accepted.get(peer);
    if (theirs && !theirs.isClosed) return theirs.open();
    let mux = await this.#dialed.get(peer)?.catch(() => undefined);
    if (!mux || mux.isClosed) mux = await this.#dialLink(peer, addr, cert);
    return mux.open();
  }

  /** Dials a link to `peer` and keeps it in `#dialed` (dropped again if the dial fails). */
  #dialLink(peer: string, addr: string, cert: string): Promise<MuxSession> {
    const link = this.#dial(peer, addr, cert);
    this.#dialed.set(peer, link);
    link.catch(() => {
      if (this.#dialed.get(peer) === link) this.#dialed.delete(peer);
    });
    return link;
  }

  /** `peer` dialed us: dial it too, so its streams to us ride a link we dialed. */
  #dialBack(peer: string): void {
    if (this.#dialed.has(peer)) return;
    const where = this.locate(peer);
    if (!where) return;
    this.#dialLink(peer, where.peer, where.cert).catch((err) => {
      this.log.debug(`no link back to node [${peer}]: ${(err as Error).message}`);
    });
  }

  /** Closes the listener and every link. */
  async close(): Promise<void> {
    try {
      this.#listener?.close();
    } catch { /* closed */ }
    await Promise.all([...this.#dialed.values()].map((link) => link.catch(() => undefined)));
    for (const mux of this.#all) mux.close("node stopping");
    this.#accepted.clear();
    this.#dialed.clear();
  }
}
