/** The http_proxy plugin, driven by curl -x. */

import { curlHead } from "./_curl.ts";
import { assertEquals, assertMatch } from "./_assert.ts";
import { makeCerts } from "./_certs.ts";
import { freePort } from "./_harness.ts";
import { backend, LOOPBACK_OK, tunnel } from "./_plugins.ts";

const dec = new TextDecoder();

Deno.test("http_proxy plugin: 407 without credentials, plain GET and CONNECT with them", async () => {
  const certs = await makeCerts();
  await using web = backend();
  await using tlsWeb = backend({ cert: certs.serverCert, key: certs.serverKey });
  await using t = await tunnel(
    `type = "http_proxy"\nhttpUser = "alice"\nhttpPassword = "s3cret"\n${LOOPBACK_OK}`,
  );
  const proxy = `http://127.0.0.1:${t.remotePort}`;

  const denied = await curlHead("-x", proxy, `http://127.0.0.1:${web.port}/x`);
  assertEquals(denied.status, 407);
  assertMatch(denied.headers, /proxy-authenticate: Basic/i);
  const wrong = await curlHead("-x", proxy, "-U", "alice:nope", `http://127.0.0.1:${web.port}/x`);
  assertEquals(wrong.status, 407);
  await t.client.waitFor(/proxy authentication failed/);

  const plain = await curlHead(
    "-x",
    proxy,
    "-U",
    "alice:s3cret",
    "--data",
    "posted",
    `http://localhost:${web.port}/plain?a=b`,
  );
  assertEquals(plain.status, 200, plain.stderr + plain.body);
  const seen = JSON.parse(plain.body);
  assertEquals(seen.path, "/plain?a=b");
  assertEquals(seen.host, `localhost:${web.port}`);
  assertEquals(seen.body, "posted");
  assertEquals(seen.proxyAuth, null);

  const tunnelled = await curlHead(
    "-x",
    proxy,
    "-U",
    "alice:s3cret",
    "--cacert",
    certs.ca,
    `https://localhost:${tlsWeb.port}/over-connect`,
  );
  assertEquals(tunnelled.status, 200, tunnelled.stderr + tunnelled.body);
  assertEquals(JSON.parse(tunnelled.body).path, "/over-connect");

  // CONNECT for a plain-HTTP URL too (curl -p), and CONNECT without credentials.
  const forced = await curlHead(
    "-p",
    "-x",
    proxy,
    "-U",
    "alice:s3cret",
    `http://127.0.0.1:${web.port}/p`,
  );
  assertEquals(forced.status, 200, forced.stderr);
  const connectDenied = await curlHead("-p", "-x", proxy, `http://127.0.0.1:${web.port}/p`);
  // curl reports a refused CONNECT as a tunnel failure, not as the final status.
  assertMatch(connectDenied.stderr, /CONNECT tunnel failed, response 407/);

  // Not a proxy request: a clear 400, and the plugin goes on serving.
  const direct = await curlHead(
    "-H",
    `Proxy-Authorization: Basic ${btoa("alice:s3cret")}`,
    `http://127.0.0.1:${t.remotePort}/`,
  );
  assertEquals(direct.status, 400);
  assertMatch(direct.body, /absolute http:\/\/ URL/);
  const dead = await curlHead(
    "-p",
    "-x",
    proxy,
    "-U",
    "alice:s3cret",
    `http://127.0.0.1:${freePort()}/`,
  );
  assertMatch(dead.stderr, /CONNECT tunnel failed, response 502/);
  const deadPlain = await curlHead(
    "-x",
    proxy,
    "-U",
    "alice:s3cret",
    `http://127.0.0.1:${freePort()}/`,
  );
  assertEquals(deadPlain.status, 502);
  const again = await curlHead(
    "-x",
    proxy,
    "-U",
    "alice:s3cret",
    `http://127.0.0.1:${web.port}/again`,
  );
  assertEquals(again.status, 200);
});

Deno.test("http_proxy plugin: no credentials configured, keep-alive client gets answers", async () => {
  await using web = backend();
  await using t = await tunnel(`type = "http_proxy"\n${LOOPBACK_OK}`);
  const proxy = `http://127.0.0.1:${t.remotePort}`;
  // Two URLs in one curl run: the second request must not be lost on a closed connection.
  const out = await new Deno.Command("curl", {
    args: [
      "-s",
      "-x",
      proxy,
      `http://127.0.0.1:${web.port}/one`,
      `http://127.0.0.1:${web.port}/two`,
    ],
    stdout: "piped",
  }).output();
  const text = dec.decode(out.stdout);
  assertMatch(text, /"path":"\/one".*"path":"\/two"/s);
});
