/**
 * The xtcp rendezvous as both peers see it: learning this side's public
 * mapping from the STUN server, and the authenticated `NatHoleVisitor` /
 * `NatHoleResp` exchange the server relays on the visitor connection.
 *
 * @example
 * ```ts
 * import { parseEndpoints, stunServerOf } from "./rendezvous.ts";
 * import { defaultClientConfig } from "../config/mod.ts";
 * console.log(stunServerOf(defaultClientConfig())); // the dfrp server, UDP serverPort
 * console.log(parseEndpoints(["192.0.2.1:5000", "bad"])); // [{ hostname: "192.0.2.1", port: 5000 }]
 * ```
 *
 * @module
 */

import { assistedAddresses } from "./assisted_addrs.ts";
import type { ClientConfig } from "../config/mod.ts";
import { prove, randomHex, verifyProof } from "../protocol/auth.ts";
import type { NatHoleResp, NatHoleVisitor } from "../protocol/messages.ts";
import { discoverNat, type NatInfo } from "./nat_type.ts";
import type { Endpoint } from "./stun.ts";
import { UdpPort } from "./udp_port.ts";

/**
 * Where to ask for the public mapping: `natHoleStunServer`, or by default the
 * dfrp server itself (it answers STUN on UDP `bindPort`).
 *
 * @example
 * ```ts
 * import { stunServerOf } from "./rendezvous.ts";
 * import { defaultClientConfig } from "../config/mod.ts";
 * stunServerOf(defaultClientConfig());
 * ```
 */
export function stunServerOf(config: ClientConfig): Endpoint {
  const text = (config as { natHoleStunServer?: string }).natHoleStunServer ?? "";
  if (!text) return { hostname: config.serverAddr, port: config.serverPort };
  const ep = parseEndpoint(text);
  if (!ep) throw new Error(`natHoleStunServer "${text}" is not host:port`);
  return ep;
}

function parseEndpoint(text: string): Endpoint | undefined {
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(text);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) return undefined;
  return { hostname: m[1], port: Number(m[2]) };
}

/**
 * The well-formed "host:port" entries of an announced address list.
 *
 * @example
 * ```ts
 * import { parseEndpoints } from "./rendezvous.ts";
 * parseEndpoints(["[2001:db8::1]:7000"]);
 * ```
 */
export function parseEndpoints(list: unknown): Endpoint[] {
  if (!Array.isArray(list)) return [];
  return list.slice(0, 8).flatMap((s) => {
    const ep = typeof s === "string" ? parseEndpoint(s) : undefined;
    return ep ? [ep] : [];
  });
}

function formatEndpoint(ep: Endpoint): string {
  return ep.hostname.includes(":") ? `[${ep.hostname}]:${ep.port}` : `${ep.hostname}:${ep.port}`;
}

/** A bound UDP socket and what STUN said about it. */
export interface LocalSide {
  port: UdpPort;
  nat: NatInfo;
  /**
   * What to announce: the mapping(s) seen by the STUN server, then (unless
   * `disableAssistedAddrs`) this machine's interface addresses.
   */
  addrs: string[];
}

/**
 * Binds a fresh UDP socket and learns its public mapping and NAT type;
 * `disableAssistedAddrs` leaves the interface addresses out of `addrs`.
 *
 * @example
 * ```ts
 * import { prepareLocalSide } from "./rendezvous.ts";
 * const side = await prepareLocalSide({ hostname: "192.0.2.1", port: 7000 });
 * side.port.close();
 * ```
 */
export async function prepareLocalSide(
  stun: Endpoint,
  opts: { disableAssistedAddrs?: boolean } = {},
): Promise<LocalSide> {
  const port = UdpPort.bind("0.0.0.0", 0);
  try {
    const nat = await discoverNat(port, stun);
    const addrs = [formatEndpoint(nat.mapped)];
    // A symmetric NAT's mapping towards the peer is unknown; the second one
    // seen is the best guess after the first.
    if (nat.mapped2 && formatEndpoint(nat.mapped2) !== addrs[0]) {
      addrs.push(formatEndpoint(nat.mapped2));
    }
    // Then the LAN addresses (the peer reads 8 at most): STUN's stay first,
    // the spray towards a symmetric NAT aims at the first address.
    if (!opts.disableAssistedAddrs) {
      for (const ip of assistedAddresses()) {
        const ep = formatEndpoint({ hostname: ip, port: port.port });
        if (!addrs.includes(ep) && addrs.length < 8) addrs.push(ep);
      }
    }
    return { port, nat, addrs };
  } catch (err) {
    port.close();
    throw err;
  }
}

/**
 * The visitor's signed announcement.
 *
 * @example
 * ```ts
 * import { natHoleVisitor } from "./rendezvous.ts";
 * const msg = await natHoleVisitor("secret", ["192.0.2.1:4000"], "easy");
 * ```
 */
export async function natHoleVisitor(
  secretKey: string,
  addrs: string[],
  natType: string,
): Promise<NatHoleVisitor> {
  const sid = randomHex(16);
  const mac = await prove(secretKey, ["xtcp-visitor", sid, addrs.join(","), natType]);
  return { type: "NatHoleVisitor", sid, addrs, natType, mac };
}

/**
 * Whether a `NatHoleVisitor` was made with `secretKey`.
 *
 * @example
 * ```ts
 * import { natHoleVisitor, verifyNatHoleVisitor } from "./rendezvous.ts";
 * const msg = await natHoleVisitor("k", [], "easy");
 * console.log(await verifyNatHoleVisitor("k", msg)); // true
 * ```
 */
export function verifyNatHoleVisitor(secretKey: string, m: NatHoleVisitor): Promise<boolean> {
  if (typeof m.sid !== "string" || !Array.isArray(m.addrs) || typeof m.natType !== "string") {
    return Promise.resolve(false);
  }
  return verifyProof(secretKey, ["xtcp-visitor", m.sid, m.addrs.join(","), m.natType], m.mac);
}

function respParts(m: Omit<NatHoleResp, "mac" | "type">): string[] {
  return ["xtcp-owner", m.sid, m.ownerSid, m.addrs.join(","), m.natType, m.cert, m.error];
}

/**
 * The owner's signed answer.
 *
 * @example
 * ```ts
 * import { natHoleResp } from "./rendezvous.ts";
 * const msg = await natHoleResp("k", { sid: "aa", addrs: [], natType: "easy", cert: "", error: "" });
 * ```
 */
export async function natHoleResp(
  secretKey: string,
  fields: Omit<NatHoleResp, "mac" | "type" | "ownerSid">,
): Promise<NatHoleResp> {
  const body = { ...fields, ownerSid: randomHex(16) };
  return { type: "NatHoleResp", ...body, mac: await prove(secretKey, respParts(body)) };
}

/**
 * Whether a `NatHoleResp` answers session `sid` and was made with `secretKey`.
 *
 * @example
 * ```ts
 * import { natHoleResp, verifyNatHoleResp } from "./rendezvous.ts";
 * const m = await natHoleResp("k", { sid: "aa", addrs: [], natType: "easy", cert: "", error: "" });
 * console.log(await verifyNatHoleResp("k", "aa", m)); // true
 * ```
 */
export function verifyNatHoleResp(
  secretKey: string,
  sid: string,
  m: NatHoleResp,
): Promise<boolean> {
  const fieldsOk = m.sid === sid && typeof m.ownerSid === "string" && Array.isArray(m.addrs) &&
    typeof m.natType === "string" && typeof m.cert === "string" && typeof m.error === "string";
  if (!fieldsOk) return Promise.resolve(false);
  return verifyProof(secretKey, respParts(m), m.mac);
}
