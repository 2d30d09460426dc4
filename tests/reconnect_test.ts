import { assertEquals } from "./_assert.ts";
import { startEchoProxy } from "./_echo_proxy.ts";
import { eventually, freePort, roundTrip, startServer } from "./_harness.ts";

for (const tcpMux of [true, false]) {
  Deno.test(`reconnect (tcpMux ${tcpMux}): kill the server, start it again, the proxy works again`, async () => {
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
    // The client retries with a backoff that doubles while the server is down, so how soon it is
    // back depends on how long the (loaded) machine took to start the server: no bound on time
    // here, only on the outcome; the time is printed.
    await second.waitFor(/\[echo\] tcp proxy listen at/, 30_000);
    const reply = await eventually(
      () => roundTrip(remotePort, new TextEncoder().encode("back")),
      10_000,
    );
    assertEquals(new TextDecoder().decode(reply), "back");
    console.log(`tcpMux ${tcpMux}: proxy back ${Date.now() - restarted} ms after the restart`);
  });
}
