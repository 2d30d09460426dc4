/**
 * Checks that a port relays bytes whole: many connections at once, each sending random bytes of
 * a random length and comparing the SHA-256 of what came back with what it sent.
 *
 * @example
 * ```ts
 * import { echoServer } from "./_harness.ts";
 * import { assertConcurrentEchoes } from "./_echo.ts";
 * using echo = echoServer();
 * await assertConcurrentEchoes(echo.port, 10, 64 * 1024);
 * ```
 *
 * @module
 */

import { assertEquals } from "./_assert.ts";
import { startEchoProxy } from "./_echo_proxy.ts";
import { randomBytes, roundTrip, sha256 } from "./_harness.ts";

/**
 * Opens `connections` connections to 127.0.0.1:`port` at once; each sends 1 to `maxBytes` random
 * bytes, half-closes, and reads the reply; then every reply's hash must equal its payload's.
 *
 * @example
 * ```ts
 * import { echoServer } from "./_harness.ts";
 * import { assertConcurrentEchoes } from "./_echo.ts";
 * using echo = echoServer();
 * await assertConcurrentEchoes(echo.port, 20, 128 * 1024);
 * ```
 */
export async function assertConcurrentEchoes(
  port: number,
  connections: number,
  maxBytes: number,
): Promise<void> {
  const results = await Promise.all(
    Array.from({ length: connections }, async () => {
      const payload = randomBytes(1 + Math.floor(Math.random() * maxBytes));
      const reply = await roundTrip(port, payload);
      return [await sha256(payload), await sha256(reply as Uint8Array<ArrayBuffer>)];
    }),
  );
  for (const [sent, got] of results) assertEquals(got, sent);
}

/**
 * Starts a client of the server at 127.0.0.1:`serverPort` with `extra` lines (transport keys)
 * and a tcp proxy "echo" from a free remote port to a fresh echo service; once the proxy has
 * started, runs `check` with that remote port, then stops the client.
 *
 * @example
 * ```ts
 * import { assertEchoes, randomBytes, startServer } from "./_harness.ts";
 * import { withEchoProxy } from "./_echo.ts";
 * await using server = await startServer("");
 * await withEchoProxy(server.port, "transport.tcpMux = false", async (remotePort) => {
 *   await assertEchoes(remotePort, randomBytes(1024));
 * });
 * ```
 */
export async function withEchoProxy(
  serverPort: number,
  extra: string,
  check: (remotePort: number) => Promise<void>,
): Promise<void> {
  await using proxy = await startEchoProxy(serverPort, undefined, { clientExtra: extra });
  await check(proxy.remotePort);
}
