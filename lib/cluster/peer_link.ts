/**
 * Node-to-node links: one TLS connection per pair of nodes on `peerPort`
 * (Deno's native TLS; each node's self-signed certificate is published with
 * its node record and pinned by the dialer), authenticated both ways with an
 * HMAC of fresh nonces under the cluster secret, carrying a mux session; each forwarded user connection is one
 * stream that starts with a header naming its route. Opened on first use and
 * kept; either side opens streams on it.
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

import type { Logger } from "../log.ts";
import type { Duplex } from "../net/duplex.ts";
import { DenoConn, dialTcp } from "../net/tcp_conn.ts";
import { withTimeout } from "../net/timeout.ts";
import { MuxSession, TUNNEL_STREAM_WINDOW } from "../mux/mod.ts";
import { prove, randomHex, verifyProof } from "../protocol/auth.ts";
import type { CertPair } from "../transport/self_signed.ts";
import { nativeClientTls } from "../transport/native_tls.ts";
import { acceptEach } from "../net/accept_loop.ts";
import { readHeader, writeHeader } from "./frame.ts";

const HANDSHAKE_MS = 10_000;
const KEEPALIVE_MS = 5_000;

/** Serves a stream a peer opened (its first bytes are a route header). */
export type StreamHandler = (stream: Duplex, from: string) => void;

/** See the module doc. */
export class PeerLinks {
  #links = new Map<string, Promise<MuxSession>>();
  #listener?: Deno.TlsListener;

  /**
   * @param node this node's name
   * @param secret the cluster secret both ends prove they know
   * @param cert this node's certificate and key
   * @param onStream called for each stream a peer opens
   */
  constructor(
    readonly node: string,
    readonly secret: string,
    readonly cert: CertPair,
    readonly log: Logger,
    readonly onStream: StreamHandler,
  ) {}

  /** Listens for other nodes on `host:port`. */
  listen(host: string, port: number): void {
    try {
      this.#listener = Deno.listenTls({
        hostname: host,
        port,
        transport: "tcp",
        cert: this.cert.cert,
        key: this.cert.key,
      });
    } catch (err) {
      throw new Error(
        `cluster.peerPort: cannot listen on ${host}:${port}: ${(err as Error).message}`,
      );
    }
    this.log.info(`cluster peer link listen on ${host}:${port}`);
    acceptEach(this.#listener as unknown as Deno.TcpListener, (conn) => {
      this.#accept(conn as unknown as Deno.TlsConn).catch((err) => {
        this.log.warn(
          `peer link from ${(conn.remoteAddr as Deno.NetAddr).hostname} dropped: ${
            (err as Error).message
          }`,
        );
        try {
          conn.close();
        } catch { /* closed */ }
      });
    });
  }

  async #accept(tls: Deno.TlsConn): Promise<void> {
    await withTimeout(tls.handshake(), HANDSHAKE_MS, "peer TLS handshake");
    const addr = tls.remoteAddr as Deno.NetAddr;
    const conn = new DenoConn(tls, `${addr.hostname}:${addr.port}`);
    const nonce = randomHex(16);
    await writeHeader(conn, { nonce });
    const hello = await withTimeout(readHeader(conn), HANDSHAKE_MS, "peer hello");
    const peer = String(hello.node ?? "");
    const theirs = String(hello.nonce ?? "");
    if (!await verifyProof(this.secret, ["cluster-dial", nonce, theirs, peer], hello.proof)) {
      conn.close();
      throw new Error(`node [${peer}] failed the cluster secret check`);
    }
    await writeHeader(conn, {
      node: this.node,
      proof: await prove(this.secret, ["cluster-accept", nonce, theirs, this.node]),
    });
    const mux = this.#serve(conn, peer, false);
    // Keep it for our own forwards to that node unless we already have one.
    if (!this.#links.has(peer)) this.#links.set(peer, Promise.resolve(mux));
    this.log.info(`peer link from node [${peer}] up`);
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
