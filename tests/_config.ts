/**
 * TOML builders for the lines the tests repeat: a client's connection to its server, a tcp
 * proxy, a server with its dashboard or an HTTP vhost port. Each returns plain TOML text that a test can extend
 * with its own lines, so what a test sets that matters still reads in the test.
 *
 * @example
 * ```ts
 * import { clientConf, tcpProxy } from "./_config.ts";
 * const toml = clientConf({ serverPort: 7000, token: "t" }) + tcpProxy("echo", 8080, 9000);
 * console.log(toml);
 * ```
 *
 * @module
 */

/** What {@linkcode clientConf} writes. */
export interface ClientConfOptions {
  /** The server's bindPort. */
  serverPort: number;
  /** The server's address; 127.0.0.1 by default. */
  serverAddr?: string;
  /** `auth.token`; no line when left out. */
  token?: string;
  /** More lines, written after the connection lines (proxies, transport keys...). */
  extra?: string;
}

/**
 * A client's connection lines: `serverAddr`, `serverPort`, and `auth.token` when given, then
 * `extra`.
 *
 * @example
 * ```ts
 * import { clientConf } from "./_config.ts";
 * const toml = clientConf({ serverPort: 7000, token: "t", extra: "transport.tcpMux = false" });
 * console.log(toml);
 * ```
 */
export function clientConf(
  { serverPort, serverAddr = "127.0.0.1", token, extra = "" }: ClientConfOptions,
): string {
  return `
serverAddr = "${serverAddr}"
serverPort = ${serverPort}
${token === undefined ? "" : `auth.token = "${token}"\n`}${extra}
`;
}

/**
 * One `[[proxies]]` table of type tcp from `localPort` to `remotePort`, plus `extra` lines
 * inside the same table.
 *
 * @example
 * ```ts
 * import { tcpProxy } from "./_config.ts";
 * const toml = tcpProxy("echo", 8080, 9000, "transport.useEncryption = true");
 * console.log(toml);
 * ```
 */
export function tcpProxy(name: string, localPort: number, remotePort: number, extra = ""): string {
  return proxyTable("tcp", name, localPort, `remotePort = ${remotePort}\n${extra}`);
}

/**
 * One `[[proxies]]` table of type udp from `localPort` to `remotePort` (0: the server picks),
 * plus `extra` lines inside the same table.
 *
 * @example
 * ```ts
 * import { udpProxy } from "./_config.ts";
 * const toml = udpProxy("dns", 53, 5353, `localIP = "127.0.0.1"`);
 * console.log(toml);
 * ```
 */
export function udpProxy(name: string, localPort: number, remotePort: number, extra = ""): string {
  return proxyTable("udp", name, localPort, `remotePort = ${remotePort}\n${extra}`);
}

/**
 * One `[[proxies]]` table of type `type` to `localPort` (no such line when null: a plugin serves
 * the proxy), plus `extra` lines inside the same table: the shape every proxy builder here shares.
 *
 * @example
 * ```ts
 * import { proxyTable } from "./_config.ts";
 * const toml = proxyTable("stcp", "secret", 8080, `secretKey = "k"`);
 * console.log(toml);
 * ```
 */
export function proxyTable(
  type: string,
  name: string,
  localPort: number | null,
  extra = "",
): string {
  const local = localPort === null ? "" : `localPort = ${localPort}\n`;
  return `
[[proxies]]
name = "${name}"
type = "${type}"
${local}${extra}
`;
}

/**
 * One `[[proxies]]` table of type http to `localPort`; `extra` says how it is routed
 * (customDomains, subdomain, locations...) and what it rewrites.
 *
 * @example
 * ```ts
 * import { httpProxy } from "./_config.ts";
 * const toml = httpProxy("web", 8080, `customDomains = ["a.example.com"]`);
 * console.log(toml);
 * ```
 */
export function httpProxy(name: string, localPort: number, extra = ""): string {
  return proxyTable("http", name, localPort, extra);
}

/**
 * One `[[proxies]]` table of type https (routed by SNI, TLS passed through) to `localPort`.
 *
 * @example
 * ```ts
 * import { httpsProxy } from "./_config.ts";
 * const toml = httpsProxy("web", 8443, `subdomain = "b"`);
 * console.log(toml);
 * ```
 */
export function httpsProxy(name: string, localPort: number, extra = ""): string {
  return proxyTable("https", name, localPort, extra);
}

