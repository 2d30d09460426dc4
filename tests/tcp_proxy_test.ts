import { assertConcurrentEchoes } from "./_echo.ts";
import { clientConf, proxyTable, tcpProxy } from "./_config.ts";
import { assertEquals, assertMatch } from "./_assert.ts";
import {
  echoServer,
  eventually,
  freePort,
  roundTrip,
  startClient,
  startServer,
} from "./_harness.ts";

for (const tcpMux of [true, false]) {
  const mode = tcpMux ? "tcpMux on" : "tcpMux off";

  Deno.test(`tcp proxy (${mode}): echo through the tunnel`, async () => {
    using echo = echoServer();
    await using server = await startServer(`auth.token = "s3cret"\ntransport.tcpMux = ${tcpMux}`);
    const remotePort = freePort();
    await using client = await startClient(
      clientConf({
        serverPort: server.port,
        token: "s3cret",
        extra: `transport.tcpMux = ${tcpMux}\n` +
          tcpProxy("echo", echo.port, remotePort, `localIP = "127.0.0.1"`),
      }),
    );
    await client.waitFor(/\[echo\] start proxy success/);
    const reply = await roundTrip(remotePort, new TextEncoder().encode("hello through dfrp"));
    assertEquals(new TextDecoder().decode(reply), "hello through dfrp");
  });

  Deno.test(`tcp proxy (${mode}): 200 concurrent connections, every byte checked by hash`, async () => {
    using echo = echoServer();
    await using server = await startServer(
      `auth.token = "s3cret"\ntransport.tcpMux = ${tcpMux}\ntransport.maxPoolCount = 50`,
    );
    await using client = await startClient(
      clientConf({
        serverPort: server.port,
        token: "s3cret",
        extra: `transport.tcpMux = ${tcpMux}
transport.poolCount = 20

${tcpProxy("echo", echo.port, 0)}`,
      }),
    );
    const match = await server.waitFor(/\[echo\] tcp proxy listen at :(\d+) success/);
    const remotePort = Number(match[1]);
    await client.waitFor(/\[echo\] start proxy success/);
    await assertConcurrentEchoes(remotePort, 200, 256 * 1024);
  });

  Deno.test(`tcp proxy (${mode}): first bytes ride with StartWorkConn, a greeting still comes first`, async () => {
    // The server sends the user's first bytes with its StartWorkConn when they
    // are already there; when the backend speaks first, nothing may wait for them.
    using echo = echoServer("220 hello\n");
    await using server = await startServer(`transport.tcpMux = ${tcpMux}`);
    const remotePort = freePort();
    await using client = await startClient(
      clientConf({
        serverPort: server.port,
        extra: `transport.tcpMux = ${tcpMux}\n` + tcpProxy("echo", echo.port, remotePort),
      }),
    );
    await client.waitFor(/\[echo\] start proxy success/);
    const readAll = async (conn: Deno.Conn, want: number) => {
      const out = new Uint8Array(want);
      let got = 0;
      while (got < want) {
        const n = await conn.read(out.subarray(got));
        if (n === null) break;
        got += n;
      }
      return new TextDecoder().decode(out.subarray(0, got));
    };
    // The user says nothing until the greeting arrived.
    const quiet = await Deno.connect({ hostname: "127.0.0.1", port: remotePort });
    assertEquals(await readAll(quiet, 10), "220 hello\n");
    await quiet.write(new TextEncoder().encode("ping"));
    assertEquals(await readAll(quiet, 4), "ping");
    quiet.close();
    // The user sends more than one first read takes, and its end, at once.
    const eager = await Deno.connect({ hostname: "127.0.0.1", port: remotePort });
    const body = "x".repeat(5000) + "end";
    await eager.write(new TextEncoder().encode(body));
    await eager.closeWrite();
    assertEquals(await readAll(eager, 10 + body.length + 1), "220 hello\n" + body);
    eager.close();
  });
}

Deno.test("tcp proxy: remotePort = 0 takes a free port and reports it", async () => {
  using echo = echoServer();
  await using server = await startServer(`auth.token = "t"`);
  await using client = await startClient(
    clientConf({
      serverPort: server.port,
      token: "t",
      extra: proxyTable("tcp", "any", echo.port),
    }),
  );
  const match = await server.waitFor(/\[any\] tcp proxy listen at :(\d+) success/);
  await client.waitFor(/\[any\] start proxy success/);
  const port = Number(match[1]);
  assertMatch(String(port), /^[1-9]\d*$/);
  assertEquals(new TextDecoder().decode(await roundTrip(port, new TextEncoder().encode("x"))), "x");
});

Deno.test("tcp proxy: the client going away closes its proxies and frees their ports", async () => {
  using echo = echoServer();
  await using server = await startServer(`auth.token = "t"`);
  const remotePort = freePort();
  const config = clientConf({
    serverPort: server.port,
    token: "t",
    extra: tcpProxy("gone", echo.port, remotePort),
  });
  const first = await startClient(config);
  await first.waitFor(/\[gone\] start proxy success/);
  await first.stop("SIGKILL");
  await server.waitFor(/disconnected/);
  await eventually(() => {
    Deno.listen({ hostname: "0.0.0.0", port: remotePort }).close();
    return Promise.resolve();
  }, 5000);
  // A new client can take the same name and port.
  await using second = await startClient(config);
  await second.waitFor(/\[gone\] start proxy success/);
  const reply = await roundTrip(remotePort, new TextEncoder().encode("again"));
  assertEquals(new TextDecoder().decode(reply), "again");
});
