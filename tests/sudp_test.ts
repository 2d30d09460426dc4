import { assertEquals, assertMatch } from "./_assert.ts";
import { freePort, randomBytes, sha256, startClient, startServer } from "./_harness.ts";
import { concat, freeUdpPort, pingPong, udpEcho } from "./_udp.ts";

function owner(serverPort: number, localPort: number, tcpMux: boolean): string {
  return `
serverAddr = "127.0.0.1"
serverPort = ${serverPort}
auth.token = "t"
transport.tcpMux = ${tcpMux}

[[proxies]]
name = "secret-dns"
type = "sudp"
secretKey = "sudp-key"
localIP = "127.0.0.1"
localPort = ${localPort}
`;
}

function visitor(serverPort: number, bindPort: number, tcpMux: boolean, key = "sudp-key"): string {
  return `
serverAddr = "127.0.0.1"
serverPort = ${serverPort}
auth.token = "t"
transport.tcpMux = ${tcpMux}

[[visitors]]
name = "dns-visitor"
type = "sudp"
serverName = "secret-dns"
secretKey = "${key}"
bindAddr = "127.0.0.1"
bindPort = ${bindPort}
`;
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
  const dnsPort = freePort();
  const dnsmasq = new Deno.Command("dnsmasq", {
    args: [
      "--no-resolv",
      "--no-hosts",
      "--conf-file=/dev/null",
      "--pid-file=",
      "--address=/secret.test/10.9.8.7",
      `--port=${dnsPort}`,
      "--listen-address=127.0.0.1",
      "--bind-interfaces",
      "--keep-in-foreground",
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    await using server = await startServer(`auth.token = "t"`);
    await using own = await startClient(owner(server.port, dnsPort, true));
    await own.waitFor(/\[secret-dns\] start proxy success/);
    const bindPort = freeUdpPort();
    await using vis = await startClient(visitor(server.port, bindPort, true));
    await vis.waitFor(/start sudp visitor success/);
    // dig retries by itself: its first query also opens the visitor connection.
    const dig = await new Deno.Command("dig", {
      args: ["@127.0.0.1", "-p", String(bindPort), "secret.test", "A", "+short", "+tries=5"],
    }).output();
    assertMatch(new TextDecoder().decode(dig.stdout), /^10\.9\.8\.7$/m);
  } finally {
    dnsmasq.kill("SIGTERM");
    await dnsmasq.status;
  }
});
