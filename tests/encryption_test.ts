import {
  clientConf,
  proxyTable,
  tcpmuxProxy,
  tcpProxy,
  udpProxy,
  visitorTable,
} from "./_config.ts";
import { startTunnel } from "./_tunnel.ts";
import { assert, assertEquals } from "./_assert.ts";
import { freeUdpPort, udpEcho } from "./_udp.ts";
import {
  assertEchoes,
  echoServer,
  freePort,
  randomBytes,
  roundTrip,
  sha256,
  startClient,
} from "./_harness.ts";

const COMBOS = [
  [false, false],
  [true, false],
  [false, true],
  [true, true],
] as const;

/** The proxy lines turning both encryption and compression on. */
const BOTH_ON = transportLines([true, true]);

function transportLines([enc, comp]: readonly [boolean, boolean]): string {
  return `transport.useEncryption = ${enc}\ntransport.useCompression = ${comp}\n`;
}

/** Sends 20 tagged datagrams one by one (resending on silence) and checks each echo. */
async function udpRoundTrips(port: number): Promise<void> {
  const sock = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const to: Deno.NetAddr = { transport: "udp", hostname: "127.0.0.1", port };
  let next = sock.receive();
  try {
    for (let i = 0; i < 20; i++) {
      const payload = randomBytes(4 + Math.floor(Math.random() * 1200));
      new DataView(payload.buffer).setUint32(0, i);
      await sock.send(payload, to);
      for (let resends = 0;; resends++) {
        assert(resends < 40, `datagram ${i} never echoed`);
        let timer: ReturnType<typeof setTimeout> | undefined;
        const quiet = new Promise<null>((r) => timer = setTimeout(() => r(null), 500));
        const got = await Promise.race([next, quiet]);
        clearTimeout(timer);
        if (got === null) {
          await sock.send(payload, to);
          continue;
        }
        next = sock.receive();
        const data = got[0];
        if (new DataView(data.buffer, data.byteOffset).getUint32(0) !== i) continue;
        assertEquals(await sha256(data.slice()), await sha256(payload));
        break;
      }
    }
  } finally {
    next.catch(() => {});
    sock.close();
  }
}

async function hashEcho(port: number, size: number): Promise<void> {
  const payload = size > 4096
    ? new TextEncoder().encode("compressible line of text\n".repeat(size / 26 | 0))
    : randomBytes(size);
  await assertEchoes(port, payload);
}

for (const tcpMux of [true, false]) {
  const mode = tcpMux ? "tcpMux on" : "tcpMux off";

  Deno.test(`encryption/compression (${mode}): tcp, every combination, hash-checked`, async () => {
    using echo = echoServer();
    const ports = COMBOS.map(() => freePort());
    const proxies = COMBOS.map((combo, i) =>
      tcpProxy(`tcp${i}`, echo.port, ports[i], transportLines(combo))
    ).join("");
    await using tunnel = await startTunnel({
      server: `auth.token = "tk"\ntransport.tcpMux = ${tcpMux}`,
      token: "tk",
      proxies: `transport.tcpMux = ${tcpMux}\n${proxies}`,
      started: COMBOS.map((_, i) => `tcp${i}`),
    });
    const { server, client } = tunnel;
    await Promise.all(ports.flatMap((port) => [
      hashEcho(port, 1),
      hashEcho(port, 200_000),
      hashEcho(port, 100_000 + 7),
    ]));
    // The warnings of a mismatch or a tamper would show here.
    assert(!/encrypted connection dropped|compressed stream dropped/.test(client.output));
    assert(!/encrypted connection dropped|compressed stream dropped/.test(server.output));
  });
}

Deno.test("encryption/compression: udp, every combination", async () => {
  using echo = udpEcho();
  const ports = COMBOS.map(() => freeUdpPort());
  const proxies = COMBOS.map((combo, i) =>
    udpProxy(`udp${i}`, echo.port, ports[i], transportLines(combo))
  ).join("");
  await using _tunnel = await startTunnel({
    server: `auth.token = "tk"`,
    token: "tk",
    proxies,
    started: COMBOS.map((_, i) => `udp${i}`),
  });
  for (const port of ports) await udpRoundTrips(port);
});

