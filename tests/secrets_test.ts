/**
 * Secrets stay on the client: a dfrpc with every kind of secret in its
 * proxies (stcp/sudp/xtcp `secretKey`, plugin passwords and certificate
 * paths, `groupKey`) registers them through a recording relay; neither the
 * bytes the server receives, nor what a `NewProxy` server plugin is told,
 * nor anything the admin API, `/metrics` or the dashboard answer (also after
 * the client left) holds any of them. The http proxy's `httpPassword` does
 * reach the server (it checks it) but is never shown.
 */

import { clientConf, tcpProxy } from "./_config.ts";
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { makeCerts } from "./_certs.ts";
import {
  echoServer,
  eventually,
  freePort,
  roundTrip,
  startClient,
  startServer,
} from "./_harness.ts";

const enc = new TextEncoder();
const mark = (what: string) => `${what}-${crypto.randomUUID().slice(0, 8)}`;

/** A TCP relay to `target` that records every byte the connecting side sends. */
function recordingRelay(target: number): { port: number; sent(): string } & Disposable {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const chunks: Uint8Array[] = [];
  const conns = new Set<Deno.Conn>();
  const pipe = async (from: Deno.Conn, to: Deno.Conn, record: boolean) => {
    const buf = new Uint8Array(64 * 1024);
    try {
      for (let n; (n = await from.read(buf)) !== null;) {
        if (record) chunks.push(buf.slice(0, n));
        let off = 0;
        while (off < n) off += await to.write(buf.subarray(off, n));
      }
    } catch {
      // Either side went away.
    }
    for (const c of [from, to]) {
      try {
        c.close();
      } catch {
        // Already closed.
      }
    }
  };
  (async () => {
    for await (const conn of listener) {
      const upstream = await Deno.connect({ hostname: "127.0.0.1", port: target });
      conns.add(conn).add(upstream);
      pipe(conn, upstream, true);
      pipe(upstream, conn, false);
    }
  })().catch(() => {});
  return {
    port: (listener.addr as Deno.NetAddr).port,
    // latin1 keeps every byte, so an ASCII secret is found wherever it sits.
    sent: () => chunks.map((c) => String.fromCharCode(...c)).join(""),
    [Symbol.dispose]() {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch {
          // Already closed.
        }
      }
    },
  };
}

