/**
 * TOML builders for the lines the tests repeat: a client's connection to its server, a tcp
 * proxy, a server with an HTTP vhost port. Each returns plain TOML text that a test can extend
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
  return `
[[proxies]]
name = "${name}"
type = "tcp"
localPort = ${localPort}
remotePort = ${remotePort}
${extra}
`;
}

/** What {@linkcode httpServerConf} writes. */
export interface HttpServerConfOptions {
  /** `vhostHTTPPort`. */
  vhostHTTPPort: number;
  /** `auth.token`; "t" by default. */
  token?: string;
  /** More lines after those. */
  extra?: string;
}

/**
 * A server with an HTTP vhost port: `auth.token` and `vhostHTTPPort`, then `extra`. Pass it to
 * `startServer`.
 *
 * @example
 * ```ts
 * import { httpServerConf } from "./_config.ts";
 * const toml = httpServerConf({ vhostHTTPPort: 8080 });
 * console.log(toml);
 * ```
 */
export function httpServerConf(
  { vhostHTTPPort, token = "t", extra = "" }: HttpServerConfOptions,
): string {
  return `auth.token = "${token}"\nvhostHTTPPort = ${vhostHTTPPort}\n${extra}`;
}
