/**
 * A witness client: a real `client.ts` with one tcp proxy to an in-process
 * echo service, started once the proxy is up. Tests start one to show that a
 * server carries traffic (after a flood, a fuzzing run, a refused login...).
 *
 * @example
 * ```ts
 * import { startEchoProxy } from "./_echo_proxy.ts";
 * import { assertEchoesText } from "./_harness.ts";
 * await using proxy = await startEchoProxy(7000, "t");
 * await assertEchoesText(proxy.remotePort, "hello");
 * ```
 *
 * @module
 */

import { clientConf, tcpProxy } from "./_config.ts";
import {
  assertEchoesText,
  type DfrpProcess,
  echoServer,
  freePort,
  startClient,
} from "./_harness.ts";

/** What {@linkcode startEchoProxy} started; disposing it stops the client and the echo service. */
export interface EchoProxy extends AsyncDisposable {
  /** The client process (its output, its pid...). */
  client: DfrpProcess;
  /** The server port the proxy listens on. */
  remotePort: number;
  /** The echo service's port (the proxy's `localPort`). */
  echoPort: number;
}

/** Options of {@linkcode startEchoProxy}. */
export interface EchoProxyOptions {
  /** The proxy's name ("echo" by default): plain letters, digits and dashes (it enters a pattern). */
  name?: string;
  /** The proxy's `remotePort`; a free port by default. */
  remotePort?: number;
  /** More client lines before the proxy (e.g. `transport.tcpMux = false`). */
  clientExtra?: string;
  /** More lines inside the proxy's table (e.g. `annotations = { team = "core" }`). */
  proxyExtra?: string;
}

/**
 * Starts an echo service and a client logged in to 127.0.0.1:`serverPort` with `token` (none:
 * no `auth.token` line), whose
 * one tcp proxy forwards `remotePort` to the echo service; returns once the client logged
 * `[name] start proxy success`.
 *
 * @example
 * ```ts
 * import { startEchoProxy } from "./_echo_proxy.ts";
 * await using proxy = await startEchoProxy(7000, "t", { name: "witness" });
 * console.log(proxy.remotePort, proxy.client.output);
 * ```
 */
export async function startEchoProxy(
  serverPort: number,
  token: string | undefined,
  { name = "echo", remotePort = freePort(), clientExtra = "", proxyExtra = "" }: EchoProxyOptions =
    {},
): Promise<EchoProxy> {
  const echo = echoServer();
  let client: DfrpProcess | undefined;
  try {
    client = await startClient(
      clientConf({ serverPort, token, extra: clientExtra }) +
        tcpProxy(name, echo.port, remotePort, proxyExtra),
    );
    await client.waitFor(new RegExp(`\\[${name}\\] start proxy success`));
  } catch (err) {
    await client?.[Symbol.asyncDispose]();
    echo.close();
    throw err;
  }
  const started = client;
  return {
    client: started,
    remotePort,
    echoPort: echo.port,
    async [Symbol.asyncDispose]() {
      await started[Symbol.asyncDispose]();
      echo.close();
    },
  };
}

/**
 * A good client still works through the server on 127.0.0.1:`serverPort` after whatever
 * happened before: a new proxy "good" to an echo service answers `text`.
 *
 * @example
 * ```ts
 * import { assertServerStillServes } from "./_echo_proxy.ts";
 * await assertServerStillServes(7000, "t");
 * ```
 */
export async function assertServerStillServes(
  serverPort: number,
  token: string,
  text = "still serving",
): Promise<void> {
  await using proxy = await startEchoProxy(serverPort, token, { name: "good" });
  await assertEchoesText(proxy.remotePort, text);
}
