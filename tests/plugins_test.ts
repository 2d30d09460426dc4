/**
 * Client plugins through real server and client processes, driven by real
 * peers: curl (http_proxy, socks5, static_file, https2http...), socat
 * (unix socket), openssl s_client (tls2raw).
 */

import { curlHead } from "./_curl.ts";
import { assertEquals, assertMatch } from "./_assert.ts";
import { makeCerts } from "./_certs.ts";
import { CLIENT_FLAGS } from "../scripts/permissions.ts";
import {
  DfrpProcess,
  echoServer,
  freePort,
  randomBytes,
  sha256,
  startClient,
  startServer,
  tempFile,
} from "./_harness.ts";

const dec = new TextDecoder();

/**
 * The backends here listen on loopback, which http_proxy and socks5 refuse
 * by default (tests/plugin_destinations_test.ts): these tests allow it.
 */
const LOOPBACK_OK = 'allowDestinations = ["127.0.0.0/8"]';

/** A local HTTP backend that echoes what it saw as JSON. */
function backend(opts: { cert?: string; key?: string } = {}) {
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen() {},
    ...(opts.cert
      ? { cert: Deno.readTextFileSync(opts.cert), key: Deno.readTextFileSync(opts.key!) }
      : {}),
  }, async (req) => {
    const url = new URL(req.url);
    const body = req.body ? await req.text() : "";
    return Response.json({
      method: req.method,
      path: url.pathname + url.search,
      host: req.headers.get("host"),
      xff: req.headers.get("x-forwarded-for"),
      xfh: req.headers.get("x-forwarded-host"),
      xfp: req.headers.get("x-forwarded-proto"),
      extra: req.headers.get("x-extra"),
      proxyAuth: req.headers.get("proxy-authorization"),
      body,
    });
  });
  return {
    port: server.addr.port,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}

/** A server plus a client with one tcp proxy carrying `plugin`; yields the remote port. */
async function tunnel(plugin: string, extra = "") {
  const server = await startServer(`auth.token = "t"`);
  const remotePort = freePort();
  const client = await startClient(`
serverAddr = "127.0.0.1"
serverPort = ${server.port}
auth.token = "t"

[[proxies]]
name = "plug"
type = "tcp"
remotePort = ${remotePort}
${extra}
[proxies.plugin]
${plugin}
`);
  await client.waitFor(/\[plug\] start proxy success/);
  return {
    server,
    client,
    remotePort,
    async [Symbol.asyncDispose]() {
      await client.stop("SIGKILL");
      await server.stop("SIGKILL");
    },
  };
}

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

Deno.test("unix_domain_socket plugin: socat echo over a unix socket", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dfrp-uds-" });
  const path = `${dir}/echo.sock`;
  const listener = Deno.listen({ transport: "unix", path });
  const serving = (async () => {
    for await (const conn of listener) {
      (async () => {
        const buf = new Uint8Array(16 * 1024);
        for (let n; (n = await conn.read(buf)) !== null;) await conn.write(buf.subarray(0, n));
        await conn.closeWrite();
      })().catch(() => {}).finally(() => conn.close());
    }
  })().catch(() => {});
  try {
    const socat = async (port: number) => {
      const child = new Deno.Command("socat", {
        args: ["-t", "5", "-", `TCP:127.0.0.1:${port},bind=127.0.0.2`],
        stdin: "piped",
        stdout: "piped",
      }).spawn();
      const w = child.stdin.getWriter();
      await w.write(new TextEncoder().encode("hello unix socket\n"));
      await w.close();
      return dec.decode((await child.output()).stdout);
    };
    await using t = await tunnel(`type = "unix_domain_socket"\nunixPath = "${path}"`);
    assertEquals(await socat(t.remotePort), "hello unix socket\n");
    // With the PROXY protocol the socket learns the user's address first.
    await using p = await tunnel(
      `type = "unix_domain_socket"\nunixPath = "${path}"`,
      `transport.proxyProtocolVersion = "v1"`,
    );
    assertMatch(
      await socat(p.remotePort),
      /^PROXY TCP4 127\.0\.0\.2 \S+ \d+ \d+\r\nhello unix socket\n$/,
    );
  } finally {
    listener.close();
    await serving;
    await Deno.remove(dir, { recursive: true });
  }
});

// The visitor dials from 127.0.0.2 so that its address differs from the
// plugin's own loopback address (127.0.0.1) that the backend sees as peer.
const VISITOR = ["--interface", "127.0.0.2"];

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

