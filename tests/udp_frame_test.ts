import { assert, assertEquals } from "./_assert.ts";
import { randomBytes } from "./_harness.ts";
import { tcpPair } from "./_tcp_pair.ts";
import {
  formatUdpAddr,
  MAX_UDP_PAYLOAD,
  parseUdpAddr,
  UdpFrameReader,
  UdpFrameWriter,
} from "../lib/net/udp_frame.ts";

Deno.test("udp frame: addresses format and parse, IPv6 bracketed", () => {
  assertEquals(formatUdpAddr("10.0.0.1", 53), "10.0.0.1:53");
  assertEquals(formatUdpAddr("::1", 53), "[::1]:53");
  assertEquals(parseUdpAddr("10.0.0.1:53"), { hostname: "10.0.0.1", port: 53 });
  assertEquals(parseUdpAddr("[fe80::1]:5353"), { hostname: "fe80::1", port: 5353 });
  for (const bad of ["", "10.0.0.1", ":53", "::1:53", "[::1:53", "h:70000", "h:x"]) {
    assertEquals(parseUdpAddr(bad), null, bad);
  }
});

Deno.test("udp frame: boundaries, sizes and addresses survive a real socket", async () => {
  const [a, b] = await tcpPair();
  try {
    const writer = new UdpFrameWriter(a);
    const sizes = [0, 1, 2, 1499, 1500, 9000, MAX_UDP_PAYLOAD, 3];
    const sent = sizes.map((n, i) => ({
      addr: i % 2 ? `[2001:db8::${i}]:${1000 + i}` : `192.0.2.${i}:${2000 + i}`,
      payload: randomBytes(n),
    }));
    for (const f of sent) assert(writer.send(f.addr, f.payload), "queued");
    const reader = new UdpFrameReader(b);
    for (const f of sent) {
      const got = await reader.next();
      assert(got !== null);
      assertEquals(got.addr, f.addr);
      assertEquals(got.payload, f.payload);
    }
    a.close();
    assertEquals(await reader.next(), null, "clean end between frames");
  } finally {
    b.close();
  }
});

Deno.test("udp frame: a stream ending inside a frame is an error", async () => {
  const [a, b] = await tcpPair();
  try {
    // Header announces 100 payload bytes; only 5 follow.
    await a.write(new Uint8Array([0, 100, 3, 0x61, 0x3a, 0x31, 1, 2, 3, 4, 5]));
    a.close();
    let error: unknown;
    await new UdpFrameReader(b).next().catch((e) => error = e);
    assert(error instanceof Deno.errors.UnexpectedEof, String(error));
  } finally {
    b.close();
  }
});

Deno.test("udp frame: an empty address is rejected", async () => {
  const [a, b] = await tcpPair();
  try {
    await a.write(new Uint8Array([0, 1, 0, 7]));
    let error: unknown;
    await new UdpFrameReader(b).next().catch((e) => error = e);
    assert(error instanceof Error && /empty address/.test(error.message), String(error));
  } finally {
    a.close();
    b.close();
  }
});

Deno.test("udp frame: the writer drops what does not fit its backlog, never blocks", async () => {
  const [a, b] = await tcpPair();
  try {
    const writer = new UdpFrameWriter(a, 4096);
    let queued = 0;
    let dropped = 0;
    for (let i = 0; i < 100; i++) {
      if (writer.send("127.0.0.1:9", new Uint8Array(1000))) queued++;
      else dropped++;
    }
    assert(dropped > 0, "some dropped");
    assert(queued >= 3, `some queued (${queued})`);
    assertEquals(writer.send("x".repeat(300), new Uint8Array(1)), false, "address too long");
    assertEquals(writer.send("a:1", new Uint8Array(MAX_UDP_PAYLOAD + 1)), false, "too big");
    const reader = new UdpFrameReader(b);
    for (let i = 0; i < queued; i++) assertEquals((await reader.next())?.payload.length, 1000);
    writer.close();
    assertEquals(writer.send("127.0.0.1:9", new Uint8Array(1)), false, "closed");
  } finally {
    a.close();
    b.close();
  }
});
