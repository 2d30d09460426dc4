import { clientConf, tcpProxy } from "./_config.ts";
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
  startServer,
} from "./_harness.ts";

const COMBOS = [
  [false, false],
  [true, false],
  [false, true],
  [true, true],
] as const;

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
    await using server = await startServer(`auth.token = "tk"\ntransport.tcpMux = ${tcpMux}`);
    const ports = COMBOS.map(() => freePort());
    const proxies = COMBOS.map((combo, i) => `
[[proxies]]
name = "tcp${i}"
type = "tcp"
localPort = ${echo.port}
remotePort = ${ports[i]}
${transportLines(combo)}`).join("");
    await using client = await startClient(
      clientConf({
        serverPort: server.port,
        token: "tk",
        extra: `transport.tcpMux = ${tcpMux}
${proxies}`,
      }),
    );
    for (let i = 0; i < COMBOS.length; i++) {
      await client.waitFor(new RegExp(`\\[tcp${i}\\] start proxy success`));
    }
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
  await using server = await startServer(`auth.token = "tk"`);
  const ports = COMBOS.map(() => freeUdpPort());
  const proxies = COMBOS.map((combo, i) => `
[[proxies]]
name = "udp${i}"
type = "udp"
localPort = ${echo.port}
remotePort = ${ports[i]}
${transportLines(combo)}`).join("");
  await using client = await startClient(
    clientConf({ serverPort: server.port, token: "tk", extra: proxies }),
  );
  for (let i = 0; i < COMBOS.length; i++) {
    await client.waitFor(new RegExp(`\\[udp${i}\\] start proxy success`));
  }
  for (const port of ports) await udpRoundTrips(port);
});

for (const type of ["stcp", "sudp"] as const) {
  Deno.test(`encryption/compression: ${type}, every combination, keyed from secretKey`, async () => {
    using tcpEcho = echoServer();
    using dgramEcho = udpEcho();
    const local = type === "stcp" ? tcpEcho.port : dgramEcho.port;
    await using server = await startServer(`auth.token = "tk"`);
    const proxies = COMBOS.map((combo, i) => `
[[proxies]]
name = "${type}${i}"
type = "${type}"
secretKey = "sk-${i}"
localPort = ${local}
${transportLines(combo)}`).join("");
    await using own = await startClient(
      clientConf({ serverPort: server.port, token: "tk", extra: proxies }),
    );
    const binds = COMBOS.map(() => type === "stcp" ? freePort() : freeUdpPort());
    const visitors = COMBOS.map((combo, i) => `
[[visitors]]
name = "v${i}"
type = "${type}"
serverName = "${type}${i}"
secretKey = "sk-${i}"
bindPort = ${binds[i]}
${transportLines(combo)}`).join("");
    await using vis = await startClient(
      clientConf({ serverPort: server.port, token: "tk", extra: visitors }),
    );
    for (let i = 0; i < COMBOS.length; i++) {
      await own.waitFor(new RegExp(`\\[${type}${i}\\] start proxy success`));
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
  await using server = await startServer(`auth.token = "tk"`);
  const remotePort = freePort();
  await using client = await startClient(
    clientConf({
      serverPort: server.port,
      token: "tk",
      extra: tcpProxy(
        "ssh-like",
        echo.port,
        remotePort,
        `transport.useEncryption = true
transport.useCompression = true
`,
      ),
    }),
  );
  await client.waitFor(/\[ssh-like\] start proxy success/);
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
  await using server = await startServer(`auth.token = "tk"`);
  await using own = await startClient(
    clientConf({
      serverPort: server.port,
      token: "tk",
      extra: `[[proxies]]
name = "plain"
type = "stcp"
secretKey = "sk"
localPort = ${echo.port}
`,
    }),
  );
  await own.waitFor(/\[plain\] start proxy success/);
  const bindPort = freePort();
  await using vis = await startClient(
    clientConf({
      serverPort: server.port,
      token: "tk",
      extra: `[[visitors]]
name = "sealed"
type = "stcp"
serverName = "plain"
secretKey = "sk"
bindPort = ${bindPort}
transport.useEncryption = true
`,
    }),
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
  await using server = await startServer(`auth.token = "tk"\ntcpmuxHTTPConnectPort = ${muxPort}`);
  await using client = await startClient(
    clientConf({
      serverPort: server.port,
      token: "tk",
      extra: `[[proxies]]
name = "mux"
type = "tcpmux"
multiplexer = "httpconnect"
localPort = ${echo.port}
customDomains = ["mux.example.com"]
transport.useEncryption = true
transport.useCompression = true
`,
    }),
  );
  await client.waitFor(/\[mux\] start proxy success/);
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
