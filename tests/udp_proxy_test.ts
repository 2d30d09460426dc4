import { socketPair } from "./_tcp_pair.ts";
import { dig, startDnsmasq } from "./_dnsmasq.ts";
import { clientConf, udpProxy } from "./_config.ts";
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { eventually, randomBytes, sha256, startClient, startServer } from "./_harness.ts";
import { UdpClientProxy } from "../lib/client/proxy/udp.ts";
import { defaultServerConfig, parseClientConfig } from "../lib/config/load.ts";
import { log } from "../lib/log.ts";
import type { TcpConn } from "../lib/net/tcp_conn.ts";
import { UdpFrameReader, UdpFrameWriter } from "../lib/net/udp_frame.ts";
import { NewProxySchema } from "../lib/protocol/messages.ts";
import { PortManager } from "../lib/server/ports.ts";
import { serverProxyFactory } from "../lib/server/proxy/registry.ts";
import "../lib/server/proxy/udp.ts";
import { ProxyStats } from "../lib/server/stats.ts";
import { TrafficHistory } from "../lib/server/traffic_history.ts";
import { concat, freeUdpPort, pingPong, udpEcho } from "./_udp.ts";

async function udpTunnel(tcpMux: boolean, localPort: number, extra = "", serverExtra = "") {
  // Debug logs show the work connection's life when a test fails.
  const server = await startServer(
    `auth.token = "u"\ntransport.tcpMux = ${tcpMux}\nlog.level = "debug"\n${serverExtra}`,
  );
  const client = await startClient(
    clientConf({
      serverPort: server.port,
      token: "u",
      extra: `transport.tcpMux = ${tcpMux}\nlog.level = "debug"\n` +
        udpProxy("udp", localPort, 0, `localIP = "127.0.0.1"\n${extra}`),
    }),
  );
  const match = await server.waitFor(/\[udp\] udp proxy listen at :(\d+) success/);
  await client.waitFor(/\[udp\] start proxy success/);
  return { server, client, remotePort: Number(match[1]) };
}

Deno.test("udp proxy: dig resolves through the tunnel from a real dnsmasq", async () => {
  await using dns = startDnsmasq("/example.test/10.1.2.3", ["--log-facility=-"]);
  const { server, client, remotePort } = await udpTunnel(true, dns.port);
  await using _s = server;
  await using _c = client;
  // dig retries by itself; dnsmasq may take a moment to bind.
  assertMatch(await dig(remotePort, "example.test", "+tries=5"), /^10\.1\.2\.3$/m);
  // A second, separate query (a new sender port) is answered too.
  assertMatch(await dig(remotePort, "sub.example.test"), /^10\.1\.2\.3$/m);
});

for (const tcpMux of [true, false]) {
  const mode = tcpMux ? "tcpMux on" : "tcpMux off";
  Deno.test(`udp proxy (${mode}): 1,000 datagrams from 8 senders, boundaries and hashes kept`, async () => {
    using echo = udpEcho();
    const { server, client, remotePort } = await udpTunnel(tcpMux, echo.port);
    await using _s = server;
    await using _c = client;
    const senders = 8;
    const perSender = 125;
    const results = await Promise.all(
      Array.from({ length: senders }, async (_, s) => {
        const payloads = Array.from({ length: perSender }, (_, i) => {
          // Sizes from 4 bytes to the 1500-byte limit keep every boundary distinct.
          const p = randomBytes(4 + Math.floor(Math.random() * 1497));
          new DataView(p.buffer).setUint32(0, i);
          return p;
        });
        const echoes = await pingPong(remotePort, payloads).catch((err) => {
          throw new Error(
            `sender ${s}: ${err.message}\n--- server:\n${server.output}\n--- client:\n${client.output}`,
          );
        });
        assertEquals(echoes.map((e) => e.length), payloads.map((p) => p.length), `sender ${s}`);
        return [await sha256(concat(payloads)), await sha256(concat(echoes))];
      }),
    );
    for (const [sent, got] of results) assertEquals(got, sent);
    // Each sender reached the service from its own socket.
    assertEquals(echo.senders.size, senders);
  });
}

