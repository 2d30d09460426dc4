/**
 * Where a forward-proxy plugin (`http_proxy`, `socks5`) may connect. Anyone
 * who reaches the proxy's remote port picks the destination, so by default
 * the client's own machine is off limits: loopback (127.0.0.0/8, ::1),
 * link-local (169.254.0.0/16, fe80::/10, cloud metadata lives there),
 * unspecified (0.0.0.0/8, ::) and every address of the client's own
 * interfaces. Names are resolved first and the checked address is the one
 * dialed, so a DNS name pointing at 127.0.0.1 is refused too and cannot
 * change its answer between check and dial.
 *
 * `allowDestinations` / `denyDestinations` entries are a CIDR
 * (`10.0.0.0/8`), an IP (`127.0.0.1`, `::1`), an IP or name with a port
 * (`127.0.0.1:8080`, `[::1]:22`, `intranet.example:443`) or a bare name.
 * A destination matching `denyDestinations` is refused; else one matching
 * `allowDestinations` is allowed; else one in the built-in list is refused;
 * everything else is allowed. `allowDestinations = ["0.0.0.0/0", "::/0"]`
 * restores frp's behaviour (no limit). Of a name's addresses the first
 * allowed one is dialed, IPv4 first.
 *
 * @example
 * ```ts
 * import { Destinations } from "./destinations.ts";
 * const dest = new Destinations(["127.0.0.1:8080"], ["10.0.0.0/8"], "http_proxy");
 * const verdict = await dest.check("localhost", 8080);
 * if (verdict.ok) console.log("dial", verdict.ip);
 * ```
 *
 * @module
 */

import ipaddr from "ipaddr.js";
import { lookup } from "node:dns/promises";
import type { PluginContext } from "./plugin.ts";

type Addr = ipaddr.IPv4 | ipaddr.IPv6;

/** One parsed entry: a range, an address or a name, with an optional port. */
interface Rule {
  text: string;
  cidr?: [Addr, number];
  name?: string;
  port?: number;
}

/** The result of {@linkcode Destinations.check}. */
export type Verdict =
  | { ok: true; ip: string }
  | { ok: false; refused: boolean; reason: string };

/** The built-in refusals, by `ipaddr.js` range name. */
const REFUSED_RANGES: Record<string, string> = {
  loopback: "a loopback address",
  linkLocal: "a link-local address",
  unspecified: "an unspecified address",
};

/** How long "is this address mine" answers are kept. */
const OWN_CACHE_MS = 30_000;
const OWN_CACHE_MAX = 256;

/** See the module doc. */
export class Destinations {
  #allow: Rule[];
  #deny: Rule[];
  #own = new Map<string, { own: boolean; at: number }>();

  /**
   * @param allow `allowDestinations`
   * @param deny `denyDestinations`
   * @param plugin the plugin's type, for error messages
   * @throws Error naming the option and entry that cannot be parsed
   */
  constructor(allow: readonly string[], deny: readonly string[], plugin: string) {
    this.#allow = allow.map((e, i) => parseRule(e, `plugin ${plugin}: allowDestinations[${i}]`));
    this.#deny = deny.map((e, i) => parseRule(e, `plugin ${plugin}: denyDestinations[${i}]`));
  }

  /**
   * Resolves `host` and checks it: the address to dial, or why not
   * (`refused` false means the name did not resolve).
   */
  async check(host: string, port: number): Promise<Verdict> {
    const name = ipaddr.isValid(host) ? undefined : host.toLowerCase().replace(/\.$/, "");
    let addrs: string[];
    if (name === undefined) addrs = [host];
    else {
      try {
        const found = await lookup(name, { all: true, verbatim: true });
        addrs = found.sort((a, b) => a.family - b.family).map((a) => a.address);
      } catch (err) {
        return { ok: false, refused: false, reason: `cannot resolve ${host}: ${errCode(err)}` };
      }
    }
    let first: string | undefined;
    for (const text of addrs) {
      const why = this.#why(ipaddr.process(text), name, port);
      if (why === null) return { ok: true, ip: text };
      first ??= name === undefined ? `${text} is ${why}` : `${host} (${text}) is ${why}`;
    }
    return { ok: false, refused: true, reason: first ?? `${host}: no address` };
  }

