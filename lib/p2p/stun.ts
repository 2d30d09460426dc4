/**
 * The small part of STUN (RFC 5389) NAT traversal needs: Binding requests
 * and responses, with XOR-MAPPED-ADDRESS (the sender's public mapping),
 * MAPPED-ADDRESS (RFC 3489 servers) and OTHER-ADDRESS (RFC 5780: where to ask
 * again from the same socket to classify the NAT). IPv4 and IPv6. Used by the
 * client against dfrps's own responder or any standard STUN server, and by
 * the responder itself.
 *
 * @example
 * ```ts
 * import { bindingRequest, parseStun } from "./stun.ts";
 * const req = bindingRequest();
 * console.log(parseStun(req.packet)?.kind); // "request"
 * ```
 *
 * @module
 */

/** RFC 5389's magic cookie, at bytes 4..8 of every STUN message. */
export const MAGIC_COOKIE = 0x2112a442;
const BINDING_REQUEST = 0x0001;
const BINDING_SUCCESS = 0x0101;
const ATTR_MAPPED = 0x0001;
const ATTR_XOR_MAPPED = 0x0020;
const ATTR_OTHER = 0x802c;
const ATTR_SOFTWARE = 0x8022;
const HEADER = 20;

/** A transport address. */
export interface Endpoint {
  hostname: string;
  port: number;
}

/** A parsed STUN Binding message. */
export interface StunMessage {
  kind: "request" | "response";
  /** 12 bytes. */
  transactionId: Uint8Array;
  /** The sender's address as the server saw it (responses). */
  mapped?: Endpoint;
  /** The server's other address, to ask again from (responses, RFC 5780). */
  other?: Endpoint;
}

/**
 * A Binding request with a fresh transaction id.
 *
 * @example
 * ```ts
 * import { bindingRequest } from "./stun.ts";
 * const { packet, transactionId } = bindingRequest();
 * ```
 */
export function bindingRequest(): { packet: Uint8Array; transactionId: Uint8Array } {
  const packet = new Uint8Array(HEADER);
  const view = new DataView(packet.buffer);
  view.setUint16(0, BINDING_REQUEST);
  view.setUint16(2, 0);
  view.setUint32(4, MAGIC_COOKIE);
  crypto.getRandomValues(packet.subarray(8, 20));
  return { packet, transactionId: packet.slice(8, 20) };
}

function addressValue(ep: Endpoint, xor: boolean, txid: Uint8Array): Uint8Array {
  const v6 = ep.hostname.includes(":");
  const ip = v6 ? ipv6Bytes(ep.hostname) : ipv4Bytes(ep.hostname);
  const out = new Uint8Array(4 + ip.length);
  const view = new DataView(out.buffer);
  out[1] = v6 ? 2 : 1;
  view.setUint16(2, xor ? ep.port ^ (MAGIC_COOKIE >>> 16) : ep.port);
  const mask = xorMask(txid);
  for (let i = 0; i < ip.length; i++) out[4 + i] = xor ? ip[i] ^ mask[i] : ip[i];
  return out;
}

/**
 * A Binding success response telling the requester its `mapped` address,
 * and optionally the responder's `other` address.
 *
 * @example
 * ```ts
 * import { bindingRequest, bindingResponse, parseStun } from "./stun.ts";
 * const req = bindingRequest();
 * const resp = bindingResponse(req.transactionId, { hostname: "192.0.2.1", port: 4000 });
 * console.log(parseStun(resp)?.mapped); // { hostname: "192.0.2.1", port: 4000 }
 * ```
 */
export function bindingResponse(
  transactionId: Uint8Array,
  mapped: Endpoint,
  other?: Endpoint,
): Uint8Array {
  const attrs: Array<[number, Uint8Array]> = [
    [ATTR_XOR_MAPPED, addressValue(mapped, true, transactionId)],
    [ATTR_MAPPED, addressValue(mapped, false, transactionId)],
  ];
  if (other) attrs.push([ATTR_OTHER, addressValue(other, false, transactionId)]);
  attrs.push([ATTR_SOFTWARE, new TextEncoder().encode("dfrp")]);
  const length = attrs.reduce((n, [, v]) => n + 4 + ((v.length + 3) & ~3), 0);
  const out = new Uint8Array(HEADER + length);
  const view = new DataView(out.buffer);
  view.setUint16(0, BINDING_SUCCESS);
  view.setUint16(2, length);
  view.setUint32(4, MAGIC_COOKIE);
  out.set(transactionId, 8);
  let off = HEADER;
  for (const [type, value] of attrs) {
    view.setUint16(off, type);
    view.setUint16(off + 2, value.length);
    out.set(value, off + 4);
    off += 4 + ((value.length + 3) & ~3);
  }
  return out;
}

