/**
 * PROXY protocol headers (haproxy's spec, versions 1 and 2) that tell a local
 * service the real visitor address, for `transport.proxyProtocolVersion`.
 *
 * Version 1 is a text line and only describes TCP; version 2 is binary and
 * also describes datagrams (UDP). When the two addresses are of different
 * families the IPv4 one is written as an IPv4-mapped IPv6 address; when
 * either is not an IP address the header says so (v1 `UNKNOWN`, v2
 * `AF_UNSPEC`) and the receiver falls back to the connection's own address.
 *
 * @example
 * ```ts
 * import { encodeProxyHeader } from "./proxy_protocol.ts";
 * const header = encodeProxyHeader("v1", {
 *   srcAddr: "203.0.113.7", srcPort: 51000, dstAddr: "198.51.100.1", dstPort: 6000,
 * });
 * // "PROXY TCP4 203.0.113.7 198.51.100.1 51000 6000\r\n"
 * ```
 *
 * @module
 */

/** Both ends of the visitor's connection, as in `StartWorkConn`. */
export interface ProxyEnds {
  srcAddr: string;
  srcPort: number;
  dstAddr: string;
  dstPort: number;
}

/** The 12-byte signature every v2 header starts with. */
export const PROXY_V2_SIGNATURE: Uint8Array = new Uint8Array([
  0x0d,
  0x0a,
  0x0d,
  0x0a,
  0x00,
  0x0d,
  0x0a,
  0x51,
  0x55,
  0x49,
  0x54,
  0x0a,
]);

/**
 * The 4 bytes of a dotted IPv4 address, or null.
 *
 * @example
 * ```ts
 * import { parseIPv4 } from "./proxy_protocol.ts";
 * parseIPv4("10.0.0.1"); // Uint8Array [10, 0, 0, 1]
 * ```
 */
export function parseIPv4(text: string): Uint8Array | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    if (!/^\d{1,3}$/.test(parts[i])) return null;
    const v = Number(parts[i]);
    if (v > 255) return null;
    out[i] = v;
  }
  return out;
}

/**
 * The 16 bytes of an IPv6 address (with `::` and an embedded dotted IPv4
 * tail; brackets and a `%zone` are ignored), or null.
 *
 * @example
 * ```ts
 * import { parseIPv6 } from "./proxy_protocol.ts";
 * parseIPv6("::ffff:10.0.0.1")?.length; // 16
 * ```
 */
export function parseIPv6(text: string): Uint8Array | null {
  let s = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  const zone = s.indexOf("%");
  if (zone >= 0) s = s.slice(0, zone);
  if (!s.includes(":")) return null;
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const groups = (part: string): number[] | null => {
    if (part === "") return [];
    const out: number[] = [];
    const items = part.split(":");
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      if (i === items.length - 1 && item.includes(".")) {
        const v4 = parseIPv4(item);
        if (!v4) return null;
        out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(item)) {
        out.push(parseInt(item, 16));
      } else {
        return null;
      }
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (!head || !tail) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const all = [...head, ...new Array(halves.length === 2 ? missing : 0).fill(0), ...tail];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

interface Family {
  v6: boolean;
  src: Uint8Array;
  dst: Uint8Array;
}

function mapped(v4: Uint8Array): Uint8Array {
  const out = new Uint8Array(16);
  out[10] = out[11] = 0xff;
  out.set(v4, 12);
  return out;
}

/** Both addresses in one family, or null when either is not an IP address. */
function family(ends: ProxyEnds): Family | null {
  const src4 = parseIPv4(ends.srcAddr);
  const dst4 = parseIPv4(ends.dstAddr);
  if (src4 && dst4) return { v6: false, src: src4, dst: dst4 };
  const src = src4 ? mapped(src4) : parseIPv6(ends.srcAddr);
  const dst = dst4 ? mapped(dst4) : parseIPv6(ends.dstAddr);
  return src && dst ? { v6: true, src, dst } : null;
}

function formatIPv6(bytes: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] << 8) | bytes[i + 1]).toString(16));
  return groups.join(":");
}

function validPort(port: number): boolean {
  return Number.isInteger(port) && port >= 0 && port <= 65535;
}

/**
 * A v1 header line: `PROXY TCP4|TCP6 src dst srcPort dstPort\r\n`, or
 * `PROXY UNKNOWN\r\n` when the addresses are not IP addresses.
 *
 * @example
 * ```ts
 * import { encodeProxyV1 } from "./proxy_protocol.ts";
 * const line = encodeProxyV1({ srcAddr: "::1", srcPort: 1, dstAddr: "::1", dstPort: 2 });
 * ```
 */
export function encodeProxyV1(ends: ProxyEnds): Uint8Array {
  const fam = family(ends);
  let line = "PROXY UNKNOWN\r\n";
  if (fam && validPort(ends.srcPort) && validPort(ends.dstPort)) {
    const text = (b: Uint8Array) => fam.v6 ? formatIPv6(b) : b.join(".");
    line = `PROXY ${fam.v6 ? "TCP6" : "TCP4"} ${text(fam.src)} ${
      text(fam.dst)
    } ${ends.srcPort} ${ends.dstPort}\r\n`;
  }
  return new TextEncoder().encode(line);
}

/**
 * A v2 binary header with command PROXY for a stream (`"tcp"`) or datagram
 * (`"udp"`) connection; `AF_UNSPEC` with no addresses when they are not IP
 * addresses.
 *
 * @example
 * ```ts
 * import { encodeProxyV2 } from "./proxy_protocol.ts";
 * const header = encodeProxyV2(
 *   { srcAddr: "10.0.0.1", srcPort: 5353, dstAddr: "10.0.0.2", dstPort: 53 },
 *   "udp",
 * );
 * header.length; // 28
 * ```
 */
export function encodeProxyV2(ends: ProxyEnds, transport: "tcp" | "udp" = "tcp"): Uint8Array {
  const fam = validPort(ends.srcPort) && validPort(ends.dstPort) ? family(ends) : null;
  const addrLen = fam ? (fam.v6 ? 36 : 12) : 0;
  const out = new Uint8Array(16 + addrLen);
  out.set(PROXY_V2_SIGNATURE);
  out[12] = 0x21; // version 2, command PROXY
  out[13] = fam ? ((fam.v6 ? 0x20 : 0x10) | (transport === "udp" ? 0x02 : 0x01)) : 0x00;
  out[14] = addrLen >> 8;
  out[15] = addrLen & 0xff;
  if (fam) {
    const n = fam.src.length;
    out.set(fam.src, 16);
    out.set(fam.dst, 16 + n);
    const view = new DataView(out.buffer);
    view.setUint16(16 + 2 * n, ends.srcPort);
    view.setUint16(18 + 2 * n, ends.dstPort);
  }
  return out;
}

/**
 * The header `version` asks for, or null when there is none to send: no
 * version set, or v1 for UDP (v1 describes TCP only; frp sends nothing then).
 *
 * @example
 * ```ts
 * import { encodeProxyHeader } from "./proxy_protocol.ts";
 * const h = encodeProxyHeader("v2", { srcAddr: "1.2.3.4", srcPort: 1, dstAddr: "5.6.7.8", dstPort: 2 });
 * ```
 */
export function encodeProxyHeader(
  version: string | undefined,
  ends: ProxyEnds,
  transport: "tcp" | "udp" = "tcp",
): Uint8Array | null {
  if (version === "v2") return encodeProxyV2(ends, transport);
  if (version === "v1" && transport === "tcp") return encodeProxyV1(ends);
  return null;
}