for (const mode of ["client", "server"]) {
  Deno.test(`udp proxy: bandwidthLimit 64KB in ${mode} mode paces the datagrams`, async () => {
    using echo = udpEcho();
    const { server, client, remotePort } = await udpTunnel(
      true,
      echo.port,
      `transport.bandwidthLimit = "64KB"\ntransport.bandwidthLimitMode = "${mode}"`,
    );
    await using _s = server;
    await using _c = client;
    const payloads = Array.from({ length: 64 }, (_, i) => {
      const p = randomBytes(1400);
      new DataView(p.buffer).setUint32(0, i);
      return p;
    });
    const started = performance.now();
    const echoes = await pingPong(remotePort, payloads);
    const seconds = (performance.now() - started) / 1000;
    console.log(`  ${mode}: 2 x 87.5 KB of datagrams in ${seconds.toFixed(2)} s`);
    assertEquals(await sha256(concat(echoes)), await sha256(concat(payloads)));
    // ~180 KB through one 64 KB/s bucket with a 64 KB burst: about 1.8 s.
    assert(seconds >= 1.2, `limited took only ${seconds} s`);
  });
}

Deno.test("udp proxy: datagrams over udpPacketSize are dropped and logged, smaller ones pass", async () => {
  using echo = udpEcho();
  const { server, client, remotePort } = await udpTunnel(
    true,
    echo.port,
    "",
    "udpPacketSize = 1000",
  );
  await using _s = server;
  await using _c = client;
  const sock = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  try {
    await sock.send(new Uint8Array(1001), {
      transport: "udp",
      hostname: "127.0.0.1",
      port: remotePort,
    });
    await server.waitFor(/larger than udpPacketSize \(1000 bytes\), dropped/);
  } finally {
    sock.close();
  }
  const payload = randomBytes(1000);
  new DataView(payload.buffer).setUint32(0, 0);
  const [reply] = await pingPong(remotePort, [payload]);
  assertEquals(await sha256(reply as Uint8Array<ArrayBuffer>), await sha256(payload));
});

Deno.test("udp proxy: PROXY v2 DGRAM header on the first datagram of each flow only", async () => {
  const local = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const seen: Uint8Array[] = [];
  (async () => {
    const buf = new Uint8Array(4096);
    for (;;) {
      const [data, from] = await local.receive(buf);
      seen.push(data.slice());
      // Answer with the payload after any header so the sender can tell.
      const sig = data.length >= 16 && data[12] === 0x21;
      const skip = sig ? 16 + ((data[14] << 8) | data[15]) : 0;
      await local.send(data.subarray(skip), from);
    }
  })().catch(() => {});
  try {
    const { server, client, remotePort } = await udpTunnel(
      true,
      (local.addr as Deno.NetAddr).port,
      `transport.proxyProtocolVersion = "v2"`,
    );
    await using _s = server;
    await using _c = client;
    // pingPong sends from one socket: two round trips on one flow.
    const a = new Uint8Array([0, 0, 0, 0, 0xaa]);
    const b = new Uint8Array([0, 0, 0, 1, 0xbb]);
    const echoes = await pingPong(remotePort, [a, b]);
    assertEquals(echoes, [a, b]);
    const first = seen[0];
    // An independent minimal check of the v2 layout.
    const sig = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];
    assertEquals([...first.subarray(0, 12)], sig);
    assertEquals(first[12], 0x21, "version 2, PROXY");
    assertEquals(first[13], 0x12, "AF_INET, DGRAM");
    assertEquals((first[14] << 8) | first[15], 12);
    assertEquals([...first.subarray(16, 20)], [127, 0, 0, 1], "source is the user");
    const srcPort = (first[24] << 8) | first[25];
    const dstPort = (first[26] << 8) | first[27];
    assert(srcPort > 0);
    assertEquals(dstPort, remotePort);
    assertEquals([...first.subarray(28)], [...a]);
    // Later datagrams of the same flow are bare.
    assertEquals(seen.slice(1).map((d) => [...d]), [[...b]]);
  } finally {
    local.close();
  }
});

Deno.test("udp proxy: a port outside allowPorts is refused with a clear error", async () => {
  await using server = await startServer(`auth.token = "u"\nallowPorts = [{ single = 1 }]`);
  const port = freeUdpPort();
  await using client = await startClient(
    clientConf({
      serverPort: server.port,
      token: "u",
      extra: udpProxy("nope", 53, port),
    }),
  );
  const match = await client.waitFor(/\[nope\] start error: (.*)/);
  assertMatch(match[1], /not allowed/);
});

