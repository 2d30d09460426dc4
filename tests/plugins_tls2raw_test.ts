/** The tls2raw plugin, driven by openssl s_client. */

import { assertEquals } from "./_assert.ts";
import { makeCerts } from "./_certs.ts";
import { echoServer, randomBytes, sha256 } from "./_harness.ts";
import { tunnel } from "./_plugins.ts";

Deno.test("tls2raw plugin: TLS from the user, plain bytes to an echo service, hash-checked", async () => {
  const certs = await makeCerts();
  using echo = echoServer();
  await using t = await tunnel(`type = "tls2raw"
localAddr = "127.0.0.1:${echo.port}"
crtPath = "${certs.serverCert}"
keyPath = "${certs.serverKey}"`);
  const payload = randomBytes(200 * 1024);
  const conn = await Deno.connectTls({
    hostname: "localhost",
    port: t.remotePort,
    caCerts: [await Deno.readTextFile(certs.ca)],
  });
  try {
    const writing = (async () => {
      for (let off = 0; off < payload.length;) off += await conn.write(payload.subarray(off));
    })();
    const got = new Uint8Array(payload.length);
    for (let off = 0; off < got.length;) {
      const n = await conn.read(got.subarray(off));
      if (n === null) throw new Error(`ended after ${off} bytes`);
      off += n;
    }
    await writing;
    assertEquals(await sha256(got), await sha256(payload));
  } finally {
    conn.close();
  }
  // A plain-text client is refused at the handshake; the plugin keeps serving.
  const plain = await Deno.connect({ hostname: "127.0.0.1", port: t.remotePort });
  await plain.write(new TextEncoder().encode("GET / HTTP/1.0\r\n\r\n"));
  await t.client.waitFor(/tls handshake with 127\.0\.0\.1:\d+ error/);
  plain.close();
});
