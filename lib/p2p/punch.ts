/**
 * UDP hole punching between the xtcp visitor and the proxy's owner, each on
 * the socket whose public mapping it announced. Both send authenticated
 * probes to every candidate address of the other every 100 ms; a NAT drops
 * the first ones until its own side has sent out, then they pass.
 *
 * Roles are asymmetric so each side knows when to hand the port over to the
 * QUIC endpoint: the visitor finishes on the first authenticated packet from
 * the owner (then sends three DONE packets); the owner acknowledges every
 * probe and finishes on a DONE, on the first non-probe packet from the peer
 * (the visitor's QUIC handshake already arriving), or 1.5 s after it first
 * heard the peer.
 *
 * Packet (24 bytes): "DXP1" | kind u8 (1 probe, 2 ack, 3 done) | role u8
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
import type { UdpPort } from "./udp_port.ts";

const MAGIC = [0x44, 0x58, 0x50, 0x31]; // "DXP1"
const PROBE = 1;
const ACK = 2;
const DONE = 3;
const SIZE = 24;
/** How often probes go out. */
export const PROBE_INTERVAL_MS = 100;
/** How long both sides punch before giving up. */
export const PUNCH_TIMEOUT_MS = 8000;
/** How long the owner waits for a DONE after it first heard the visitor. */
export const OWNER_GRACE_MS = 1500;

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

/**
 * Punches; resolves to the peer's address that answered. Rejects with
 * {@linkcode PunchFailed} after `timeoutMs`. Leaves `port` open: the caller
 * closes it and binds its QUIC endpoint on the same port number.
 */
export function punch(port: UdpPort, opts: PunchOptions): Promise<Endpoint> {
  const me = opts.role === "visitor" ? 0 : 1;
  const debug = opts.debug ?? (() => {});
  return new Promise<Endpoint>((resolve, reject) => {
    let peer: Endpoint | undefined;
    let settled = false;
    let seq = 0;
    const timers: ReturnType<typeof setTimeout>[] = [];
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      for (const t of timers) clearTimeout(t);
      clearInterval(ticker);
      port.onPacket = () => {};
      if (err) reject(err);
      else resolve(peer!);
    };
    const send = async (kind: number, to: Endpoint) =>
      await port.send(await packet(opts.key, kind, me, seq++), to);
    const ticker = setInterval(() => {
      for (const c of opts.candidates) send(PROBE, c);
    }, PROBE_INTERVAL_MS);
    for (const c of opts.candidates) send(PROBE, c);
    timers.push(setTimeout(() => {
      finish(new PunchFailed(`no answer from the peer within ${opts.timeoutMs} ms`));
    }, opts.timeoutMs));
    port.onPacket = (view, from) => {
      const data = view.slice();
      if (!isProbePacket(data)) {
        // The visitor's QUIC handshake: it is done, so the owner is too.
        if (me === 1 && peer && from.hostname === peer.hostname && from.port === peer.port) {
          debug(`peer ${from.hostname}:${from.port} already speaks QUIC`);
          finish();
        }
        return;
      }
      authentic(opts.key, data).then(async (ok) => {
        if (!ok || settled || data[5] === me) return;
        const kind = data[4];
        if (me === 0) {
          peer = from;
          debug(`heard the owner from ${from.hostname}:${from.port} (kind ${kind})`);
          for (let i = 0; i < 3; i++) {
            await send(DONE, from);
            await new Promise((r) => setTimeout(r, 10));
          }
          finish();
          return;
        }
        if (!peer) {
          debug(`heard the visitor from ${from.hostname}:${from.port}`);
          peer = from;
          timers.push(setTimeout(() => finish(), OWNER_GRACE_MS));
        }
        if (kind === PROBE) await send(ACK, from);
        else if (kind === DONE) finish();
      });
    };
  });
}
