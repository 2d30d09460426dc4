// Every proxy type over every transport: tcp, udp, http and stcp (through a
// visitor client on the same transport) with the client reaching the server
// over plain TCP, TLS (the default), WebSocket, wss, QUIC and KCP.
import { clientConf, tcpProxy } from "./_config.ts";
import { assertEquals } from "./_assert.ts";
import { pingPong, udpEcho } from "./_udp.ts";
import { makeCerts, type TestCerts } from "./_certs.ts";
import { TRANSPORTS } from "./_transports.ts";
import {
  assertEchoes,
  echoServer,
  eventually,
  freePort,
  randomBytes,
  roundTrip,
  sha256,
  startClient,
  startServer,
} from "./_harness.ts";

let certsOnce: Promise<TestCerts> | undefined;
const certs = () => certsOnce ??= makeCerts();

for (const t of TRANSPORTS) {
  Deno.test(`every proxy type over ${t.name}: tcp, udp, http and stcp`, async () => {
    const c = await certs();
    using echo = echoServer();
    using udp = udpEcho();
    const web = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      (req) => new Response(`web ${new URL(req.url).pathname}`),
    );
    try {
      const quicPort = freePort();
      const vhostPort = freePort();
      await using server = await startServer(
        `vhostHTTPPort = ${vhostPort}\n${t.server(c, quicPort)}`,
      );
      const dialPort = t.udp ? quicPort : server.port;
      const [tcpPort, udpPort, visitorPort] = [freePort(), freePort(), freePort()];
      await using owner = await startClient(
        clientConf({
          serverPort: dialPort,
          extra: `${t.client(c)}

${tcpProxy("t-tcp", echo.port, tcpPort)}
[[proxies]]
name = "t-udp"
type = "udp"
localPort = ${udp.port}
remotePort = ${udpPort}

[[proxies]]
name = "t-http"
type = "http"
localPort = ${web.addr.port}
customDomains = ["127.0.0.1"]

[[proxies]]
name = "t-stcp"
type = "stcp"
secretKey = "matrix"
localPort = ${echo.port}
`,
        }),
      );
      for (const name of ["t-tcp", "t-udp", "t-http", "t-stcp"]) {
        await owner.waitFor(new RegExp(`\\[${name}\\] start proxy success`));
      }
      await using visitor = await startClient(
        clientConf({
          serverPort: dialPort,
          extra: `${t.client(c)}

[[visitors]]
name = "t-visit"
type = "stcp"
serverName = "t-stcp"
secretKey = "matrix"
bindAddr = "127.0.0.1"
bindPort = ${visitorPort}
`,
        }),
      );
      await visitor.waitFor(/login to server success/);

      const data = randomBytes(128 * 1024);
      const want = await sha256(data);
      await assertEchoes(tcpPort, data);
      const stcpReply = await eventually(() => roundTrip(visitorPort, data), 5000);
      assertEquals(await sha256(stcpReply as Uint8Array<ArrayBuffer>), want);
      // Sequence number 0 up front, as pingPong matches echoes by it; it resends a lost datagram.
      const datagram = randomBytes(1200);
      datagram.fill(0, 0, 4);
      assertEquals(await pingPong(udpPort, [datagram]), [datagram]);
      const res = await fetch(`http://127.0.0.1:${vhostPort}/over-${t.name.replace(" ", "-")}`);
      assertEquals(await res.text(), `web /over-${t.name.replace(" ", "-")}`);
    } finally {
      await web.shutdown();
    }
  });
}
