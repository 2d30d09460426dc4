/**
 * UDP hole punching between the xtcp visitor and the proxy's owner, each on
 * the socket whose public mapping it announced. Both send authenticated
 * probes to every candidate address of the other every 100 ms; a NAT drops
 * the first ones until its own side has sent out, then they pass.
 *
 * Roles are asymmetric so each side knows when to hand the port over to the
 * QUIC endpoint: the visitor finishes on the first authenticated packet from
 * the owner (then sends three DONE packets from the socket that heard it, to
 * the address it heard); the owner acknowledges every probe and finishes on
 * a DONE (whose sender and receiving socket become the tunnel's ends), on
 * the first non-probe packet from the peer (the visitor's QUIC handshake
 * already arriving), or 1.5 s after it first heard the peer.
 *
 * Then both measure the path's loss before QUIC takes the port: each sends
 * {@linkcode LOSS_PROBES} numbered packets to the other within 200 ms and
 * counts the other's that arrive (the visitor listens 100 ms longer, so the
 * owner's QUIC endpoint is up before the visitor's handshake), for 300 ms
 * at least and on while the other's are still arriving. The result,
 * `lost`, lets the tunnel pick a congestion controller that does not
 * collapse under random loss (see quic_tunnel.ts).
 *
 * Packet (24 bytes): "DXP1" | kind u8 (1 probe, 2 ack, 3 done, 4 loss probe) | role u8
 * (0 visitor, 1 owner) | seq u16 | first 16 bytes of HMAC-SHA256 under the
 * session key over the first 8. Anything else is ignored.
 *
 * @example
 * ```ts
 * import { punch } from "./punch.ts";
 * import { punchKey } from "./punch_key.ts";
 * import { UdpPort } from "./udp_port.ts";
 * const port = UdpPort.bind("0.0.0.0", 0);
 * const peer = await punch(port, {
 *   role: "visitor",
 *   key: await punchKey("secret", "a", "b"),
 *   candidates: [{ hostname: "192.0.2.9", port: 40000 }],
 *   timeoutMs: 5000,
 * });
 * ```
 *
 * @module
 */

import { mac, sameBytes } from "./punch_key.ts";
import type { Endpoint } from "./stun.ts";
import { UdpPort } from "./udp_port.ts";

const MAGIC = [0x44, 0x58, 0x50, 0x31]; // "DXP1"
const PROBE = 1;
const ACK = 2;
const DONE = 3;
const LOSS = 4;
const SIZE = 24;
/** How often probes go out. */
export const PROBE_INTERVAL_MS = 100;
/** How long both sides punch before giving up. */
export const PUNCH_TIMEOUT_MS = 8000;
/** How long the owner waits for a DONE after it first heard the visitor. */
export const OWNER_GRACE_MS = 1500;
/**
 * Numbered packets each side sends to measure the path's loss. 300, not 100:
 * with 100, a path losing 5% showed 1% now and then (3.7% of the time), under
 * the threshold, and was taken for clean; with 300 and a 1% threshold that
 * odds falls to about 1 in 25,000 (24-byte packets: 7 KiB in all).
 */
export const LOSS_PROBES = 300;
/** The loss probes go out in this many batches, 20 ms apart. */
const LOSS_BATCHES = 10;
/** How long the owner counts the visitor's loss probes at least; the visitor 100 ms longer. */
const LOSS_LISTEN_MS = 300;
/**
 * After that, each side keeps counting while the peer's probes still arrive
 * (one within the last {@linkcode LOSS_QUIET_MS}), up to
 * {@linkcode LOSS_LISTEN_MAX_MS}: the peer starts sending only when it has
 * finished punching, which on a long path (or a busy machine) is a good part
 * of a round trip later. Counting only the fixed window took the late
 * probes for lost: a clean path with 150 ms each way measured about half
 * lost, and got the congestion controller meant for lossy paths.
 */
const LOSS_QUIET_MS = 100;
/** See {@linkcode LOSS_QUIET_MS}. */
const LOSS_LISTEN_MAX_MS = 1500;

