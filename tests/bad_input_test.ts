import { PROTOCOL_VERSION } from "../lib/protocol/messages.ts";
import { assertEquals, assertMatch } from "./_assert.ts";
import { assertServerStillServes } from "./_echo_proxy.ts";
import { assertEchoesText, echoServer, freePort, startClient, startServer } from "./_harness.ts";

const enc = new TextEncoder();

function clientConfig(serverPort: number, token: string, proxies: string, extra = ""): string {
  return `serverAddr = "127.0.0.1"\nserverPort = ${serverPort}\nauth.token = "${token}"\n${extra}\n${proxies}`;
}

function tcpProxy(name: string, localPort: number, remotePort: number): string {
  return `[[proxies]]\nname = "${name}"\ntype = "tcp"\nlocalPort = ${localPort}\nremotePort = ${remotePort}\n`;
}

Deno.test("wrong token: the client logs the reason and exits 1; the server keeps serving", async () => {
  await using server = await startServer(`auth.token = "right"`);
  const client = await startClient(clientConfig(server.port, "wrong", ""), false);
  const status = await client.exited;
  assertEquals(status.code, 1);
  assertMatch(client.output, /authorization failed: token mismatch/);
  await server.waitFor(/login from 127\.0\.0\.1:\d+ refused: authorization failed/);
  await assertServerStillServes(server.port, "right");
});

Deno.test("wrong token with loginFailExit = false: the client keeps retrying", async () => {
  await using server = await startServer(`auth.token = "right"`);
  await using client = await startClient(
    clientConfig(server.port, "wrong", "", "loginFailExit = false"),
    false,
  );
  await client.waitFor(
    /login to the server failed: authorization failed[^\n]*retrying[^\n]*\n[^\n]*retrying/s,
  );
});

Deno.test("port not allowed, port in use, too many ports: refused with a reason; other proxies work", async () => {
  using echo = echoServer();
  const busy = Deno.listen({ hostname: "0.0.0.0", port: 0 });
  try {
    const allowed = [freePort(), freePort()];
    const notAllowed = freePort();
    await using server = await startServer(`
auth.token = "t"
maxPortsPerClient = 2
allowPorts = [{ single = ${allowed[0]} }, { single = ${
      allowed[1]
    } }, { single = ${busy.addr.port} }]
`);
    await using client = await startClient(clientConfig(
      server.port,
      "t",
      tcpProxy("not-allowed", echo.port, notAllowed) +
        tcpProxy("in-use", echo.port, busy.addr.port) +
        tcpProxy("ok-1", echo.port, allowed[0]) +
        tcpProxy("ok-2", echo.port, allowed[1]),
    ));
    await client.waitFor(/\[not-allowed\] start error: port \d+ is not allowed/);
    await client.waitFor(/\[in-use\] start error: port \d+ is already in use/);
    await client.waitFor(/\[ok-1\] start proxy success/);
    await client.waitFor(/\[ok-2\] start proxy success/);
    for (const port of allowed) {
      await assertEchoesText(port, `via ${port}`);
    }

    // Every allowed port is now taken: port 0 finds none left.
    await using third = await startClient(
      clientConfig(server.port, "t", tcpProxy("third", echo.port, 0)),
    );
    await third.waitFor(/\[third\] start error: no free port left in allowPorts/);
  } finally {
    busy.close();
  }
});

Deno.test("maxPortsPerClient: the proxy over the limit is refused", async () => {
  using echo = echoServer();
  await using server = await startServer(`auth.token = "t"\nmaxPortsPerClient = 1`);
  await using client = await startClient(clientConfig(
    server.port,
    "t",
    tcpProxy("first", echo.port, 0) + tcpProxy("second", echo.port, 0),
  ));
  await client.waitFor(/\[(first|second)\] start proxy success/);
  await client.waitFor(/\[(first|second)\] start error: exceeds maxPortsPerClient \(1\)/);
});

Deno.test("garbage, oversized and unauthenticated frames are dropped and logged; the server keeps serving", async () => {
  await using server = await startServer(`auth.token = "t"`);
  const send = async (bytes: Uint8Array) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    try {
      await conn.write(bytes);
      // The server answers (hello) or closes; either way it must close us.
      const buf = new Uint8Array(4096);
      while ((await conn.read(buf)) !== null) { /* drain until closed */ }
    } catch {
      // Reset by the server: also a close.
    } finally {
      conn.close();
    }
  };
  // Not our protocol at all.
  await send(enc.encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  await server.waitFor(/dropped: not a dfrp client \(bad magic\)/);
  // Right magic, then a frame claiming 1 GiB.
  await send(new Uint8Array([0xdf, 0x52, 0x50, 0x01, 0x40, 0, 0, 0]));
  await server.waitFor(/dropped: frame of 1073741824 bytes exceeds/);
  // Right magic, then a frame of non-JSON.
  await send(new Uint8Array([0xdf, 0x52, 0x50, 0x01, 0, 0, 0, 3, 0xff, 0xfe, 0xfd]));
  await server.waitFor(/dropped: frame is not UTF-8 JSON/);
  // Right magic, a well-formed Login with a forged proof.
  const login = enc.encode(JSON.stringify({
    type: "Login",
    version: PROTOCOL_VERSION,
    user: "",
    clientNonce: "00",
    tcpMux: true,
    proof: "00".repeat(32),
  }));
  const frame = new Uint8Array(8 + login.length);
  frame.set([0xdf, 0x52, 0x50, 0x01]);
  new DataView(frame.buffer).setUint32(4, login.length);
  frame.set(login, 8);
  await send(frame);
  await server.waitFor(/refused: authorization failed: token mismatch/);
  // A work connection for a client that does not exist.
  const work = enc.encode(
    JSON.stringify({ type: "NewWorkConn", runId: "0123456789abcdef", proof: "00" }),
  );
  const workFrame = new Uint8Array(8 + work.length);
  workFrame.set([0xdf, 0x52, 0x50, 0x01]);
  new DataView(workFrame.buffer).setUint32(4, work.length);
  workFrame.set(work, 8);
  await send(workFrame);
  await server.waitFor(/work connection for unknown client/);

  await assertServerStillServes(server.port, "t");
});
