/**
 * A server and one client whose proxies have all started, the pair most tunnel tests begin with.
 * Disposing it stops the client, then the server.
 *
 * @example
 * ```ts
 * import { tcpProxy } from "./_config.ts";
 * import { startTunnel } from "./_tunnel.ts";
 * await using t = await startTunnel({ proxies: tcpProxy("echo", 8080, 9000), started: ["echo"] });
 * console.log(t.server.port, t.client.output);
 * ```
 *
 * @module
 */

import { clientConf } from "./_config.ts";
import {
  type DfrpProcess,
  freePort,
  type ServerHandle,
  startClient,
  startServer,
} from "./_harness.ts";

/** What {@linkcode startTunnel} starts. */
export interface TunnelOptions {
  /** The server's TOML (without bindPort); "" by default. */
  server?: string;
  /** The client's `auth.token` line, when the server wants one. */
  token?: string;
  /** The client's lines after its connection lines: transport keys, `[[proxies]]` tables. */
  proxies: string;
  /** Names of the proxies to wait for until each logged `start proxy success`. */
  started: string[];
}

/** A running server and client; `await using` stops both. */
export interface Tunnel extends AsyncDisposable {
  /** The server process (its bindPort in `port`). */
  server: ServerHandle;
  /** The client process, logged in, its `started` proxies up. */
  client: DfrpProcess;
}

/**
 * Waits until `client` logged `[name] start proxy success` for each of `names`, in order.
 *
 * @example
 * ```ts
 * import { startClient } from "./_harness.ts";
 * import { proxiesStarted } from "./_tunnel.ts";
 * await using client = await startClient(`serverPort = 7000`);
 * await proxiesStarted(client, ["web", "ssh"]);
 * ```
 */
export async function proxiesStarted(client: DfrpProcess, names: string[]): Promise<void> {
  for (const name of names) await client.waitFor(new RegExp(`\\[${name}\\] start proxy success`));
}

/**
 * Starts a server with `server`, then a client with `proxies` that dials it, and waits for the
 * `started` proxies.
 *
 * @example
 * ```ts
 * import { httpProxy } from "./_config.ts";
 * import { startTunnel } from "./_tunnel.ts";
 * await using t = await startTunnel({
 *   server: "vhostHTTPPort = 8080",
 *   proxies: httpProxy("web", 3000, `customDomains = ["a.example.com"]`),
 *   started: ["web"],
 * });
 * console.log(t.client.output);
 * ```
 */
export async function startTunnel(
  { server: serverToml = "", token, proxies, started }: TunnelOptions,
): Promise<Tunnel> {
  const server = await startServer(serverToml);
  let client: DfrpProcess | undefined;
  try {
    client = await startClient(clientConf({ serverPort: server.port, token, extra: proxies }));
    await proxiesStarted(client, started);
  } catch (e) {
    await client?.[Symbol.asyncDispose]();
    await server[Symbol.asyncDispose]();
    throw e;
  }
  const running = client;
  return {
    server,
    client: running,
    async [Symbol.asyncDispose]() {
      await running[Symbol.asyncDispose]();
      await server[Symbol.asyncDispose]();
    },
  };
}

/** A {@linkcode Tunnel} whose server also serves HTTP vhosts. */
export interface HttpVhostTunnel extends Tunnel {
  /** The server's `vhostHTTPPort`. */
  vhostPort: number;
}

/**
 * {@linkcode startTunnel} with `vhostHTTPPort` set on a free port, for http proxies.
 *
 * @example
 * ```ts
 * import { httpProxy } from "./_config.ts";
 * import { startHttpVhost } from "./_tunnel.ts";
 * await using vh = await startHttpVhost({
 *   proxies: httpProxy("web", 3000, `customDomains = ["a.example.com"]`),
 *   started: ["web"],
 * });
 * console.log(`http://127.0.0.1:${vh.vhostPort}/`);
 * ```
 */
export async function startHttpVhost(options: TunnelOptions): Promise<HttpVhostTunnel> {
  const vhostPort = freePort();
  const tunnel = await startTunnel({
    ...options,
    server: `vhostHTTPPort = ${vhostPort}\n${options.server ?? ""}`,
  });
  return Object.assign(tunnel, { vhostPort });
}
