import { tcpProxy } from "./_config.ts";
import { assertEquals } from "./_assert.ts";
import {
  assertEchoes,
  echoServer,
  eventually,
  freePort,
  randomBytes,
  sha256,
  startClient,
  startServer,
} from "./_harness.ts";
import { roundTripTo } from "./_cluster.ts";

const serverConfig = (addr: string, port: number) =>
  `bindAddr = "${addr}"\nbindPort = ${port}\nauth.token = "t"`;

Deno.test("[[servers]] failover: the client moves to the next server when its server dies", async () => {
  using echo = echoServer();
  const port = freePort();
  const remotePort = freePort();
  const first = await startServer(serverConfig("127.0.0.1", port));
  await using second = await startServer(serverConfig("127.0.0.2", port));
  await using client = await startClient(`
auth.token = "t"
transport.heartbeatInterval = 1
transport.heartbeatTimeout = 3
[[servers]]
serverAddr = "127.0.0.1"
serverPort = ${port}
[[servers]]
serverAddr = "127.0.0.2"
serverPort = ${port}
${tcpProxy("echo", echo.port, remotePort)}`);
  await client.waitFor(/\[echo\] start proxy success/);
  const data = randomBytes(256 * 1024);
  const want = await sha256(data);
  await assertEchoes(remotePort, data);
  assertEquals(second.output.includes("[echo]"), false, "only one server at a time");

  const killed = Date.now();
  await first.stop("SIGKILL");
  await second.waitFor(/\[echo\] tcp proxy listen at/, 20_000);
  const back = await eventually(() => roundTripTo("127.0.0.2", remotePort, data), 10_000);
  console.log(
    `failover: proxy answers on the second server ${Date.now() - killed} ms after kill -9`,
  );
  assertEquals(await sha256(back as Uint8Array<ArrayBuffer>), want);
  await client.waitFor(/login to server success, get run id \[\w+\] on 127\.0\.0\.2:\d+/);
});

Deno.test("[[servers]] failover: an unreachable first server is skipped at start", async () => {
  using echo = echoServer();
  const port = freePort();
  const dead = freePort();
  const remotePort = freePort();
  await using server = await startServer(serverConfig("127.0.0.1", port));
  await using client = await startClient(`
auth.token = "t"
[[servers]]
serverAddr = "127.0.0.1"
serverPort = ${dead}
[[servers]]
serverAddr = "127.0.0.1"
serverPort = ${port}
${tcpProxy("echo", echo.port, remotePort)}`);
  await client.waitFor(/\[echo\] start proxy success/);
  await server.waitFor(/\[echo\] tcp proxy listen at/);
  const reply = await roundTripTo("127.0.0.1", remotePort, new TextEncoder().encode("hi"));
  assertEquals(new TextDecoder().decode(reply), "hi");
});

Deno.test('serversMode = "all": every proxy on two independent servers at once', async () => {
  using echo = echoServer();
  const port = freePort();
  const otherPort = freePort();
  const remotePort = freePort();
  await using a = await startServer(serverConfig("127.0.0.1", port));
  // Its own token: [[servers]] entries may override auth.token.
  await using b = await startServer(
    `bindAddr = "127.0.0.2"\nbindPort = ${otherPort}\nauth.token = "u"`,
  );
  await using client = await startClient(`
auth.token = "t"
serversMode = "all"
[[servers]]
serverAddr = "127.0.0.1"
serverPort = ${port}
[[servers]]
serverAddr = "127.0.0.2"
serverPort = ${otherPort}
auth.token = "u"
${tcpProxy("echo", echo.port, remotePort)}`);
  await a.waitFor(/\[echo\] tcp proxy listen at/);
  await b.waitFor(/\[echo\] tcp proxy listen at/);
  const data = randomBytes(128 * 1024);
  const want = await sha256(data);
  for (const host of ["127.0.0.1", "127.0.0.2"]) {
    const got = await eventually(() => roundTripTo(host, remotePort, data));
    assertEquals(await sha256(got as Uint8Array<ArrayBuffer>), want, host);
  }
  // One server going away leaves the other serving.
  await a.stop("SIGKILL");
  const got = await roundTripTo("127.0.0.2", remotePort, data);
  assertEquals(await sha256(got as Uint8Array<ArrayBuffer>), want);
  await client.waitFor(/server 127\.0\.0\.1:\d+.*connection to server lost/);
});
