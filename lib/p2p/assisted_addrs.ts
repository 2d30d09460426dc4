/**
 * Assisted addresses for xtcp (frp's `natTraversal.disableAssistedAddrs`):
 * besides the public mapping STUN reports, each side announces its own
 * interface addresses with the punching socket's port, so two peers on the
 * same LAN (behind one NAT that does not hairpin) reach each other directly.
 * Like frp: IPv4 only, no loopback or link-local, at most 10.
 *
 * Reading the interfaces needs `--allow-sys=networkInterfaces` (in the
 * client's permission set); without it there are simply none.
 *
 * @example
 * ```ts
 * import { assistedAddresses } from "./assisted_addrs.ts";
 * console.log(assistedAddresses()); // e.g. ["192.168.1.20"]
 * ```
 *
 * @module
 */

/** frp's cap on assisted addresses (`ListLocalIPsForNatHole(10)`). */
export const MAX_ASSISTED_ADDRS = 10;

/**
 * This machine's IPv4 interface addresses worth announcing to a peer.
 *
 * @example
 * ```ts
 * import { assistedAddresses } from "./assisted_addrs.ts";
 * const addrs = assistedAddresses();
 * ```
 */
export function assistedAddresses(): string[] {
  let interfaces: Deno.NetworkInterfaceInfo[];
  try {
    interfaces = Deno.networkInterfaces();
  } catch {
    return []; // no --allow-sys=networkInterfaces: STUN's addresses only
  }
  const out: string[] = [];
  for (const i of interfaces) {
    if (i.family !== "IPv4" || out.includes(i.address)) continue;
    if (i.address.startsWith("127.") || i.address.startsWith("169.254.")) continue;
    out.push(i.address);
    if (out.length === MAX_ASSISTED_ADDRS) break;
  }
  return out;
}