/**
 * Whether `data` looks like a STUN message (first two bits zero, the magic
 * cookie), cheaply, before parsing.
 *
 * @example
 * ```ts
 * import { bindingRequest, isStun } from "./stun.ts";
 * console.log(isStun(bindingRequest().packet)); // true
 * ```
 */
export function isStun(data: Uint8Array): boolean {
  return data.length >= HEADER && (data[0] & 0xc0) === 0 &&
    new DataView(data.buffer, data.byteOffset).getUint32(4) === MAGIC_COOKIE;
}

/**
 * Parses a Binding request or success response; null for anything else or
 * anything malformed (never throws on bad input).
 *
 * @example
 * ```ts
 * import { parseStun } from "./stun.ts";
 * console.log(parseStun(new Uint8Array(3))); // null
 * ```
 */
export function parseStun(data: Uint8Array): StunMessage | null {
  if (!isStun(data)) return null;
  const view = new DataView(data.buffer, data.byteOffset, data.length);
  const type = view.getUint16(0);
  const length = view.getUint16(2);
  if (HEADER + length > data.length || (length & 3) !== 0) return null;
  let kind: StunMessage["kind"];
  if (type === BINDING_REQUEST) kind = "request";
  else if (type === BINDING_SUCCESS) kind = "response";
  else return null;
  const transactionId = data.slice(8, 20);
  const msg: StunMessage = { kind, transactionId };
  let mapped: Endpoint | undefined;
  for (let off = HEADER; off + 4 <= HEADER + length;) {
    const attr = view.getUint16(off);
    const len = view.getUint16(off + 2);
    if (off + 4 + len > HEADER + length) return null;
    const value = data.subarray(off + 4, off + 4 + len);
    if (attr === ATTR_XOR_MAPPED) msg.mapped = parseAddress(value, true, transactionId);
    else if (attr === ATTR_MAPPED) mapped = parseAddress(value, false, transactionId);
    else if (attr === ATTR_OTHER) msg.other = parseAddress(value, false, transactionId);
    off += 4 + ((len + 3) & ~3);
  }
  msg.mapped ??= mapped;
  return msg;
}

function parseAddress(v: Uint8Array, xor: boolean, txid: Uint8Array): Endpoint | undefined {
  const family = v[1];
  const size = family === 1 ? 4 : family === 2 ? 16 : 0;
  if (size === 0 || v.length < 4 + size) return undefined;
  const view = new DataView(v.buffer, v.byteOffset, v.length);
  const port = xor ? view.getUint16(2) ^ (MAGIC_COOKIE >>> 16) : view.getUint16(2);
  const mask = xorMask(txid);
  const ip = new Uint8Array(size);
  for (let i = 0; i < size; i++) ip[i] = xor ? v[4 + i] ^ mask[i] : v[4 + i];
  return { hostname: size === 4 ? ip.join(".") : formatIpv6(ip), port };
}

function xorMask(txid: Uint8Array): Uint8Array {
  const mask = new Uint8Array(16);
  new DataView(mask.buffer).setUint32(0, MAGIC_COOKIE);
  mask.set(txid, 4);
  return mask;
}

function ipv4Bytes(host: string): Uint8Array {
  const parts = host.split(".").map(Number);
  if (parts.length !== 4 || parts.some((p) => !(p >= 0 && p <= 255))) {
    throw new Error(`not an IPv4 address: ${host}`);
  }
  return new Uint8Array(parts);
}

function ipv6Bytes(host: string): Uint8Array {
  const [head, tail = ""] = host.split("::");
  const groups = (s: string) => (s ? s.split(":") : []);
  const h = groups(head);
  const t = host.includes("::") ? groups(tail) : [];
  const all = [...h, ...Array(8 - h.length - t.length).fill("0"), ...t];
  const out = new Uint8Array(16);
  const view = new DataView(out.buffer);
  all.forEach((g, i) => view.setUint16(i * 2, parseInt(g, 16) || 0));
  return out;
}

function formatIpv6(ip: Uint8Array): string {
  const view = new DataView(ip.buffer);
  const groups = Array.from({ length: 8 }, (_, i) => view.getUint16(i * 2).toString(16));
  return groups.join(":").replace(/(^|:)0(:0)+(:|$)/, "::");
}