Deno.test("udp client: idle flows expire; flows outlive a replaced work connection", async () => {
  using echo = udpEcho();
  const { config } = parseClientConfig(
    `[[proxies]]\nname = "u"\ntype = "udp"\nlocalPort = ${echo.port}\n`,
    "frpc.toml",
  );
  const proxy = new UdpClientProxy(config.proxies[0], { clientConfig: config, log }, 300);
  const start = {
    type: "StartWorkConn" as const,
    proxyName: "u",
    srcAddr: "",
    srcPort: 0,
    dstAddr: "0.0.0.0",
    dstPort: 6000,
  };
  const roundTrip = async (server: TcpConn, reader: UdpFrameReader, from: string) => {
    new UdpFrameWriter(server).send(from, new TextEncoder().encode(from));
    const frame = await reader.next();
    assertEquals(frame?.addr, from, "the reply is tagged with its sender");
    assertEquals(new TextDecoder().decode(frame!.payload), from);
  };
  const [serverEnd, clientEnd] = await socketPair();
  const serving = proxy.handleWorkConn(clientEnd, start);
  try {
    const reader = new UdpFrameReader(serverEnd);
    await roundTrip(serverEnd, reader, "192.0.2.1:1000");
    await roundTrip(serverEnd, reader, "192.0.2.2:2000");
    assertEquals(proxy.flowCount, 2);
    assertEquals(echo.senders.size, 2, "one local socket per sender");

    // The server reopens its work connection: the new one takes over, flows stay.
    const [serverEnd2, clientEnd2] = await socketPair();
    const serving2 = proxy.handleWorkConn(clientEnd2, start);
    await serving;
    const reader2 = new UdpFrameReader(serverEnd2);
    await roundTrip(serverEnd2, reader2, "192.0.2.1:1000");
    assertEquals(echo.senders.size, 2, "the same flow, the same local socket");

    // Left alone, both flows expire; a returning sender gets a fresh flow.
    await eventually(() => proxy.flowCount === 0 ? Promise.resolve() : Promise.reject(), 5000, 50);
    await roundTrip(serverEnd2, reader2, "192.0.2.1:1000");
    assertEquals(proxy.flowCount, 1);
    assertEquals(echo.senders.size, 3);
    proxy.close();
    await serving2;
    serverEnd2.close();
  } finally {
    proxy.close();
    serverEnd.close();
  }
});

Deno.test("udp server: a bad frame drops the work connection, a new one is opened, service goes on", async () => {
  const serverConfig = { ...defaultServerConfig(), proxyBindAddr: "127.0.0.1" };
  const ports = new PortManager([], 0);
  const peers: TcpConn[] = [];
  const stats = new ProxyStats("u", "udp");
  const msg = NewProxySchema.parse({ type: "NewProxy", proxyName: "u", proxyType: "udp" });
  const proxy = serverProxyFactory("udp")!(msg, {
    name: "u",
    services: {
      config: serverConfig,
      ports,
      log,
      stats: new Map(),
      history: new TrafficHistory(),
      features: new Map(),
    },
    serverConfig,
    ports,
    clientId: "c",
    user: "",
    log: log.with("u"),
    stats,
    openWorkConn: async () => {
      const [proxyEnd, peerEnd] = await socketPair();
      peers.push(peerEnd);
      return proxyEnd;
    },
  });
  const port = Number((await proxy.start()).slice(1));
  const user = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const userAddr = `127.0.0.1:${(user.addr as Deno.NetAddr).port}`;
  const to: Deno.NetAddr = { transport: "udp", hostname: "127.0.0.1", port };
  const until = (cond: () => boolean) =>
    eventually(() => cond() ? Promise.resolve() : Promise.reject(new Error("not yet")), 5000, 20);
  try {
    for (const round of [0, 1]) {
      await until(() => peers.length > round);
      const peer = peers[round];
      await user.send(new TextEncoder().encode(`hello ${round}`), to);
      const frame = await new UdpFrameReader(peer).next();
      assertEquals(frame?.addr, userAddr);
      assertEquals(new TextDecoder().decode(frame!.payload), `hello ${round}`);
      new UdpFrameWriter(peer).send(userAddr, new TextEncoder().encode(`reply ${round}`));
      const [reply] = await user.receive();
      assertEquals(new TextDecoder().decode(reply), `reply ${round}`);
      // Garbage from the client side: a frame with an empty address.
      if (round === 0) await peer.write(new Uint8Array([0, 1, 0, 0]));
    }
    assertEquals(stats.trafficIn, 14);
    assertEquals(stats.trafficOut, 14);
  } finally {
    proxy.close();
    user.close();
    for (const p of peers) p.close();
  }
  // The port is free again (once the cancelled receive has let go of the socket).
  await eventually(() => {
    Deno.listenDatagram({ hostname: "127.0.0.1", port, transport: "udp" }).close();
    return Promise.resolve();
  }, 5000);
});
