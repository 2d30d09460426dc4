import { assertEquals } from "./_assert.ts";
import { startEchoProxy } from "./_echo_proxy.ts";
import { eventually, freePort, roundTrip, startServer } from "./_harness.ts";

for (const tcpMux of [true, false]) {
  Deno.test(`reconnect (tcpMux ${tcpMux}): kill the server, start it again, the proxy works within 5 s`, async () => {
    const serverPort = freePort();
    const serverConfig = `bindPort = ${serverPort}\nauth.token = "t"\ntransport.tcpMux = ${tcpMux}`;
    const first = await startServer(serverConfig);
    await using proxy = await startEchoProxy(serverPort, "t", {
      clientExtra: `transport.tcpMux = ${tcpMux}
transport.heartbeatInterval = 1
transport.heartbeatTimeout = 3`,
    });
    const { client, remotePort } = proxy;
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
