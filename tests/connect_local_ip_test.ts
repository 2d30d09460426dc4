// `transport.connectServerLocalIP`: the client reaches the server from the
// configured local address over every transport; the server sees that address
// (`/api/clients` clientIP), and proxies work over the bound connection.
import { assert, assertEquals } from "./_assert.ts";
import { makeCerts, type TestCerts } from "./_certs.ts";
import {
  echoServer,
  eventually,
  freePort,
  randomBytes,
  roundTrip,
  spawnDfrp,
  startClient,
  startServer,
  tempFile,
} from "./_harness.ts";

let certsOnce: Promise<TestCerts> | undefined;
const certs = () => certsOnce ??= makeCerts();

interface Case {
  name: string;
  client: (c: TestCerts) => string;
  server: (c: TestCerts, udpPort: number) => string;
  udp?: boolean;
}

const cases: Case[] = [
  { name: "tls", client: () => "", server: () => "" },
  {
    name: "plain tcp, no mux",
    client: () => "transport.tls.enable = false\ntransport.tcpMux = false",
    server: () => "transport.tcpMux = false",
  },
  { name: "websocket", client: () => `transport.protocol = "websocket"`, server: () => "" },
  { name: "wss", client: () => `transport.protocol = "wss"`, server: () => "" },
  {
    name: "quic",
    udp: true,
    client: (c) => `transport.protocol = "quic"\ntransport.tls.trustedCaFile = "${c.ca}"`,
    server: (c, port) =>
      `quicBindPort = ${port}\ntransport.tls.certFile = "${c.serverCert}"\n` +
      `transport.tls.keyFile = "${c.serverKey}"`,
  },
  {
    name: "kcp",
    udp: true,
    client: () => `transport.protocol = "kcp"`,
    server: (_c, port) => `kcpBindPort = ${port}`,
  },
];

async function clientsOf(webPort: number): Promise<{ clientIP: string; address: string }[]> {
  const res = await fetch(`http://127.0.0.1:${webPort}/api/clients`);
  return await res.json();
}

for (const t of cases) {
  Deno.test(`connectServerLocalIP over ${t.name}: the server sees 127.0.0.2`, async () => {
    const c = await certs();
    using echo = echoServer();
    const [udpPort, webPort, remotePort] = [freePort(), freePort(), freePort()];
    await using _server = await startServer(
      `webServer.port = ${webPort}\n${t.server(c, udpPort)}`,
    );
    await using _client = await startClient(`
serverAddr = "127.0.0.1"
serverPort = ${t.udp ? udpPort : _server.port}
transport.connectServerLocalIP = "127.0.0.2"
${t.client(c)}

[[proxies]]
name = "echo"
type = "tcp"
localPort = ${echo.port}
remotePort = ${remotePort}
`);
    await _client.waitFor(/\[echo\] start proxy success/);
    const clients = await eventually(async () => {
      const list = await clientsOf(webPort);
      assertEquals(list.length, 1);
      return list;
    });
    assertEquals(clients[0].clientIP, "127.0.0.2");
    assert(clients[0].address.startsWith("127.0.0.2:"), clients[0].address);
    const data = randomBytes(200_000);
    assertEquals(await roundTrip(remotePort, data), data);
  });
}

Deno.test("connectServerLocalIP: an address not on this machine fails the login, named", async () => {
  await using server = await startServer("");
  await using client = spawnDfrp("client.ts", [
    "-c",
    await tempFile(
      `serverAddr = "127.0.0.1"\nserverPort = ${server.port}\n` +
        `transport.connectServerLocalIP = "192.0.2.1"\ntransport.dialServerTimeout = 3\n`,
      "frpc.toml",
    ),
  ]);
  await client.waitFor(/login to the server failed: .*192\.0\.2\.1/);
});
