import { assertEquals } from "./_assert.ts";
import {
  echoServer,
  eventually,
  freePort,
  roundTrip,
  startClient,
  startServer,
} from "./_harness.ts";

for (const tcpMux of [true, false]) {
  Deno.test(`reconnect (tcpMux ${tcpMux}): kill the server, start it again, the proxy works within 5 s`, async () => {
    using echo = echoServer();
    const serverPort = freePort();
    const remotePort = freePort();
    const serverConfig = `bindPort = ${serverPort}\nauth.token = "t"\ntransport.tcpMux = ${tcpMux}`;
    const first = await startServer(serverConfig);
    await using client = await startClient(`
serverAddr = "127.0.0.1"
serverPort = ${serverPort}
auth.token = "t"
transport.tcpMux = ${tcpMux}
transport.heartbeatInterval = 1
transport.heartbeatTimeout = 3
[[proxies]]
name = "echo"
type = "tcp"
localPort = ${echo.port}
remotePort = ${remotePort}
`);
    await client.waitFor(/\[echo\] start proxy success/);
    await first.stop("SIGKILL");
    await client.waitFor(/connection to server lost/);

    await using second = await startServer(serverConfig);
    const restarted = Date.now();
    await second.waitFor(/\[echo\] tcp proxy listen at/, 5000);
    const reply = await eventually(
      () => roundTrip(remotePort, new TextEncoder().encode("back")),
      5000,
    );
    assertEquals(new TextDecoder().decode(reply), "back");
    const elapsed = Date.now() - restarted;
    if (elapsed > 5000) throw new Error(`proxy came back after ${elapsed} ms`);
  });
}
