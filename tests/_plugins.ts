/**
 * What the client-plugin tests share (tests/plugins_*_test.ts): a server and client carrying one
 * plugin on a tcp proxy, a JSON-echoing HTTP backend, and the visitor's own loopback address.
 *
 * @example
 * ```ts
 * import { LOOPBACK_OK, tunnel } from "./_plugins.ts";
 * await using t = await tunnel(`type = "socks5"\n${LOOPBACK_OK}`);
 * console.log(t.remotePort);
 * ```
 *
 * @module
 */

import { clientConf } from "./_config.ts";
import { freePort, startClient, startServer } from "./_harness.ts";

/**
 * The backends here listen on loopback, which http_proxy and socks5 refuse
 * by default (tests/plugin_destinations_test.ts): these tests allow it.
 */
export const LOOPBACK_OK = 'allowDestinations = ["127.0.0.0/8"]';

/**
 * A local HTTP backend that answers every request with what it saw as JSON (method, path, host,
 * X-Forwarded-*, body...); TLS when `cert` and `key` are given.
 *
 * @example
 * ```ts
 * import { backend } from "./_plugins.ts";
 * await using web = backend();
 * console.log(web.port);
 * ```
 */
export function backend(opts: { cert?: string; key?: string } = {}) {
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen() {},
    ...(opts.cert
      ? { cert: Deno.readTextFileSync(opts.cert), key: Deno.readTextFileSync(opts.key!) }
      : {}),
  }, async (req) => {
    const url = new URL(req.url);
    const body = req.body ? await req.text() : "";
    return Response.json({
      method: req.method,
      path: url.pathname + url.search,
      host: req.headers.get("host"),
      xff: req.headers.get("x-forwarded-for"),
      xfh: req.headers.get("x-forwarded-host"),
      xfp: req.headers.get("x-forwarded-proto"),
      extra: req.headers.get("x-extra"),
      proxyAuth: req.headers.get("proxy-authorization"),
      body,
    });
  });
  return {
    port: server.addr.port,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}

/**
 * A server plus a client with one tcp proxy carrying `plugin` (the lines of `[proxies.plugin]`,
 * `extra` lines go in the proxy's table); yields the remote port.
 *
 * @example
 * ```ts
 * import { tunnel } from "./_plugins.ts";
 * await using t = await tunnel(`type = "static_file"\nlocalPath = "/tmp"`);
 * console.log(t.remotePort);
 * ```
 */
export async function tunnel(plugin: string, extra = "") {
  const server = await startServer(`auth.token = "t"`);
  const remotePort = freePort();
  const client = await startClient(`${clientConf({ serverPort: server.port, token: "t" })}
[[proxies]]
name = "plug"
type = "tcp"
remotePort = ${remotePort}
${extra}
[proxies.plugin]
${plugin}
`);
  await client.waitFor(/\[plug\] start proxy success/);
  return {
    server,
    client,
    remotePort,
    async [Symbol.asyncDispose]() {
      await client.stop("SIGKILL");
      await server.stop("SIGKILL");
    },
  };
}

// The visitor dials from 127.0.0.2 so that its address differs from the
// plugin's own loopback address (127.0.0.1) that the backend sees as peer.
export const VISITOR = ["--interface", "127.0.0.2"];
