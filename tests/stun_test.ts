/**
 * The STUN client (`lib/p2p/stun.ts`, `nat_type.ts`) against dfrps's own
 * responder on UDP `bindPort`, and against coturn (a standard STUN server)
 * when installed; the responder ignores garbage and keeps answering.
 */
import { assert, assertEquals } from "./_assert.ts";
import { startServer } from "./_harness.ts";
import { discoverNat, stunQuery } from "../lib/p2p/nat_type.ts";
import { bindingRequest, bindingResponse, parseStun } from "../lib/p2p/stun.ts";
import { UdpPort } from "../lib/p2p/udp_port.ts";

Deno.test("stun codec: a response round-trips IPv4 and IPv6 mapped and other addresses", () => {
  const { packet, transactionId } = bindingRequest();
  assertEquals(parseStun(packet)?.kind, "request");
  for (const host of ["192.0.2.1", "2001:db8::1"]) {
    const resp = bindingResponse(transactionId, { hostname: host, port: 32853 }, {
      hostname: "198.51.100.7",
      port: 3479,
    });
    const msg = parseStun(resp)!;
    assertEquals(msg.kind, "response");
    assertEquals(msg.mapped, { hostname: host, port: 32853 });
    assertEquals(msg.other, { hostname: "198.51.100.7", port: 3479 });
  }
  // Truncated, wrong cookie, or an attribute running past the end: null, no throw.
  assertEquals(parseStun(packet.subarray(0, 10)), null);
  const bad = bindingResponse(transactionId, { hostname: "192.0.2.1", port: 1 });
  new DataView(bad.buffer).setUint16(22, 400);
  assertEquals(parseStun(bad), null);
});

Deno.test("stun: dfrps answers on UDP bindPort; loopback is an easy (cone) mapping", async () => {
  await using server = await startServer(`auth.token = "t"`);
  await server.waitFor(/nat hole stun responder on udp 0\.0\.0\.0:(\d+), (\d+)/);
  const port = UdpPort.bind("127.0.0.1", 0);
  try {
    const nat = await discoverNat(port, { hostname: "127.0.0.1", port: server.port });
    assertEquals(nat.mapped, { hostname: "127.0.0.1", port: port.port });
    assertEquals(nat.natType, "easy");
  } finally {
    port.close();
  }
});

Deno.test("stun: garbage to the responder is ignored; it keeps answering", async () => {
  await using server = await startServer(`auth.token = "t"\nlog.level = "debug"`);
  await server.waitFor(/nat hole stun responder/);
  const port = UdpPort.bind("127.0.0.1", 0);
  try {
    const to = { hostname: "127.0.0.1", port: server.port };
    await port.send(new TextEncoder().encode("GET / HTTP/1.0\r\n\r\n"), to);
    const broken = bindingRequest().packet;
    new DataView(broken.buffer).setUint16(2, 8); // claims attributes it lacks
    await port.send(broken, to);
    await server.waitFor(/ignored a 18-byte datagram/);
    await server.waitFor(/ignored a 20-byte datagram/);
    const msg = await stunQuery(port, to);
    assertEquals(msg.mapped?.port, port.port);
  } finally {
    port.close();
  }
});

const turnserver = await new Deno.Command("sh", { args: ["-c", "command -v turnserver"] })
  .output().then((o) => o.success).catch(() => false);

Deno.test({
  name: "stun: the client works against coturn (a standard STUN server)",
  ignore: !turnserver,
  async fn() {
    const probe = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
    const stunPort = (probe.addr as Deno.NetAddr).port;
    probe.close();
    const child = new Deno.Command("turnserver", {
      args: [
        "--stun-only",
        "--no-tls",
        "--no-dtls",
        "--no-cli",
        "-L",
        "127.0.0.1",
        "--listening-port",
        String(stunPort),
        "--no-stdout-log",
        "--log-file",
        "/dev/null",
      ],
      stdout: "null",
      stderr: "null",
    }).spawn();
    const port = UdpPort.bind("127.0.0.1", 0);
    try {
      const msg = await stunQuery(port, { hostname: "127.0.0.1", port: stunPort }, 8000);
      assertEquals(msg.mapped, { hostname: "127.0.0.1", port: port.port });
      const nat = await discoverNat(port, { hostname: "127.0.0.1", port: stunPort }, 8000);
      assert(nat.natType === "unknown" || nat.natType === "easy", nat.natType);
    } finally {
      port.close();
      child.kill("SIGKILL");
      await child.status;
    }
  },
});
