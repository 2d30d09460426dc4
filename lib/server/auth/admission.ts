/**
 * Whether a logged-in client may register a proxy: its `[[auth.users]]`
 * entry's `maxProxies`, `allowPorts` and `allowDomains`, then the
 * `NewProxy` server plugins (which may also change the proxy). The entry's
 * `bandwidthLimit` is imposed on the proxy in server mode.
 *
 * @example
 * ```ts
 * import { admitProxy } from "./admission.ts";
 * import type { ServerServices } from "../services.ts";
 * import type { Login, NewProxy } from "../../protocol/messages.ts";
 * declare const services: ServerServices, login: Login, msg: NewProxy;
 * const denied = await admitProxy(services, login, "0123456789abcdef", msg);
 * if (denied) console.log(`refused: ${denied}`);
 * ```
 *
 * @module
 */

import type { ServerConfig } from "../../config/mod.ts";
import type { Logger } from "../../log.ts";
import { parseBandwidth } from "../../net/rate_limit.ts";
import { type Login, type NewProxy, NewProxySchema } from "../../protocol/messages.ts";
import { httpPluginsOf, PluginRejected } from "../plugin/http_plugins.ts";
import type { PortManager } from "../ports.ts";
import type { ProxyStats } from "../stats.ts";
import { UserPorts } from "./user_ports.ts";
import { findUser, type UserEntry } from "./users.ts";

/** The parts of the server's state admission reads. */
export interface AdmissionServices {
  readonly config: ServerConfig;
  readonly log: Logger;
  readonly ports: PortManager;
  readonly stats: Map<string, ProxyStats>;
}

const VHOST_TYPES = new Set(["http", "https", "tcpmux"]);
const PORT_TYPES = new Set(["tcp", "udp"]);

/**
 * Whether `domain` is covered by `patterns`: an exact name, or a wildcard
 * `*.example.com` that covers any name ending in `.example.com` (also a
 * narrower wildcard such as `*.a.example.com`), but not `example.com` itself.
 *
 * @example
 * ```ts
 * import { domainAllowed } from "./admission.ts";
 * domainAllowed("web.alice.example.com", ["*.alice.example.com"]); // true
 * domainAllowed("alice.example.com", ["*.alice.example.com"]); // false
 * ```
 */
export function domainAllowed(domain: string, patterns: readonly string[]): boolean {
  const name = domain.toLowerCase();
  return patterns.some((raw) => {
    const p = raw.toLowerCase();
    if (p === name) return true;
    return p.startsWith("*.") && name.endsWith(p.slice(1)) && name.length > p.length - 1;
  });
}

/**
 * The port manager a user's proxies go through: the server's, or a view
 * narrowed to the entry's `allowPorts`.
 *
 * @example
 * ```ts
 * import { portsFor } from "./admission.ts";
 * import type { ServerServices } from "../services.ts";
 * declare const services: ServerServices;
 * const ports = portsFor(services, "alice");
 * ```
 */
export function portsFor(services: AdmissionServices, user: string): PortManager {
  const entry = findUser(services.config, user);
  if (!entry || entry.allowPorts.length === 0) return services.ports;
  return new UserPorts(services.ports, entry.allowPorts);
}

function text(v: unknown): string {
  return typeof v === "string" ? v : "";
}

function checkEntry(
  services: AdmissionServices,
  entry: UserEntry,
  msg: NewProxy,
  config: NewProxy,
): string {
  const who = `user [${entry.user}]`;
  const type = msg.proxyType;
  if (PORT_TYPES.has(type) && entry.allowPorts.length > 0) {
    const port = config.remotePort;
    if (port !== 0 && !new UserPorts(services.ports, entry.allowPorts).allowed(port)) {
      return `port ${port} is not allowed for ${who} (allowPorts)`;
    }
  }
  if (VHOST_TYPES.has(type) && entry.allowDomains.length > 0) {
    const domains = [...config.customDomains];
    const sub = config.subdomain;
    if (sub) domains.push(`${sub}.${services.config.subDomainHost}`);
    for (const domain of domains) {
      if (!domainAllowed(domain, entry.allowDomains)) {
        return `domain ${domain} is not allowed for ${who} (allowDomains)`;
      }
    }
  }
  if (entry.maxProxies > 0) {
    let running = 0;
    for (const s of services.stats.values()) {
      if (s.owner !== undefined && s.user === entry.user && s.name !== msg.proxyName) running++;
    }
    if (running >= entry.maxProxies) {
      return `${who} may run at most ${entry.maxProxies} proxies (maxProxies)`;
    }
  }
  return "";
}

