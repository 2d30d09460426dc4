// `transport.connectServerLocalIP`: the client reaches the server from the
// configured local address over every transport; the server sees that address
// (`/api/clients` clientIP), and proxies work over the bound connection.
import { clientConf, tcpProxy } from "./_config.ts";
import { assert, assertEquals } from "./_assert.ts";
import { makeCerts, type TestCerts } from "./_certs.ts";
import { transport, type TransportCase } from "./_transports.ts";
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

const cases: TransportCase[] = [
  transport("tls"),
  {
    name: "plain tcp, no mux",
    client: () => "transport.tls.enable = false\ntransport.tcpMux = false",
    server: () => "transport.tcpMux = false",
  },
  transport("websocket"),
  transport("wss"),
  transport("quic"),
  transport("kcp"),
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
    await using _client = await startClient(
      clientConf({
        serverPort: t.udp ? udpPort : _server.port,
        extra: `transport.connectServerLocalIP = "127.0.0.2"
${t.client(c)}

${tcpProxy("echo", echo.port, remotePort)}`,
      }),
    );
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

/** A minimal HTTP CONNECT proxy on loopback that remembers where each client came from. */
function connectProxy(): { port: number; peers: string[]; close(): void } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const peers: string[] = [];
  const conns: Deno.Conn[] = [];
  (async () => {
    for await (const conn of listener) {
      conns.push(conn);
      peers.push(conn.remoteAddr.hostname);
      (async () => {
        let head = "";
        const buf = new Uint8Array(4096);
        while (!head.includes("\r\n\r\n")) {
          const n = await conn.read(buf);
          if (n === null) return conn.close();
          head += new TextDecoder().decode(buf.subarray(0, n));
        }
        const [host, port] = head.split(" ")[1].split(":");
        const upstream = await Deno.connect({ hostname: host, port: Number(port) });
        conns.push(upstream);
        await conn.write(new TextEncoder().encode("HTTP/1.1 200 Connection established\r\n\r\n"));
        await Promise.allSettled([
          conn.readable.pipeTo(upstream.writable),
          upstream.readable.pipeTo(conn.writable),
        ]);
      })().catch(() => {});
    }
  })().catch(() => {});
  return {
    port: listener.addr.port,
    peers,
    close() {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
    },
  };
}

Deno.test("connectServerLocalIP with proxyURL: the dial to the proxy leaves from 127.0.0.2", async () => {
  const proxy = connectProxy();
  try {
    await using server = await startServer("");
    await using _client = await startClient(
      clientConf({
        serverPort: server.port,
        extra: `transport.proxyURL = "http://127.0.0.1:${proxy.port}"
transport.connectServerLocalIP = "127.0.0.2"
`,
      }),
    );
    assert(proxy.peers.length > 0);
    assertEquals([...new Set(proxy.peers)], ["127.0.0.2"]);
  } finally {
    proxy.close();
  }
});