/** Options of {@linkcode punch}. */
export interface PunchOptions {
  role: "visitor" | "owner";
  key: CryptoKey;
  /** The peer's announced addresses. */
  candidates: Endpoint[];
  timeoutMs: number;
  /** Called with a line for the log at debug level. */
  debug?: (line: string) => void;
}

/** Punching gave up: no authenticated packet came back in time. */
export class PunchFailed extends Error {
  override name = "PunchFailed";
}

async function packet(
  key: CryptoKey,
  kind: number,
  role: number,
  seq: number,
): Promise<Uint8Array> {
  const out = new Uint8Array(SIZE);
  out.set(MAGIC);
  out[4] = kind;
  out[5] = role;
  new DataView(out.buffer).setUint16(6, seq & 0xffff);
  out.set((await mac(key, out.slice(0, 8))).subarray(0, 16), 8);
  return out;
}

async function authentic(key: CryptoKey, data: Uint8Array): Promise<boolean> {
  if (data.length !== SIZE) return false;
  for (let i = 0; i < 4; i++) if (data[i] !== MAGIC[i]) return false;
  const tag = await mac(key, data.slice(0, 8));
  return sameBytes(tag.subarray(0, 16), data.subarray(8, 24));
}

function isProbePacket(data: Uint8Array): boolean {
  return data.length === SIZE && MAGIC.every((b, i) => data[i] === b);
}

/** What {@linkcode punch} found. */
export interface PunchResult {
  /** The peer's address that answered. */
  peer: Endpoint;
  /** The socket that heard it: the caller's own, or one of the extra sockets. */
  port: UdpPort;
  /**
   * The fraction of the peer's {@linkcode LOSS_PROBES} loss probes that did
   * not arrive; undefined when none did (a peer that sends none).
   */
  lost?: number;
}

/** How many extra sockets a side behind a symmetric NAT punches from. */
export const EXTRA_SOCKETS = 256;
/** Random ports of a symmetric peer probed per second by the other side. */
export const SPRAY_RATE = 2000;

/**
 * How to punch given both NAT types: a symmetric ("hard") side opens
 * {@linkcode EXTRA_SOCKETS} more sockets, each of which its NAT maps to a
 * random port; the other side sprays probes at random ports of the hard
 * side's address. With 257 mappings among ~64,500 ports, 2,000 probes miss
 * them all with probability e^-8. Both hard: nothing meets, so no attempt.
 *
 * @example
 * ```ts
 * import { punchPlan } from "./punch.ts";
 * punchPlan("easy", "hard"); // { extraSockets: 0, spray: true }
 * ```
 */
export function punchPlan(mine: string, peer: string): { extraSockets: number; spray: boolean } {
  if (mine === "hard" && peer === "hard") {
    throw new PunchFailed("both NATs are symmetric (port-dependent mapping): no hole can meet");
  }
  return { extraSockets: mine === "hard" ? EXTRA_SOCKETS : 0, spray: peer === "hard" };
}

/**
 * Punches; resolves to the peer's address that answered and the socket
 * that heard it. Rejects with {@linkcode PunchFailed} after `timeoutMs`.
 * Leaves `port` (and the winning socket) open: the caller closes them and
 * binds its QUIC endpoint on the winner's port number. Extra sockets that
 * did not win are closed here.
 */
