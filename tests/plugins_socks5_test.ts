/** The socks5 plugin, driven by curl --socks5(-hostname). */

import { curlHead } from "./_curl.ts";
import { assertEquals } from "./_assert.ts";
import { backend, LOOPBACK_OK, tunnel } from "./_plugins.ts";

Deno.test("socks5 plugin: curl --socks5-hostname without auth", async () => {
  await using web = backend();
  await using t = await tunnel(`type = "socks5"\n${LOOPBACK_OK}`);
  const r = await curlHead(
    "--socks5-hostname",
    `127.0.0.1:${t.remotePort}`,
    `http://localhost:${web.port}/via-socks?x=1`,
  );
  assertEquals(r.status, 200, r.stderr + r.body);
  assertEquals(JSON.parse(r.body).path, "/via-socks?x=1");
});

Deno.test("socks5 plugin: user/password required and checked", async () => {
  await using web = backend();
  await using t = await tunnel(
    `type = "socks5"\nusername = "alice"\npassword = "s3cret"\n${LOOPBACK_OK}`,
  );
  const url = `http://127.0.0.1:${web.port}/auth`;
  const ok = await curlHead("--socks5-hostname", `alice:s3cret@127.0.0.1:${t.remotePort}`, url);
  assertEquals(ok.status, 200, ok.stderr);
  assertEquals(JSON.parse(ok.body).path, "/auth");
  const wrong = await curlHead("--socks5-hostname", `alice:nope@127.0.0.1:${t.remotePort}`, url);
  assertEquals(wrong.status, 0);
  const none = await curlHead("--socks5-hostname", `127.0.0.1:${t.remotePort}`, url);
  assertEquals(none.status, 0);
  await t.client.waitFor(/authentication failed for user "alice"/);
  // Still serving after the refusals.
  const again = await curlHead("--socks5", `alice:s3cret@127.0.0.1:${t.remotePort}`, url);
  assertEquals(again.status, 200, again.stderr);
});