/** The entry's bandwidth limit imposed in server mode, unless the proxy asks for less there. */
function imposeBandwidth(entry: UserEntry, config: NewProxy): void {
  if (!entry.bandwidthLimit) return;
  const t = { ...config.transport };
  const own = t.bandwidthLimitMode === "server" ? safeRate(t.bandwidthLimit) : 0;
  if (own > 0 && own <= parseBandwidth(entry.bandwidthLimit)) return;
  t.bandwidthLimit = entry.bandwidthLimit;
  t.bandwidthLimitMode = "server";
  config.transport = t;
}

function safeRate(text: string): number {
  try {
    return parseBandwidth(text);
  } catch {
    return 0;
  }
}

/** frp's `NewProxyContent`, from dfrp's proxy config. */
function pluginContent(login: Login, runId: string, msg: NewProxy, c: NewProxy) {
  const t = c.transport;
  const lb = c.loadBalancer;
  return {
    user: { user: login.user, metas: login.metas ?? {}, run_id: runId },
    proxy_name: msg.proxyName,
    proxy_type: msg.proxyType,
    use_encryption: t.useEncryption,
    use_compression: t.useCompression,
    bandwidth_limit: t.bandwidthLimit,
    bandwidth_limit_mode: t.bandwidthLimitMode,
    group: lb.group,
    // The client's proof of its groupKey (lib/protocol/new_proxy.ts); the key stays on the client.
    group_key: lb.groupKey,
    metas: c.metadatas,
    annotations: c.annotations,
    remote_port: c.remotePort,
    custom_domains: c.customDomains,
    subdomain: c.subdomain,
    locations: c.locations,
    http_user: c.httpUser,
    http_pwd: c.httpPassword,
    host_header_rewrite: c.hostHeaderRewrite,
    route_by_http_user: c.routeByHTTPUser,
    allow_users: c.allowUsers,
    multiplexer: c.multiplexer,
  };
}

/**
 * Copies back what a plugin may change (not the flags both ends must agree
 * on) and checks the result against the `NewProxy` schema; returns the
 * reason when a plugin answered with a value of the wrong type.
 */
function applyPluginContent(content: Record<string, unknown>, msg: NewProxy): string {
  const c: Record<string, unknown> = structuredClone(msg);
  const keys: Array<[string, string]> = [
    ["remote_port", "remotePort"],
    ["custom_domains", "customDomains"],
    ["subdomain", "subdomain"],
    ["locations", "locations"],
    ["http_user", "httpUser"],
    ["http_pwd", "httpPassword"],
    ["host_header_rewrite", "hostHeaderRewrite"],
    ["route_by_http_user", "routeByHTTPUser"],
    ["allow_users", "allowUsers"],
    ["metas", "metadatas"],
    ["annotations", "annotations"],
  ];
  for (const [from, to] of keys) if (content[from] !== undefined) c[to] = content[from];
  if (typeof content.bandwidth_limit === "string" && content.bandwidth_limit !== "") {
    c.transport = {
      ...msg.transport,
      bandwidthLimit: content.bandwidth_limit,
      bandwidthLimitMode: text(content.bandwidth_limit_mode) || "server",
    };
  }
  const checked = NewProxySchema.safeParse(c);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    return `a NewProxy plugin answered ${issue.path.join(".")}: ${issue.message}`;
  }
  Object.assign(msg, checked.data);
  return "";
}

/**
 * Resolves to "" when the proxy may start, else the reason to send back.
 * May change `msg` (bandwidth imposed, plugin changes, checked against the
 * `NewProxy` schema again).
 */
export async function admitProxy(
  services: AdmissionServices,
  login: Login,
  runId: string,
  msg: NewProxy,
): Promise<string> {
  const config = msg;
  const entry = findUser(services.config, login.user);
  if (entry) {
    const denied = checkEntry(services, entry, msg, config);
    if (denied) return denied;
    imposeBandwidth(entry, config);
  }
  const plugins = httpPluginsOf(services);
  if (plugins.has("NewProxy")) {
    try {
      const content = await plugins.run("NewProxy", pluginContent(login, runId, msg, config));
      const invalid = applyPluginContent(content as Record<string, unknown>, config);
      if (invalid) return invalid;
    } catch (err) {
      if (err instanceof PluginRejected) return err.message;
      throw err;
    }
    // A plugin may have moved the proxy outside what the user may claim.
    if (entry) {
      const denied = checkEntry(services, entry, msg, config);
      if (denied) return denied;
    }
  }
  return "";
}
