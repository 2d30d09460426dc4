/**
 * The kernel's default UDP receive buffer, and the hint to raise it. Deno
 * cannot set `SO_RCVBUF` on one socket (`Deno.listenDatagram` has no option;
 * `node:dgram`'s `recvBufferSize` is accepted but never reaches the kernel in
 * Deno 2.9.6), so every udp proxy socket gets `net.core.rmem_default`: 208 KiB
 * on most Linux hosts, about 90 datagrams of 1,200 bytes, which a busy server
 * overflows above ~50 Mbit/s. Raised to 4 MiB, the loss through a udp proxy
 * fell to direct's at 50 and 100 Mbit/s (docs/performance.md).
 *
 * @example
 * ```ts
 * import { udpRcvbufHint } from "./udp_rcvbuf.ts";
 * const hint = udpRcvbufHint();
 * if (hint) console.log(hint);
 * ```
 *
 * @module
 */

/** The receive buffer frp sets on its udp sockets, and the value the hint recommends. */
export const RECOMMENDED_UDP_RCVBUF = 4 * 1024 * 1024;
/** Below this default the hint is given. */
const HINT_BELOW = 1024 * 1024;

/**
 * `net.core.rmem_default` in bytes, or `null` where it cannot be read (not
 * Linux, or no read permission for `/proc/sys`).
 *
 * @example
 * ```ts
 * import { kernelUdpRcvbufDefault } from "./udp_rcvbuf.ts";
 * console.log(kernelUdpRcvbufDefault()); // e.g. 212992
 * ```
 */
export function kernelUdpRcvbufDefault(): number | null {
  try {
    const value = Number(Deno.readTextFileSync("/proc/sys/net/core/rmem_default").trim());
    return Number.isFinite(value) && value > 0 ? value : null;
  } catch {
    return null;
  }
}

let hinted = false;

/**
 * Once per process: a sentence telling the operator to raise
 * `net.core.rmem_default` when it is below 1 MiB; `null` otherwise (or after
 * the first call).
 *
 * @example
 * ```ts
 * import { udpRcvbufHint } from "./udp_rcvbuf.ts";
 * console.log(udpRcvbufHint() ?? "nothing to say");
 * ```
 */
export function udpRcvbufHint(): string | null {
  if (hinted) return null;
  hinted = true;
  const size = kernelUdpRcvbufDefault();
  if (size === null || size >= HINT_BELOW) return null;
  return `udp sockets get the kernel's default receive buffer of ${
    Math.round(size / 1024)
  } KiB (net.core.rmem_default): above ~50 Mbit/s datagrams may be dropped there; ` +
    `raise it with sysctl -w net.core.rmem_default=${RECOMMENDED_UDP_RCVBUF} (docs/udp.md)`;
}