export async function punch(
  port: UdpPort,
  opts: PunchOptions & { extraSockets?: number; spray?: boolean },
): Promise<PunchResult> {
  const me = opts.role === "visitor" ? 0 : 1;
  const debug = opts.debug ?? (() => {});
  const extras: UdpPort[] = [];
  for (let i = 0; i < (opts.extraSockets ?? 0); i++) extras.push(UdpPort.bind("0.0.0.0", 0));
  const ports = [port, ...extras];
  const probe = await packet(opts.key, PROBE, me, 0);
  return await new Promise<PunchResult>((resolve, reject) => {
    let peer: Endpoint | undefined;
    let winner: UdpPort | undefined;
    let settled = false;
    let seq = 1;
    /** Sequence numbers of the peer's loss probes heard so far, and when the last came. */
    const heard = new Set<number>();
    let lastHeardAt = 0;
    const timers: ReturnType<typeof setTimeout>[] = [];
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      for (const t of timers) clearTimeout(t);
      clearInterval(ticker);
      clearInterval(sprayer);
      for (const p of ports) if (p !== winner || err) p.onPacket = () => {};
      for (const p of extras) if (p !== winner || err) p.close();
      if (err) return reject(err);
      measureLoss().then(() => {
        winner!.onPacket = () => {};
        const lost = heard.size ? 1 - Math.min(heard.size, LOSS_PROBES) / LOSS_PROBES : undefined;
        debug(`heard ${heard.size} of the peer's ${LOSS_PROBES} loss probes`);
        resolve({ peer: peer!, port: winner!, lost });
      }, reject);
    };
    /** Sends our loss probes to the peer, then listens for the rest of the peer's. */
    const measureLoss = async () => {
      const started = Date.now();
      const probes = await Promise.all(
        Array.from({ length: LOSS_PROBES }, (_, i) => packet(opts.key, LOSS, me, i)),
      );
      const perBatch = Math.ceil(LOSS_PROBES / LOSS_BATCHES);
      for (let i = 0; i < LOSS_PROBES; i += perBatch) {
        for (const p of probes.slice(i, i + perBatch)) winner!.send(p, peer!);
        await new Promise((r) => setTimeout(r, 20));
      }
      const extra = me === 0 ? 100 : 0;
      const listen = LOSS_LISTEN_MS + extra;
      await new Promise((r) => setTimeout(r, Math.max(0, started + listen - Date.now())));
      const latest = started + LOSS_LISTEN_MAX_MS + extra;
      while (
        heard.size < LOSS_PROBES && Date.now() - lastHeardAt < LOSS_QUIET_MS && Date.now() < latest
      ) {
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    const send = async (from: UdpPort, kind: number, to: Endpoint) =>
      await from.send(await packet(opts.key, kind, me, seq++), to);
    const probeAll = () => {
      for (const p of ports) for (const c of opts.candidates) p.send(probe, c);
    };
    const ticker = setInterval(probeAll, PROBE_INTERVAL_MS);
    probeAll();
    // Towards a symmetric NAT: random ports of its address, SPRAY_RATE a second.
    const host = opts.candidates[0]?.hostname;
    const sprayer = setInterval(() => {
      if (!opts.spray || !host) return;
      for (let i = 0; i < SPRAY_RATE / 100; i++) {
        port.send(probe, { hostname: host, port: 1024 + Math.floor(Math.random() * 64512) });
      }
    }, 10);
    timers.push(setTimeout(() => {
      finish(new PunchFailed(`no answer from the peer within ${opts.timeoutMs} ms`));
    }, opts.timeoutMs));
    for (const local of ports) {
      local.onPacket = (view, from) => {
        const data = view.slice();
        if (!isProbePacket(data)) {
          // The visitor's QUIC handshake: it is done, so the owner is too.
          if (
            me === 1 && peer && local === winner && from.hostname === peer.hostname &&
            from.port === peer.port
          ) {
            debug(`peer ${from.hostname}:${from.port} already speaks QUIC`);
            finish();
          }
          return;
        }
        authentic(opts.key, data).then(async (ok) => {
          if (!ok || data[5] === me) return;
          const kind = data[4];
          if (kind === LOSS) {
            heard.add(new DataView(data.buffer).getUint16(6));
            lastHeardAt = Date.now();
            return;
          }
          if (settled) return;
          if (me === 0) {
            if (peer) return;
            peer = from;
            winner = local;
            debug(
              `heard the owner from ${from.hostname}:${from.port} on :${local.port} (kind ${kind})`,
            );
            for (let i = 0; i < 3; i++) {
              await send(local, DONE, from);
              await new Promise((r) => setTimeout(r, 10));
            }
            finish();
            return;
          }
          if (kind === DONE) {
            // The visitor decides which pair of sockets the tunnel uses.
            peer = from;
            winner = local;
            return finish();
          }
          if (!peer) {
            debug(`heard the visitor from ${from.hostname}:${from.port} on :${local.port}`);
            peer = from;
            winner = local;
            timers.push(setTimeout(() => finish(), OWNER_GRACE_MS));
          }
          if (kind === PROBE) await send(local, ACK, from);
        });
      };
    }
  });
}
