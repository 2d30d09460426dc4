/** Client plugins given bad input: it is logged and serving goes on. */

import { curlHead } from "./_curl.ts";
import { assertEquals } from "./_assert.ts";
import { backend, LOOPBACK_OK, tunnel } from "./_plugins.ts";

Deno.test("bad plugin input: unreadable certificate and non-SOCKS bytes are logged, serving goes on", async () => {
  await using t = await tunnel(`type = "https2http"
localAddr = "127.0.0.1:1"
crtPath = "/nonexistent/server.crt"
keyPath = "/nonexistent/server.key"`);
  await t.client.waitFor(/plugin https2http cannot start: read crtPath \/nonexistent\/server\.crt/);
  const refused = await curlHead("-k", `https://127.0.0.1:${t.remotePort}/`);
  assertEquals(refused.status, 0);
  await t.client.waitFor(/connection from 127\.0\.0\.1:\d+ closed: read crtPath/);

  await using web = backend();
  await using s = await tunnel(`type = "socks5"\n${LOOPBACK_OK}`);
  const junk = await Deno.connect({ hostname: "127.0.0.1", port: s.remotePort });
  await junk.write(new TextEncoder().encode("GET / HTTP/1.0\r\n\r\n"));
  assertEquals(await junk.read(new Uint8Array(16)), null); // closed without an answer
  junk.close();
  await s.client.waitFor(/not a SOCKS5 greeting \(version 71\)/);
  const ok = await curlHead(
    "--socks5-hostname",
    `127.0.0.1:${s.remotePort}`,
    `http://127.0.0.1:${web.port}/`,
  );
  assertEquals(ok.status, 200, ok.stderr);
});
