/**
 * The HTTP(S) converting plugins (https2http, http2https, http2http, https2https), on tcp and on
 * vhost proxies, driven by curl and a WebSocket client.
 */

import { clientConf, proxyTable } from "./_config.ts";
import { curlHead } from "./_curl.ts";
import { assertEquals, assertMatch } from "./_assert.ts";
import { makeCerts } from "./_certs.ts";
import { freePort, startClient, startServer } from "./_harness.ts";
import { backend, tunnel, VISITOR } from "./_plugins.ts";

Deno.test("https2http plugin: curl -k, headers rewritten, X-Forwarded-For is the visitor", async () => {
  const certs = await makeCerts();
  await using web = backend();
  await using t = await tunnel(`type = "https2http"
localAddr = "127.0.0.1:${web.port}"
crtPath = "${certs.serverCert}"
keyPath = "${certs.serverKey}"
hostHeaderRewrite = "backend.internal"
requestHeaders.set.x-extra = "from-plugin"`);
  const r = await curlHead(
    ...VISITOR,
    "-k",
    "-H",
    "X-Forwarded-For: 10.9.8.7",
    "--data",
    "payload",
    `https://localhost:${t.remotePort}/p?q=1`,
  );
  assertEquals(r.status, 200, r.stderr + r.body);
  const seen = JSON.parse(r.body);
  assertEquals(seen.method, "POST");
  assertEquals(seen.path, "/p?q=1");
  assertEquals(seen.host, "backend.internal");
  assertEquals(seen.extra, "from-plugin");
  assertEquals(seen.xff, "10.9.8.7, 127.0.0.2");
  assertEquals(seen.xfp, "https");
  assertEquals(seen.xfh, `localhost:${t.remotePort}`);
  assertEquals(seen.body, "payload");
  // The TLS side offers HTTP/2 by ALPN (frp's enableHTTP2 default).
  const h2 = await curlHead("-k", "--http2", `https://localhost:${t.remotePort}/h2`);
  assertEquals(h2.status, 200, h2.stderr);
  assertMatch(h2.headers, /^HTTP\/2 200/);
  assertEquals(JSON.parse(h2.body).path, "/h2");
});

Deno.test("http2https plugin: plain HTTP in, TLS to a self-signed backend", async () => {
  const certs = await makeCerts();
  await using web = backend({ cert: certs.serverCert, key: certs.serverKey });
  await using t = await tunnel(`type = "http2https"
localAddr = "127.0.0.1:${web.port}"
requestHeaders.set.x-extra = "tls-backend"`);
  const r = await curlHead(...VISITOR, `http://127.0.0.1:${t.remotePort}/secure`);
  assertEquals(r.status, 200, r.stderr + r.body);
  const seen = JSON.parse(r.body);
  assertEquals(seen.path, "/secure");
  assertEquals(seen.host, `127.0.0.1:${t.remotePort}`);
  assertEquals(seen.extra, "tls-backend");
  assertEquals(seen.xff, "127.0.0.2");
});

Deno.test("http2http and https2https plugins; a dead localAddr is a 502, and serving goes on", async () => {
  const certs = await makeCerts();
  await using web = backend();
  await using t = await tunnel(`type = "http2http"
localAddr = "127.0.0.1:${web.port}"
hostHeaderRewrite = "rewritten"`);
  const r = await curlHead(...VISITOR, `http://127.0.0.1:${t.remotePort}/plain`);
  assertEquals(r.status, 200, r.stderr + r.body);
  assertEquals(JSON.parse(r.body).host, "rewritten");
  assertEquals(JSON.parse(r.body).xff, "127.0.0.2");

  await using tlsWeb = backend({ cert: certs.serverCert, key: certs.serverKey });
  await using t2 = await tunnel(`type = "https2https"
localAddr = "127.0.0.1:${tlsWeb.port}"
crtPath = "${certs.serverCert}"
keyPath = "${certs.serverKey}"`);
  const r2 = await curlHead(...VISITOR, "-k", `https://127.0.0.1:${t2.remotePort}/both-tls`);
  assertEquals(r2.status, 200, r2.stderr + r2.body);
  assertEquals(JSON.parse(r2.body).xff, "127.0.0.2");
  assertEquals(JSON.parse(r2.body).xfp, "https");

  await using t3 = await tunnel(`type = "http2http"\nlocalAddr = "127.0.0.1:${freePort()}"`);
  const dead = await curlHead(`http://127.0.0.1:${t3.remotePort}/`);
  assertEquals(dead.status, 502);
  await t3.client.waitFor(/forward GET \/ to 127\.0\.0\.1:\d+: /);
  const again = await curlHead(`http://127.0.0.1:${t.remotePort}/still`);
  assertEquals(again.status, 200);
});

