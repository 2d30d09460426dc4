import { clientConf, tcpProxy } from "./_config.ts";
import { assert, assertEquals } from "./_assert.ts";
import { freePort, randomBytes, startClient, startServer } from "./_harness.ts";
import { parseBandwidth, RateLimiter } from "../lib/net/rate_limit.ts";

Deno.test("bandwidth: limits parse like frp's (KB = 1024 bytes)", () => {
  assertEquals(parseBandwidth(""), 0);
  assertEquals(parseBandwidth("10KB"), 10 * 1024);
  assertEquals(parseBandwidth(" 1MB "), 1024 * 1024);
  assertEquals(parseBandwidth("0.5MB"), 512 * 1024);
  for (const bad of ["10", "10kb", "1GB", "MB", "-1KB"]) {
    let threw = false;
    try {
      parseBandwidth(bad);
    } catch {
      threw = true;
    }
    assert(threw, bad);
  }
});

Deno.test("bandwidth: the bucket lends one burst, then charges time per byte", () => {
  const limiter = new RateLimiter(1000);
  assertEquals(limiter.take(1000), 0, "a full burst passes at once");
  const wait = limiter.take(500);
  // 500 bytes of debt at 1000 B/s: about half a second (minus the few µs elapsed).
  assert(wait > 250 && wait <= 500, String(wait));
});

/** A local service that reads everything, then answers with the byte count. */
function sinkServer(): { port: number } & Disposable {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  (async () => {
    for await (const conn of listener) {
      (async () => {
        const buf = new Uint8Array(64 * 1024);
        let total = 0;
        try {
          for (let n; (n = await conn.read(buf)) !== null;) total += n;
          await conn.write(new TextEncoder().encode(String(total)));
        } finally {
          conn.close();
        }
      })().catch(() => {});
    }
  })().catch(() => {});
  return { port: listener.addr.port, [Symbol.dispose]: () => listener.close() };
}

/** Uploads `data` to 127.0.0.1:`port`; the sink's count and the seconds it took. */
async function upload(port: number, data: Uint8Array): Promise<[number, number]> {
  const started = performance.now();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    for (let off = 0; off < data.length;) off += await conn.write(data.subarray(off));
    await conn.closeWrite();
    let reply = "";
    const buf = new Uint8Array(64);
    for (let n; (n = await conn.read(buf)) !== null;) {
      reply += new TextDecoder().decode(buf.subarray(0, n));
    }
    return [Number(reply), (performance.now() - started) / 1000];
  } finally {
    conn.close();
  }
}

const MB = 1024 * 1024;

for (const mode of ["client", "server", "none"] as const) {
  Deno.test(`bandwidth: 1 MB through a proxy ${mode === "none" ? "without a limit" : `limited to 256KB by the ${mode}`}`, async () => {
    using sink = sinkServer();
    await using server = await startServer(`auth.token = "b"`);
    const remotePort = freePort();
    const limit = mode === "none" ? "" : `
transport.bandwidthLimit = "256KB"
transport.bandwidthLimitMode = "${mode}"`;
    await using client = await startClient(
      clientConf({
        serverPort: server.port,
        token: "b",
        extra: tcpProxy("bw", sink.port, remotePort, limit),
      }),
    );
    await client.waitFor(/\[bw\] start proxy success/);
    const [count, seconds] = await upload(remotePort, randomBytes(MB));
    assertEquals(count, MB);
    console.log(`  ${mode}: 1 MB in ${seconds.toFixed(2)} s`);
    if (mode === "none") {
      // Loopback moves 1 MB in milliseconds; 2.5 s leaves room for a busy machine.
      assert(seconds < 2.5, `unlimited took ${seconds} s`);
    } else {
      // 256 KB may pass as the initial burst, the other 768 KB at 256 KB/s: >= 3 s.
      assert(seconds >= 2.5, `limited took only ${seconds} s`);
    }
  });
}