  /** Null when allowed, else what the address is. */
  #why(addr: Addr, name: string | undefined, port: number): string | null {
    if (this.#deny.some((r) => matches(r, addr, name, port))) return "in denyDestinations";
    if (this.#allow.some((r) => matches(r, addr, name, port))) return null;
    const range = REFUSED_RANGES[addr.range()];
    if (range) return range;
    if (this.#isOwn(addr.toString())) return "this machine's own address";
    return null;
  }

  /** An address is the machine's own exactly when a socket can be bound to it. */
  #isOwn(ip: string): boolean {
    const now = Date.now();
    const hit = this.#own.get(ip);
    if (hit && now - hit.at < OWN_CACHE_MS) return hit.own;
    let own = false;
    try {
      Deno.listen({ hostname: ip, port: 0 }).close();
      own = true;
    } catch {
      // EADDRNOTAVAIL: somebody else's address.
    }
    if (this.#own.size >= OWN_CACHE_MAX) this.#own.clear();
    this.#own.set(ip, { own, at: now });
    return own;
  }
}

/**
 * Warns that a forward proxy without credentials serves anyone who reaches
 * its remote port.
 *
 * @example
 * ```ts
 * import { warnOpen } from "./destinations.ts";
 * import type { PluginContext } from "./plugin.ts";
 * declare const ctx: PluginContext;
 * warnOpen(ctx, "socks5", "username/password");
 * ```
 */
export function warnOpen(ctx: PluginContext, type: string, keys: string): void {
  ctx.log.warn(
    `plugin ${type} has no ${keys}: anyone who reaches remote port ${
      ctx.proxy.remotePort ?? "?"
    } can use it to connect from this machine (see docs/plugins.md)`,
  );
}

function matches(rule: Rule, addr: Addr, name: string | undefined, port: number): boolean {
  if (rule.port !== undefined && rule.port !== port) return false;
  if (rule.name !== undefined) return rule.name === name;
  const [range, bits] = rule.cidr!;
  return addr.kind() === range.kind() && addr.match(range, bits);
}

function parseRule(text: string, where: string): Rule {
  const entry = text.trim();
  const bad = () =>
    new Error(`${where}: "${text}" is not a CIDR, an IP, a name or one of those with :port`);
  const address = (s: string): [Addr, number] | null => {
    if (!ipaddr.isValid(s)) return null;
    const a = ipaddr.process(s);
    return [a, a.kind() === "ipv4" ? 32 : 128];
  };
  const portOf = (s: string) => {
    const p = Number(s);
    if (!Number.isInteger(p) || p < 1 || p > 65535) throw bad();
    return p;
  };
  if (entry.includes("/")) {
    try {
      const [a, bits] = ipaddr.parseCIDR(entry);
      // A mapped IPv4 range (::ffff:127.0.0.0/104) is stored as the IPv4 one.
      if (a.kind() === "ipv6" && (a as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96) {
        return { text, cidr: [(a as ipaddr.IPv6).toIPv4Address(), bits - 96] };
      }
      return { text, cidr: [a, bits] };
    } catch {
      throw bad();
    }
  }
  const plain = address(entry);
  if (plain) return { text, cidr: plain };
  const bracketed = /^\[([^\]]+)\]:(\d+)$/.exec(entry);
  if (bracketed) {
    const a = address(bracketed[1]);
    if (!a) throw bad();
    return { text, cidr: a, port: portOf(bracketed[2]) };
  }
  const withPort = /^([^:]+):(\d+)$/.exec(entry);
  const host = withPort ? withPort[1] : entry;
  const port = withPort ? portOf(withPort[2]) : undefined;
  const a = address(host);
  if (a) return { text, cidr: a, port };
  if (!/^[a-z0-9_]([a-z0-9_.-]*[a-z0-9_])?\.?$/i.test(host)) throw bad();
  return { text, name: host.toLowerCase().replace(/\.$/, ""), port };
}

function errCode(err: unknown): string {
  return (err as { code?: string }).code ?? (err as Error).message;
}