Deno.test("secrets stay on the client: not on the wire, not in plugins, never in the admin API or dashboard", async () => {
  const token = mark("TOKEN");
  const secrets = {
    stcpKey: mark("STCPKEY"),
    sudpKey: mark("SUDPKEY"),
    xtcpKey: mark("XTCPKEY"),
    groupKey: mark("GROUPKEY"),
    httpProxyPassword: mark("HTTPPROXYPW"),
    socksUser: mark("SOCKSUSER"),
    socksPassword: mark("SOCKSPW"),
    crtMarker: mark("CRTPATH"),
    keyMarker: mark("KEYPATH"),
  };
  // The server checks these two, so they travel; they must still never be shown.
  const shownNever = { httpPassword: mark("HTTPPW"), tcpmuxPassword: mark("TCPMUXPW") };

  const certs = await makeCerts();
  const crtPath = `${certs.dir}/${secrets.crtMarker}.pem`;
  const keyPath = `${certs.dir}/${secrets.keyMarker}.pem`;
  await Deno.copyFile(certs.serverCert, crtPath);
  await Deno.copyFile(certs.serverKey, keyPath);

  const pluginCalls: string[] = [];
  await using plugin = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (req) => {
      pluginCalls.push(await req.text());
      return Response.json({ reject: false, unchange: true });
    },
  );
  using echo = echoServer();
  using backend = {
    server: Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => new Response("ok")),
    [Symbol.dispose]() {
      this.server.shutdown();
    },
  };
  const webPort = freePort();
  const httpPort = freePort();
  const groupPort = freePort();
  await using server = await startServer(`
auth.token = "${token}"
transport.tcpMux = false
vhostHTTPPort = ${httpPort}
tcpmuxHTTPConnectPort = ${freePort()}
vhostHTTPSPort = ${freePort()}
webServer.port = ${webPort}
enablePrometheus = true
[[httpPlugins]]
name = "audit"
addr = "127.0.0.1:${plugin.addr.port}"
path = "/handler"
ops = ["NewProxy"]
`);
  await server.waitFor(/dashboard listen on/);
  using relay = recordingRelay(server.port);
  const client = await startClient(
    clientConf({
      serverPort: relay.port,
      extra: `auth.token = "${token}"
transport.tls.enable = false
transport.tcpMux = false

[[proxies]]
name = "secret-stcp"
type = "stcp"
secretKey = "${secrets.stcpKey}"
localPort = ${echo.port}

[[proxies]]
name = "secret-sudp"
type = "sudp"
secretKey = "${secrets.sudpKey}"
localPort = ${echo.port}

[[proxies]]
name = "secret-xtcp"
type = "xtcp"
secretKey = "${secrets.xtcpKey}"
localPort = ${echo.port}

[[proxies]]
name = "http-proxy-plugin"
type = "tcp"
remotePort = ${freePort()}
[proxies.plugin]
type = "http_proxy"
httpUser = "proxyuser"
httpPassword = "${secrets.httpProxyPassword}"

[[proxies]]
name = "socks-plugin"
type = "tcp"
remotePort = ${freePort()}
[proxies.plugin]
type = "socks5"
username = "${secrets.socksUser}"
password = "${secrets.socksPassword}"

[[proxies]]
name = "https2http-plugin"
type = "https"
customDomains = ["secure.example.com"]
[proxies.plugin]
type = "https2http"
localAddr = "127.0.0.1:${backend.server.addr.port}"
crtPath = "${crtPath}"
keyPath = "${keyPath}"

${
        tcpProxy("group-a", echo.port, groupPort)
      }loadBalancer = { group = "web", groupKey = "${secrets.groupKey}" }

${
        tcpProxy("group-b", echo.port, groupPort)
      }loadBalancer = { group = "web", groupKey = "${secrets.groupKey}" }

[[proxies]]
name = "guarded-http"
type = "http"
customDomains = ["guarded.example.com"]
localPort = ${backend.server.addr.port}
httpUser = "alice"
httpPassword = "${shownNever.httpPassword}"

[[proxies]]
name = "guarded-tcpmux"
type = "tcpmux"
multiplexer = "httpconnect"
customDomains = ["mux.example.com"]
localPort = ${echo.port}
httpUser = "bob"
httpPassword = "${shownNever.tcpmuxPassword}"
`,
    }),
  );
  try {
    const names = [
      "secret-stcp",
      "secret-sudp",
      "secret-xtcp",
      "http-proxy-plugin",
      "socks-plugin",
      "https2http-plugin",
      "group-a",
      "group-b",
      "guarded-http",
      "guarded-tcpmux",
    ];
    for (const name of names) await client.waitFor(new RegExp(`\\[${name}\\] start proxy success`));

    // The server still has what it checks: basic auth on the http proxy works.
    const get = async (auth?: string) => {
      const head = `GET / HTTP/1.1\r\nHost: guarded.example.com\r\nConnection: close\r\n` +
        (auth ? `Authorization: Basic ${btoa(auth)}\r\n` : "") + "\r\n";
      const answer = new TextDecoder().decode(await roundTrip(httpPort, enc.encode(head)));
      return Number(answer.match(/^HTTP\/1\.1 (\d{3})/)?.[1]);
    };
    assertEquals(await get(), 401);
    assertEquals(await get(`alice:${shownNever.httpPassword}`), 200);

    const adminTexts = async (): Promise<Map<string, string>> => {
      const paths = [
        "/",
        "/metrics",
        "/api/serverinfo",
        "/api/clients",
        ...["tcp", "udp", "http", "https", "tcpmux", "stcp", "sudp", "xtcp"].map((t) =>
          `/api/proxy/${t}`
        ),
        ...names.map((n) => `/api/proxies/${n}`),
        ...names.map((n) => `/api/traffic/${n}`),
        "/api/proxy/stcp/secret-stcp",
        "/api/proxy/http/guarded-http",
      ];
      const out = new Map<string, string>();
      for (const path of paths) {
        const res = await fetch(`http://127.0.0.1:${webPort}${path}`);
        assertEquals(res.status, 200, path);
        out.set(path, await res.text());
      }
      return out;
    };
    const assertNoSecret = (where: string, text: string, also: string[] = []) => {
      for (const s of [...Object.values(secrets), ...also]) {
        assert(!text.includes(s), `${where} holds the secret ${s}`);
      }
    };
    const hidden = [token, ...Object.values(shownNever)];

    const online = await adminTexts();
    for (const [path, text] of online) assertNoSecret(path, text, hidden);
    // The API still shows what is not secret (the view is not simply empty).
    const stcp = JSON.parse(online.get("/api/proxies/secret-stcp")!);
    assertEquals(stcp.conf.type, "stcp");
    assertEquals(stcp.conf.secretKey, undefined);
    const guarded = JSON.parse(online.get("/api/proxies/guarded-http")!);
    assertEquals(guarded.conf.httpUser, "alice");
    assertEquals(guarded.conf.customDomains, ["guarded.example.com"]);
    assertEquals(guarded.conf.httpPassword, undefined);
    const group = JSON.parse(online.get("/api/proxies/group-a")!);
    assertEquals(group.conf.loadBalancer, { group: "web" });

    // What travelled: no secret the server does not need, but the ones it checks.
    const wire = relay.sent();
    assertNoSecret("the bytes the server received", wire);
    for (const name of names) assert(wire.includes(name), `the capture misses ${name}`);
    assert(wire.includes(shownNever.httpPassword), "http's httpPassword must reach the server");
    assert(!wire.includes(token), "the token itself never travels");

    // What the NewProxy plugin was told.
    const newProxyCalls = pluginCalls.filter((c) => JSON.parse(c).op === "NewProxy");
    assertEquals(newProxyCalls.length, names.length);
    for (const call of newProxyCalls) assertNoSecret("the NewProxy plugin call", call, [token]);
    const groupCall = newProxyCalls.map((c) => JSON.parse(c).content)
      .find((c) => c.proxy_name === "group-a");
    assertMatch(groupCall.group_key, /^[0-9a-f]{64}$/);

    // Offline: the client leaves, the proxies stay listed, still without secrets.
    await client.stop("SIGKILL");
    await eventually(async () => {
      const res = await fetch(`http://127.0.0.1:${webPort}/api/proxies/secret-stcp`);
      assertEquals((await res.json()).status, "offline");
    }, 15_000);
    const offline = await adminTexts();
    for (const [path, text] of offline) assertNoSecret(`${path} (offline)`, text, hidden);
    assertEquals(JSON.parse(offline.get("/api/proxies/guarded-http")!).conf.httpUser, "alice");
    assertNoSecret("the server's log", server.output, hidden);
  } finally {
    await client.stop("SIGKILL");
    await Deno.remove(certs.dir, { recursive: true });
  }
});

Deno.test("group members with another groupKey are refused; the key is compared as a proof", async () => {
  using echo = echoServer();
  await using server = await startServer(`auth.token = "t"`);
  const port = freePort();
  const member = (name: string, key: string) => `
[[proxies]]
name = "${name}"
type = "tcp"
localPort = ${echo.port}
remotePort = ${port}
loadBalancer = { group = "g", groupKey = "${key}" }
`;
  await using client = await startClient(
    clientConf({
      serverPort: server.port,
      token: "t",
      extra: `${member("first", "right-key")}
${member("same", "right-key")}
${member("other", "wrong-key")}
`,
    }),
  );
  await client.waitFor(/\[first\] start proxy success/);
  await client.waitFor(/\[same\] start proxy success/);
  await client.waitFor(/\[other\] start error: group \[g\] groupKey does not match/);
});