/**
 * The line that makes an http proxy set `x-tag: <tag>` on each request, so that a backend
 * shared by several proxies tells which one a request came through.
 *
 * @example
 * ```ts
 * import { httpProxy, xTag } from "./_config.ts";
 * const toml = httpProxy("api", 8080, `customDomains = ["a.example"]\n${xTag("api")}`);
 * console.log(toml);
 * ```
 */
export function xTag(tag: string): string {
  return `requestHeaders.set.x-tag = "${tag}"`;
}

/** What {@linkcode serverConf} writes. */
export interface ServerConfOptions {
  /** `auth.token`; "t" by default. */
  token?: string;
  /** `vhostHTTPPort`; no line when left out. */
  vhostHTTPPort?: number;
  /** `webServer.port` (the dashboard); no line when left out. */
  webPort?: number;
  /** `webServer.user`; no line when left out. */
  webUser?: string;
  /** `webServer.password`; no line when left out. */
  webPassword?: string;
  /** More lines after those. */
  extra?: string;
}

/**
 * A server's lines: `auth.token`, then `vhostHTTPPort` and the dashboard's `webServer.*` when
 * given, then `extra`. Pass it to `startServer`.
 *
 * @example
 * ```ts
 * import { serverConf } from "./_config.ts";
 * const toml = serverConf({ webPort: 7500, webUser: "admin", webPassword: "s3cret" });
 * console.log(toml);
 * ```
 */
export function serverConf(
  { token = "t", vhostHTTPPort, webPort, webUser, webPassword, extra = "" }: ServerConfOptions,
): string {
  const line = (key: string, v: string | number | undefined) =>
    v === undefined ? "" : `${key} = ${typeof v === "string" ? `"${v}"` : v}\n`;
  return `
auth.token = "${token}"
${line("vhostHTTPPort", vhostHTTPPort)}${line("webServer.port", webPort)}${
    line("webServer.user", webUser)
  }${line("webServer.password", webPassword)}${extra}
`;
}

/**
 * One `[[proxies]]` table of type tcpmux (multiplexer httpconnect) to `localPort`, plus `extra`
 * lines inside the same table (customDomains, routeByHTTPUser...).
 *
 * @example
 * ```ts
 * import { tcpmuxProxy } from "./_config.ts";
 * const toml = tcpmuxProxy("one", 8080, `customDomains = ["one.example.com"]`);
 * console.log(toml);
 * ```
 */
export function tcpmuxProxy(name: string, localPort: number, extra = ""): string {
  return proxyTable("tcpmux", name, localPort, `multiplexer = "httpconnect"\n${extra}`);
}

/** What {@linkcode visitorTable} writes. */
export interface VisitorOptions {
  /** stcp, sudp or xtcp. */
  type: string;
  /** The visitor's own name. */
  name: string;
  /** The proxy it visits. */
  serverName: string;
  /** The proxy's `secretKey`. */
  secretKey: string;
  /** The local port it listens on for users. */
  bindPort: number;
  /** More lines inside the same table (serverUser, transport.*, keepTunnelOpen...). */
  extra?: string;
}

/**
 * One `[[visitors]]` table: a visitor of `type` for the proxy `serverName`, listening on
 * `bindPort`.
 *
 * @example
 * ```ts
 * import { visitorTable } from "./_config.ts";
 * const toml = visitorTable({
 *   type: "stcp",
 *   name: "v",
 *   serverName: "secret",
 *   secretKey: "k",
 *   bindPort: 9000,
 * });
 * console.log(toml);
 * ```
 */
export function visitorTable(
  { type, name, serverName, secretKey, bindPort, extra = "" }: VisitorOptions,
): string {
  return `
[[visitors]]
name = "${name}"
type = "${type}"
serverName = "${serverName}"
secretKey = "${secretKey}"
bindPort = ${bindPort}
${extra}
`;
}

/**
 * One `[[httpPlugins]]` table of the server: the plugin at `addr` (host:port, or a URL) is asked
 * on `path` before each of `ops`.
 *
 * @example
 * ```ts
 * import { httpPluginTable } from "./_config.ts";
 * const toml = `auth.token = "t"\n` + httpPluginTable("gate", "127.0.0.1:9000", "/h", ["Login"]);
 * console.log(toml);
 * ```
 */
export function httpPluginTable(name: string, addr: string, path: string, ops: string[]): string {
  return `
[[httpPlugins]]
name = "${name}"
addr = "${addr}"
path = "${path}"
ops = ${JSON.stringify(ops)}
`;
}
