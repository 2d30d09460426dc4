import { clientConf, proxyTable, visitorTable } from "./_config.ts";
import { assertEquals, assertMatch } from "./_assert.ts";
import { randomBytes, sha256, startClient, startServer } from "./_harness.ts";
import { dig, startDnsmasq } from "./_dnsmasq.ts";
import { concat, freeUdpPort, pingPong, udpEcho } from "./_udp.ts";

/** The connection lines both sudp clients here share: token "t", tcpMux on or off. */
function sudpClient(serverPort: number, tcpMux: boolean): string {
  return clientConf({ serverPort, token: "t", extra: `transport.tcpMux = ${tcpMux}` });
}

function owner(serverPort: number, localPort: number, tcpMux: boolean): string {
  const only = `secretKey = "sudp-key"\nlocalIP = "127.0.0.1"`;
  return sudpClient(serverPort, tcpMux) + proxyTable("sudp", "secret-dns", localPort, only);
}

function visitor(serverPort: number, bindPort: number, tcpMux: boolean, key = "sudp-key"): string {
  return sudpClient(serverPort, tcpMux) + visitorTable({
    type: "sudp",
    name: "dns-visitor",
    serverName: "secret-dns",
    secretKey: key,
    bindPort,
    extra: `bindAddr = "127.0.0.1"`,
  });
}

for (const tcpMux of [true, false]) {
  const mode = tcpMux ? "tcpMux on" : "tcpMux off";

  Deno.test(`sudp (${mode}): 400 datagrams from 4 senders, boundaries and hashes kept`, async () => {
    using echo = udpEcho();
    await using server = await startServer(`auth.token = "t"\ntransport.tcpMux = ${tcpMux}`);
    await using own = await startClient(owner(server.port, echo.port, tcpMux));
    await own.waitFor(/\[secret-dns\] start proxy success/);
    const bindPort = freeUdpPort();
    await using vis = await startClient(visitor(server.port, bindPort, tcpMux));
    await vis.waitFor(/\[dns-visitor\] start sudp visitor success/);
    const senders = 4;
    const results = await Promise.all(
      Array.from({ length: senders }, async (_, s) => {
        const payloads = Array.from({ length: 100 }, (_, i) => {
          const p = randomBytes(4 + Math.floor(Math.random() * 1497));
          new DataView(p.buffer).setUint32(0, i);
          return p;
        });
        const echoes = await pingPong(bindPort, payloads);
        assertEquals(echoes.map((e) => e.length), payloads.map((p) => p.length), `sender ${s}`);
        return [await sha256(concat(payloads)), await sha256(concat(echoes))];
      }),
    );
    for (const [sent, got] of results) assertEquals(got, sent);
    // Each local sender reached the service from a socket of its own.
    assertEquals(echo.senders.size, senders);
  });
}

Deno.test("sudp: a wrong secret key is refused on both sides, no datagram relayed", async () => {
  using echo = udpEcho();
  await using server = await startServer(`auth.token = "t"`);
  await using own = await startClient(owner(server.port, echo.port, true));
  await own.waitFor(/\[secret-dns\] start proxy success/);
  const bindPort = freeUdpPort();
  await using vis = await startClient(visitor(server.port, bindPort, true, "nope"));
  await vis.waitFor(/start sudp visitor success/);
  const sock = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  try {
    await sock.send(new Uint8Array(8), { transport: "udp", hostname: "127.0.0.1", port: bindPort });
    await vis.waitFor(
      /\[dns-visitor\] visitor connection to \[secret-dns\] failed: wrong secret key/,
    );
    await own.waitFor(/\[secret-dns\] visitor from user \[\] .*refused: wrong secret key/);
  } finally {
    sock.close();
  }
  assertEquals(echo.received, 0);
});

Deno.test("sudp: dig resolves through a visitor from a real dnsmasq", async () => {
  await using dns = startDnsmasq("/secret.test/10.9.8.7");
  await using server = await startServer(`auth.token = "t"`);
  await using own = await startClient(owner(server.port, dns.port, true));
  await own.waitFor(/\[secret-dns\] start proxy success/);
  const bindPort = freeUdpPort();
  await using vis = await startClient(visitor(server.port, bindPort, true));
  await vis.waitFor(/start sudp visitor success/);
  // dig retries by itself: its first query also opens the visitor connection.
  assertMatch(await dig(bindPort, "secret.test", "+tries=5"), /^10\.9\.8\.7$/m);
});
