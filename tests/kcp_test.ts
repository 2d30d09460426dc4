/**
 * The KCP transport: the ARQ engine across a link that drops, duplicates and
 * reorders; real server and client processes on loopback (mux on and off,
 * TLS on and off); and across the NAT lab's routers with 5% and 20% UDP loss,
 * hash-checked.
 */
import { clientConf, tcpProxy } from "./_config.ts";
import { assert, assertEquals } from "./_assert.ts";
import {
  echoServer,
  freePort,
  randomBytes,
  roundTrip,
  sha256,
  startClient,
  startServer,
} from "./_harness.ts";
import { labAvailable, NatLab, PUBLIC_B } from "./_netns.ts";
import { KcpEngine } from "../lib/transport/kcp_engine.ts";

/** A seeded generator, so a failing run can be repeated. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

Deno.test("kcp engine: 1 MB across a link that drops 20%, duplicates and reorders arrives whole", async () => {
  const rand = random(42);
  let now = 0;
  const inFlight: Array<{ to: KcpEngine; data: Uint8Array; at: number }> = [];
  const link = (to: () => KcpEngine) => (data: Uint8Array) => {
    if (rand() < 0.2) return; // lost
    const copies = rand() < 0.05 ? 2 : 1; // duplicated
    for (let i = 0; i < copies; i++) {
      inFlight.push({ to: to(), data, at: now + 5 + Math.floor(rand() * 20) }); // reordered
    }
  };
  const a: KcpEngine = new KcpEngine(7, link(() => b));
  const b: KcpEngine = new KcpEngine(7, link(() => a));
  const sent = randomBytes(1 << 20);
  for (let off = 0; off < sent.length; off += 10_000) a.send(sent.subarray(off, off + 10_000));
  a.end();
  const got: Uint8Array[] = [];
  const buf = new Uint8Array(65536);
  for (let step = 0; step < 200_000 && !b.ended; step++) {
    now += 1;
    for (let i = inFlight.length - 1; i >= 0; i--) {
      if (inFlight[i].at > now) continue;
      const [packet] = inFlight.splice(i, 1);
      packet.to.input(packet.data, now);
    }
    if (now % 10 === 0) {
      a.flush(now);
      b.flush(now);
    }
    for (let r; (r = b.read(buf)) !== null;) got.push(r.slice());
  }
  assert(b.ended, "the receiver never saw the end of stream");
  const joined = new Uint8Array(got.reduce((n, c) => n + c.length, 0));
  let off = 0;
  for (const c of got) {
    joined.set(c, off);
    off += c.length;
  }
  assertEquals(joined.length, sent.length);
  assertEquals(await sha256(joined), await sha256(sent));
  assert(!a.dead && !b.dead);
});

// The first shares UDP bindPort with the STUN responder, as frp's example sets kcpBindPort = bindPort.
for (
  const mode of [{ tls: true, mux: true, shared: true }, { tls: false, mux: false, shared: false }]
) {
  const name = `tls ${mode.tls ? "on" : "off"}, tcpMux ${mode.mux ? "on" : "off"}` +
    (mode.shared ? ", kcpBindPort = bindPort" : "");
  Deno.test(`kcp: 1 MB through a tcp proxy over kcp (${name}), hash-checked`, async () => {
    using echo = echoServer();
    const bindPort = freePort();
    const kcpPort = mode.shared ? bindPort : freePort();
    const remotePort = freePort();
    await using server = await startServer(
      `bindPort = ${bindPort}\nkcpBindPort = ${kcpPort}\ntransport.tcpMux = ${mode.mux}\n` +
        `auth.token = "k"`,
    );
    await server.waitFor(/kcp listen on/);
    const overKcp = `transport.protocol = "kcp"
transport.tls.enable = ${mode.tls}
transport.tcpMux = ${mode.mux}`;
    await using client = await startClient(clientConf({
      serverPort: kcpPort,
      token: "k",
      extra: overKcp + tcpProxy("k", echo.port, remotePort),
    }));
    await client.waitFor(/\[k\] start proxy success/);
    const data = randomBytes(1 << 20);
    const [first, second] = await Promise.all([
      roundTrip(remotePort, data),
      roundTrip(remotePort, data.subarray(0, 100_000)),
    ]);
    assertEquals(await sha256(first as Uint8Array<ArrayBuffer>), await sha256(data));
    assertEquals(second.length, 100_000);
  });
}

Deno.test("kcp: a datagram of a conversation the server does not know is answered with a reset", async () => {
  const kcpPort = freePort();
  await using server = await startServer(`kcpBindPort = ${kcpPort}`);
  await server.waitFor(/kcp listen on/);
  const sock = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  try {
    // An ack (command 82) for conversation 99, which was never opened.
    const seg = new Uint8Array(24);
    new DataView(seg.buffer).setUint32(0, 99, true);
    seg[4] = 82;
    await sock.send(seg, { transport: "udp", hostname: "127.0.0.1", port: kcpPort });
    const [reply] = await sock.receive();
    assertEquals(new DataView(reply.buffer, reply.byteOffset).getUint32(0, true), 99);
    assertEquals(reply[4], 85);
  } finally {
    sock.close();
  }
});

const ignore = !(await labAvailable());
for (const loss of [0.05, 0.2]) {
  Deno.test({
    name: `lab: kcp across a NAT with ${loss * 100}% UDP loss each way, 1 MB hash-checked`,
    ignore,
    sanitizeResources: false,
    async fn() {
      await using lab = await NatLab.create({ udpLoss: loss });
      await lab.server(`bindPort = 7000\nkcpBindPort = 7001\nauth.token = "t"`);
      await lab.echo(lab.ns.hostB, 9000);
      const client = await lab.client(
        lab.ns.hostB,
        clientConf({
          serverAddr: PUBLIC_B,
          serverPort: 7001,
          token: "t",
          extra: `transport.protocol = "kcp"\n${
            tcpProxy("lossy", 9000, 6000, `localIP = "127.0.0.1"`)
          }`,
        }),
      );
      await client.waitFor(/\[lossy\] start proxy success/, 20_000);
      const r = await lab.send(lab.ns.pub, 6000, 1 << 20);
      assertEquals(r.n, 1 << 20);
      assertEquals(r.got, r.sent);
      console.log(`${loss * 100}% loss: 1 MB echoed in ${r.ms} ms`);
    },
  });
}