Deno.test("plugins behind vhost proxies: http2http on type http, https2http on type https", async () => {
  const certs = await makeCerts();
  await using web = backend();
  const httpPort = freePort();
  const httpsPort = freePort();
  await using server = await startServer(
    `auth.token = "t"\nvhostHTTPPort = ${httpPort}\nvhostHTTPSPort = ${httpsPort}`,
  );
  const toWeb = `plugin.localAddr = "127.0.0.1:${web.port}"`;
  const secure = `customDomains = ["localhost"]
plugin.type = "https2http"
${toWeb}
plugin.crtPath = "${certs.serverCert}"
plugin.keyPath = "${certs.serverKey}"`;
  await using client = await startClient(clientConf({
    serverPort: server.port,
    token: "t",
    extra: proxyTable(
      "http",
      "web",
      null,
      `customDomains = ["app.test"]\nplugin.type = "http2http"\n${toWeb}`,
    ) +
      proxyTable("https", "secure", null, secure),
  }));
  await client.waitFor(/\[web\] start proxy success/);
  await client.waitFor(/\[secure\] start proxy success/);

  // The server's vhost already appended the visitor; the plugin must not add it twice.
  const viaHttp = await curlHead(
    ...VISITOR,
    "-H",
    "Host: app.test",
    `http://127.0.0.1:${httpPort}/v`,
  );
  assertEquals(viaHttp.status, 200, viaHttp.stderr + viaHttp.body);
  assertEquals(JSON.parse(viaHttp.body).xff, "127.0.0.2");
  assertEquals(JSON.parse(viaHttp.body).host, "app.test");

  const viaHttps = await curlHead(
    ...VISITOR,
    "--cacert",
    certs.ca,
    `https://localhost:${httpsPort}/s`,
  );
  assertEquals(viaHttps.status, 200, viaHttps.stderr + viaHttps.body);
  assertEquals(JSON.parse(viaHttps.body).xff, "127.0.0.2");
  assertEquals(JSON.parse(viaHttps.body).xfp, "https");
});

/** A WebSocket backend: first message is what it saw, then it echoes. */
function wsBackend() {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    if (req.headers.get("upgrade") !== "websocket") return new Response("ws only", { status: 400 });
    // Read before the upgrade: the request is gone afterwards.
    const seen = JSON.stringify({
      host: req.headers.get("host"),
      xff: req.headers.get("x-forwarded-for"),
      path: new URL(req.url).pathname,
    });
    const { socket, response } = Deno.upgradeWebSocket(req, { protocol: "chat" });
    socket.onopen = () => socket.send(seen);
    socket.onmessage = (e) => socket.send(e.data);
    return response;
  });
  return {
    port: server.addr.port,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}

/** Opens `url`, returns the first message, then echoes `text` and a binary frame. */
async function wsExchange(url: string, client?: Deno.HttpClient) {
  const ws = new WebSocket(url, { protocols: ["chat"], ...(client ? { client } : {}) });
  ws.binaryType = "arraybuffer";
  const messages: (string | ArrayBuffer)[] = [];
  const waiters: (() => void)[] = [];
  ws.onmessage = (e) => {
    messages.push(e.data);
    waiters.splice(0).forEach((w) => w());
  };
  const next = async () => {
    while (messages.length === 0) await new Promise<void>((r) => waiters.push(r));
    return messages.shift()!;
  };
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = (e) => reject(new Error((e as ErrorEvent).message));
  });
  const seen = JSON.parse(await next() as string);
  ws.send("ping text");
  const text = await next();
  ws.send(new Uint8Array([1, 2, 3]));
  const binary = new Uint8Array(await next() as ArrayBuffer);
  const closed = new Promise((r) => ws.onclose = r);
  ws.close(1000, "done");
  await closed;
  return { seen, text, binary: [...binary], protocol: ws.protocol };
}

Deno.test("WebSocket through http2http and https2http: messages both ways, headers rewritten", async () => {
  const certs = await makeCerts();
  await using back = wsBackend();
  await using plain = await tunnel(
    `type = "http2http"\nlocalAddr = "127.0.0.1:${back.port}"\nhostHeaderRewrite = "ws.internal"`,
  );
  const r = await wsExchange(`ws://127.0.0.1:${plain.remotePort}/socket`);
  assertEquals(r.seen, { host: "ws.internal", xff: "127.0.0.1", path: "/socket" });
  assertEquals(r.text, "ping text");
  assertEquals(r.binary, [1, 2, 3]);
  assertEquals(r.protocol, "chat");

  await using secure = await tunnel(`type = "https2http"
localAddr = "127.0.0.1:${back.port}"
crtPath = "${certs.serverCert}"
keyPath = "${certs.serverKey}"`);
  using client = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(certs.ca)] });
  const s = await wsExchange(`wss://localhost:${secure.remotePort}/tls`, client);
  assertEquals(s.seen.path, "/tls");
  assertEquals(s.text, "ping text");

  // A dead backend: the upgrade is refused with 502 and logged.
  await using dead = await tunnel(`type = "http2http"\nlocalAddr = "127.0.0.1:${freePort()}"`);
  const refused = await curlHead(
    "-H",
    "Connection: Upgrade",
    "-H",
    "Upgrade: websocket",
    "-H",
    "Sec-WebSocket-Version: 13",
    "-H",
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
    `http://127.0.0.1:${dead.remotePort}/`,
  );
  assertEquals(refused.status, 502);
  await dead.client.waitFor(/websocket to ws:\/\/127\.0\.0\.1:\d+\/: /);
});