for (const type of ["stcp", "sudp"] as const) {
  Deno.test(`encryption/compression: ${type}, every combination, keyed from secretKey`, async () => {
    using tcpEcho = echoServer();
    using dgramEcho = udpEcho();
    const local = type === "stcp" ? tcpEcho.port : dgramEcho.port;
    const proxies = COMBOS.map((combo, i) =>
      proxyTable(type, `${type}${i}`, local, `secretKey = "sk-${i}"\n${transportLines(combo)}`)
    ).join("");
    await using owner = await startTunnel({
      server: `auth.token = "tk"`,
      token: "tk",
      proxies,
      started: COMBOS.map((_, i) => `${type}${i}`),
    });
    const { server, client: own } = owner;
    const binds = COMBOS.map(() => type === "stcp" ? freePort() : freeUdpPort());
    const visitors = COMBOS.map((combo, i) =>
      visitorTable({
        type,
        name: `v${i}`,
        serverName: `${type}${i}`,
        secretKey: `sk-${i}`,
        bindPort: binds[i],
        extra: transportLines(combo),
      })
    ).join("");
    await using vis = await startClient(
      clientConf({ serverPort: server.port, token: "tk", extra: visitors }),
    );
    for (let i = 0; i < COMBOS.length; i++) {
      await vis.waitFor(new RegExp(`\\[v${i}\\] start ${type} visitor success`));
    }
    if (type === "stcp") {
      await Promise.all(binds.flatMap((port) => [hashEcho(port, 5), hashEcho(port, 150_000)]));
    } else {
      for (const port of binds) await udpRoundTrips(port);
    }
    assert(!/encrypted connection dropped|compressed stream dropped/.test(own.output + vis.output));
  });
}

Deno.test("encryption+compression: 100 sequential 10-byte round trips through a tcp proxy", async () => {
  using echo = echoServer();
  const remotePort = freePort();
  await using _tunnel = await startTunnel({
    server: `auth.token = "tk"`,
    token: "tk",
    proxies: tcpProxy("ssh-like", echo.port, remotePort, BOTH_ON),
    started: ["ssh-like"],
  });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: remotePort });
  try {
    const buf = new Uint8Array(64);
    const started = performance.now();
    for (let i = 0; i < 100; i++) {
      const msg = new TextEncoder().encode(`key ${String(i).padStart(6, "0")}`);
      await conn.write(msg);
      let got = 0;
      while (got < msg.length) {
        const n = await conn.read(buf.subarray(got));
        assert(n !== null, "the tunnel closed");
        got += n;
      }
      assertEquals(buf.slice(0, got), msg);
    }
    const ms = performance.now() - started;
    console.log(`100 round trips of 10 bytes, encrypted and compressed: ${ms.toFixed(0)} ms`);
    // Generous: a stalled flush would cost seconds (a 40 ms delay per trip at least).
    assert(ms < 30_000, `round trips took ${ms} ms`);
  } finally {
    conn.close();
  }
});

Deno.test("encryption: a visitor that encrypts towards an owner that does not is dropped with a reason", async () => {
  using echo = echoServer();
  await using own = await startTunnel({
    server: `auth.token = "tk"`,
    token: "tk",
    proxies: proxyTable("stcp", "plain", echo.port, `secretKey = "sk"`),
    started: ["plain"],
  });
  const bindPort = freePort();
  const sealed = visitorTable({
    type: "stcp",
    name: "sealed",
    serverName: "plain",
    secretKey: "sk",
    bindPort,
    extra: "transport.useEncryption = true",
  });
  await using vis = await startClient(
    clientConf({ serverPort: own.server.port, token: "tk", extra: sealed }),
  );
  await vis.waitFor(/\[sealed\] start stcp visitor success/);
  // The owner relays the visitor's hello to the echo service, which sends it back.
  const reply = await roundTrip(bindPort, new TextEncoder().encode("hello"));
  assertEquals(reply.length, 0);
  await vis.waitFor(/\[sealed\] encrypted connection dropped: the peer reflected our salt/);
});

Deno.test("encryption/compression: tcpmux (http CONNECT) works with both flags on", async () => {
  using echo = echoServer();
  const muxPort = freePort();
  await using tunnel = await startTunnel({
    server: `auth.token = "tk"\ntcpmuxHTTPConnectPort = ${muxPort}`,
    token: "tk",
    proxies: tcpmuxProxy("mux", echo.port, `customDomains = ["mux.example.com"]\n${BOTH_ON}`),
    started: ["mux"],
  });
  const { server, client } = tunnel;
  const body = "payload ".repeat(4000);
  const request = `CONNECT mux.example.com:1 HTTP/1.1\r\nHost: mux.example.com:1\r\n\r\n${body}`;
  const reply = new TextDecoder().decode(
    await roundTrip(muxPort, new TextEncoder().encode(request)),
  );
  assertEquals(reply, `HTTP/1.1 200 Connection established\r\n\r\n${body}`);
  assert(
    !/encrypted connection dropped|compressed stream dropped/.test(client.output + server.output),
  );
});