Deno.test("static_file plugin: files under stripPrefix, no escape from localPath, basic auth", async () => {
  const top = await Deno.makeTempDir({ prefix: "dfrp-static-" });
  const root = `${top}/public`;
  await Deno.mkdir(`${root}/site`, { recursive: true });
  await Deno.mkdir(`${root}/empty`);
  await Deno.writeTextFile(`${root}/hello.txt`, "hello static\n");
  await Deno.writeTextFile(`${root}/site/index.html`, "<h1>index</h1>\n");
  await Deno.writeTextFile(`${top}/secret.txt`, "TOP SECRET\n");
  await Deno.symlink(`${top}/secret.txt`, `${root}/link-out.txt`);
  try {
    await using t = await tunnel(`type = "static_file"
localPath = "${root}"
stripPrefix = "static"
httpUser = "bob"
httpPassword = "pw"`);
    const base = `http://127.0.0.1:${t.remotePort}`;
    const get = (path: string, ...args: string[]) =>
      curlHead("--path-as-is", "-u", "bob:pw", ...args, `${base}${path}`);

    const hello = await get("/static/hello.txt");
    assertEquals(hello.status, 200, hello.stderr);
    assertEquals(hello.body, "hello static\n");
    assertMatch(hello.headers, /content-type: text\/plain/i);
    assertEquals((await get("/hello.txt")).status, 404); // outside the prefix
    assertEquals((await get("/static/site/")).body, "<h1>index</h1>\n");
    assertEquals((await get("/static/site")).status, 301);
    assertEquals((await get("/static/empty/")).status, 404); // no listing
    assertEquals((await get("/static/missing.txt")).status, 404);
    const part = await get("/static/hello.txt", "-r", "6-11");
    assertEquals(part.status, 206);
    assertEquals(part.body, "static");
    assertMatch(part.headers, /content-range: bytes 6-11\/13/i);
    assertEquals((await get("/static/hello.txt", "-r", "-7")).body, "static\n");
    assertEquals((await get("/static/hello.txt", "-r", "50-")).status, 416);

    // Every way out of localPath is refused and the secret never shows.
    for (
      const path of [
        "/static/../secret.txt",
        "/static/../../secret.txt",
        "/static/%2e%2e/secret.txt",
        "/static/%2e%2e/%2e%2e/secret.txt",
        "/static/..%2fsecret.txt",
        "/static/..%5csecret.txt",
        "/static/link-out.txt",
      ]
    ) {
      const r = await get(path);
      assertEquals(r.status >= 400 && r.status < 500, true, `${path}: ${r.status}`);
      assertEquals(r.body.includes("TOP SECRET"), false, path);
    }
    assertEquals((await get("/static/..%2fsecret.txt")).status, 400);
    assertEquals((await get("/static/link-out.txt")).status, 403);
    await t.client.waitFor(/static_file: refused path/);

    const anonymous = await curlHead(`${base}/static/hello.txt`);
    assertEquals(anonymous.status, 401);
    assertMatch(anonymous.headers, /www-authenticate: Basic/i);
    assertEquals((await curlHead("-u", "bob:wrong", `${base}/static/hello.txt`)).status, 401);
    assertEquals((await get("/static/hello.txt", "-X", "DELETE")).status, 405);
    assertEquals((await get("/static/hello.txt")).status, 200);
  } finally {
    await Deno.remove(top, { recursive: true });
  }
});

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

Deno.test("plugins behind vhost proxies: http2http on type http, https2http on type https", async () => {
  const certs = await makeCerts();
  await using web = backend();
  const httpPort = freePort();
  const httpsPort = freePort();
  await using server = await startServer(
    `auth.token = "t"\nvhostHTTPPort = ${httpPort}\nvhostHTTPSPort = ${httpsPort}`,
  );
  await using client = await startClient(`
serverAddr = "127.0.0.1"
serverPort = ${server.port}
auth.token = "t"

[[proxies]]
name = "web"
type = "http"
customDomains = ["app.test"]
plugin.type = "http2http"
plugin.localAddr = "127.0.0.1:${web.port}"

[[proxies]]
name = "secure"
type = "https"
customDomains = ["localhost"]
plugin.type = "https2http"
plugin.localAddr = "127.0.0.1:${web.port}"
plugin.crtPath = "${certs.serverCert}"
plugin.keyPath = "${certs.serverKey}"
`);
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

Deno.test("plugins run under dfrpc's least-privilege flags (TLS both ways, files)", async () => {
  const certs = await makeCerts();
  await using web = backend();
  await using tlsWeb = backend({ cert: certs.serverCert, key: certs.serverKey });
  await using server = await startServer(`auth.token = "t"`);
  const ports = [freePort(), freePort(), freePort()];
  const config = await tempFile(
    `
serverAddr = "127.0.0.1"
serverPort = ${server.port}
auth.token = "t"
[[proxies]]
name = "to-tls"
type = "tcp"
remotePort = ${ports[0]}
plugin.type = "http2https"
plugin.localAddr = "127.0.0.1:${tlsWeb.port}"
[[proxies]]
name = "from-tls"
type = "tcp"
remotePort = ${ports[1]}
plugin.type = "https2http"
plugin.localAddr = "127.0.0.1:${web.port}"
plugin.crtPath = "${certs.serverCert}"
plugin.keyPath = "${certs.serverKey}"
[[proxies]]
name = "files"
type = "tcp"
remotePort = ${ports[2]}
plugin.type = "static_file"
plugin.localPath = "${certs.dir}"
`,
    "frpc.toml",
  );
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...CLIENT_FLAGS,
      "--quiet",
      new URL("../client.ts", import.meta.url).pathname,
      "-c",
      config,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  await using client = new DfrpProcess(child, "client.ts");
  await client.waitFor(/\[files\] start proxy success/);
  assertEquals(JSON.parse((await curlHead(`http://127.0.0.1:${ports[0]}/a`)).body).path, "/a");
  assertEquals(
    JSON.parse((await curlHead("-k", `https://127.0.0.1:${ports[1]}/b`)).body).path,
    "/b",
  );
  const pem = await curlHead(`http://127.0.0.1:${ports[2]}/ca.crt`);
  assertEquals(pem.status, 200);
  assertMatch(pem.body, /BEGIN CERTIFICATE/);
});
