import { clientConf, tcpProxy } from "./_config.ts";
import { assertEquals, assertMatch } from "./_assert.ts";
import { eventually, freePort, startClient, startServer, tempFile } from "./_harness.ts";
import {
  encodeProxyHeader,
  encodeProxyV1,
  encodeProxyV2,
  parseIPv6,
} from "../lib/net/proxy_protocol.ts";

const text = (b: Uint8Array) => new TextDecoder().decode(b);

Deno.test("proxy protocol: v1 lines for IPv4, IPv6, mixed and unknown addresses", () => {
  const v4 = { srcAddr: "203.0.113.7", srcPort: 51000, dstAddr: "198.51.100.1", dstPort: 6000 };
  assertEquals(text(encodeProxyV1(v4)), "PROXY TCP4 203.0.113.7 198.51.100.1 51000 6000\r\n");
  assertEquals(
    text(encodeProxyV1({ srcAddr: "2001:db8::7", srcPort: 1, dstAddr: "::1", dstPort: 2 })),
    "PROXY TCP6 2001:db8:0:0:0:0:0:7 0:0:0:0:0:0:0:1 1 2\r\n",
  );
  assertEquals(
    text(encodeProxyV1({ srcAddr: "10.0.0.1", srcPort: 1, dstAddr: "::1", dstPort: 2 })),
    "PROXY TCP6 0:0:0:0:0:ffff:a00:1 0:0:0:0:0:0:0:1 1 2\r\n",
  );
  assertEquals(
    text(encodeProxyV1({ srcAddr: "", srcPort: 0, dstAddr: "x", dstPort: 0 })),
    "PROXY UNKNOWN\r\n",
  );
  assertEquals(encodeProxyHeader("v1", v4, "udp"), null, "v1 cannot describe UDP");
  assertEquals(encodeProxyHeader("", v4), null);
});

Deno.test("proxy protocol: v2 binary layout for stream and datagram", () => {
  const sig = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];
  const h = encodeProxyV2(
    { srcAddr: "10.0.0.1", srcPort: 0x1234, dstAddr: "10.0.0.2", dstPort: 53 },
    "udp",
  );
  assertEquals([...h], [...sig, 0x21, 0x12, 0, 12, 10, 0, 0, 1, 10, 0, 0, 2, 0x12, 0x34, 0, 53]);
  const h6 = encodeProxyV2({ srcAddr: "::1", srcPort: 1, dstAddr: "fe80::2", dstPort: 2 });
  assertEquals(h6.length, 16 + 36);
  assertEquals([h6[13], h6[14], h6[15]], [0x21, 0, 36], "AF_INET6, STREAM");
  assertEquals(h6[31], 1);
  assertEquals([h6[32], h6[33], h6[47]], [0xfe, 0x80, 2]);
  const unspec = encodeProxyV2({ srcAddr: "?", srcPort: 1, dstAddr: "?", dstPort: 2 });
  assertEquals([...unspec.subarray(12)], [0x21, 0x00, 0, 0]);
});

Deno.test("proxy protocol: IPv6 parsing", () => {
  assertEquals(parseIPv6("::")?.every((b) => b === 0), true);
  assertEquals([...parseIPv6("::ffff:1.2.3.4")!.subarray(10)], [0xff, 0xff, 1, 2, 3, 4]);
  assertEquals(parseIPv6("[fe80::1%eth0]")?.[15], 1);
  for (
    const bad of ["1.2.3.4", "1::2::3", "1:2:3:4:5:6:7:8:9", "12345::", "g::1", "1:2:3:4:5:6:7"]
  ) {
    assertEquals(parseIPv6(bad), null, bad);
  }
});

/** haproxy in the foreground: a frontend that requires a PROXY header and reports what it read. */
async function haproxy(): Promise<{ port: number } & AsyncDisposable> {
  const port = freePort();
  const cfg = await tempFile(
    `
global
  maxconn 100
defaults
  mode http
  timeout connect 5s
  timeout client 10s
  timeout server 10s
frontend fe
  bind 127.0.0.1:${port} accept-proxy
  http-request return status 200 content-type text/plain lf-string "src=%[src] sport=%[src_port] dst=%[dst] dport=%[dst_port]"
`,
    "haproxy.cfg",
  );
  const child = new Deno.Command("haproxy", {
    args: ["-f", cfg, "-db"],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  await eventually(async () => (await Deno.connect({ hostname: "127.0.0.1", port })).close());
  return {
    port,
    async [Symbol.asyncDispose]() {
      child.kill("SIGKILL");
      await child.output();
    },
  };
}

/** One HTTP/1.0 request over a fresh connection; the body and the local port used. */
async function httpGet(port: number): Promise<{ body: string; localPort: number }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new TextEncoder().encode("GET / HTTP/1.0\r\nHost: t\r\n\r\n"));
    let response = "";
    const buf = new Uint8Array(4096);
    for (let n; (n = await conn.read(buf)) !== null;) response += text(buf.subarray(0, n));
    return { body: response.split("\r\n\r\n")[1] ?? response, localPort: conn.localAddr.port };
  } finally {
    conn.close();
  }
}

for (const version of ["v1", "v2"]) {
  Deno.test(`proxy protocol ${version}: haproxy (accept-proxy) sees the real visitor`, async () => {
    await using hap = await haproxy();
    await using server = await startServer(`auth.token = "p"`);
    const remotePort = freePort();
    const withHeader = `transport.proxyProtocolVersion = "${version}"`;
    await using client = await startClient(clientConf({
      serverPort: server.port,
      token: "p",
      extra: tcpProxy("web", hap.port, remotePort, withHeader),
    }));
    await client.waitFor(/\[web\] start proxy success/);
    const { body, localPort } = await httpGet(remotePort);
    // Without the header haproxy would drop the connection; with it, it
    // reports the visitor's own port, not the client's local one.
    assertMatch(body, /^src=127\.0\.0\.1 sport=\d+ dst=127\.0\.0\.1 dport=\d+$/);
    assertEquals(body, `src=127.0.0.1 sport=${localPort} dst=127.0.0.1 dport=${remotePort}`);
  });
}
