import { curl } from "./_curl.ts";
import { clientConf, httpProxy, tcpProxy } from "./_config.ts";
import { assert, assertEquals } from "./_assert.ts";
import {
  assertEchoes,
  echoServer,
  eventually,
  freePort,
  randomBytes,
  sha256,
  startClient,
  startServer,
} from "./_harness.ts";
import {
  CLUSTER_HOSTS as HOSTS,
  failoverConf,
  roundTripTo,
  startCluster,
  startRedis,
} from "./_cluster.ts";
import { freeUdpPort, udpEcho } from "./_udp.ts";
import { selfSignedCert } from "../lib/transport/self_signed.ts";

const hash = (b: Uint8Array) => sha256(b as Uint8Array<ArrayBuffer>);

/** A client of the node on `host` with the tcp proxy "echo" (`localPort` to `remotePort`), started. */
async function echoClient(host: string, serverPort: number, localPort: number, remotePort: number) {
  const client = await startClient(
    clientConf({
      serverAddr: host,
      serverPort,
      token: "t",
      extra: tcpProxy("echo", localPort, remotePort),
    }),
  );
  try {
    await client.waitFor(/\[echo\] start proxy success/);
  } catch (err) {
    await client.stop("SIGKILL");
    throw err;
  }
  return client;
}

Deno.test("cluster: a tcp proxy on one node is reached through every node", async () => {
  await using redis = await startRedis();
  await using cluster = await startCluster(redis);
  using echo = echoServer();
  const remotePort = freePort();
  await using _client = await echoClient("127.0.0.2", cluster.bindPort, echo.port, remotePort);
  const data = randomBytes(512 * 1024);
  const want = await hash(data);
  for (const host of HOSTS) {
    const got = await eventually(() => roundTripTo(host, remotePort, data), 10_000);
    assertEquals(await hash(got), want, `through ${host}`);
  }
  // The same proxy name for the same user on another node is refused, as on one server.
  await using twin = await startClient(
    clientConf({
      serverPort: cluster.bindPort,
      token: "t",
      extra: tcpProxy("echo", echo.port, freePort()),
    }),
  );
  await twin.waitFor(
    /\[echo\] start error: proxy \[echo\] is already in use by proxy \[echo\] on node \[node-2\]/,
  );
  // A second proxy with remotePort = 0 gets a port every node serves.
  const extra = await startClient(
    clientConf({
      serverAddr: "127.0.0.3",
      serverPort: cluster.bindPort,
      token: "t",
      extra: tcpProxy("any", echo.port, 0),
    }),
  );
  await using _extra = extra;
  const port = Number((await cluster.nodes[2].waitFor(/\[any\] tcp proxy listen at :(\d+)/))[1]);
  for (const host of HOSTS) {
    const got = await eventually(() => roundTripTo(host, port, data), 10_000);
    assertEquals(await hash(got), want, `port 0 through ${host}`);
  }
});

Deno.test("cluster: two clients racing for one port on different nodes: exactly one wins", async () => {
  await using redis = await startRedis();
  await using cluster = await startCluster(redis);
  using a = echoServer("A");
  using b = echoServer("B");
  const remotePort = freePort();
  const config = (host: string, name: string, port: number) => `
serverAddr = "${host}"
serverPort = ${cluster.bindPort}
auth.token = "t"
[[proxies]]
name = "${name}"
type = "tcp"
localPort = ${port}
remotePort = ${remotePort}
`;
  const [ca, cb] = await Promise.all([
    startClient(config("127.0.0.2", "a", a.port), false),
    startClient(config("127.0.0.3", "b", b.port), false),
  ]);
  await using _ca = ca;
  await using _cb = cb;
  const outcome = async (c: typeof ca, name: string) =>
    (await c.waitFor(new RegExp(`\\[${name}\\] (start proxy success|start error)`)))[1];
  const results = await Promise.all([outcome(ca, "a"), outcome(cb, "b")]);
  assertEquals(results.filter((r) => r === "start proxy success").length, 1, results.join(", "));
  const winner = results[0] === "start proxy success" ? "A" : "B";
  const loser = winner === "A" ? cb : ca;
  assert(/already in use/.test(loser.output), loser.output);
  for (const host of HOSTS) {
    const got = await eventually(() =>
      roundTripTo(host, remotePort, new TextEncoder().encode("x"))
    );
    assertEquals(new TextDecoder().decode(got), `${winner}x`, `through ${host}`);
  }
});

Deno.test("cluster: kill -9 of the client's node; [[servers]] failover brings the proxy back on every surviving node", async () => {
  await using redis = await startRedis();
  await using cluster = await startCluster(redis);
  using echo = echoServer();
  const remotePort = freePort();
  await using client = await startClient(
    failoverConf(
      ["127.0.0.1", "127.0.0.2"],
      cluster.bindPort,
      tcpProxy("echo", echo.port, remotePort),
    ),
  );
  await client.waitFor(/\[echo\] start proxy success/);
  const data = randomBytes(64 * 1024);
  const want = await hash(data);
  assertEquals(
    await hash(await eventually(() => roundTripTo("127.0.0.3", remotePort, data))),
    want,
  );

  const killed = Date.now();
  await cluster.nodes[0].stop("SIGKILL");
  for (const host of HOSTS.slice(1)) {
    const got = await eventually(
      async () => {
        const reply = await roundTripTo(host, remotePort, data);
        if (reply.length !== data.length) throw new Error(`short reply through ${host}`);
        return reply;
      },
      20_000,
      200,
    );
    assertEquals(await hash(got), want, `through ${host}`);
  }
  console.log(`recovery after kill -9 of the client's node: ${Date.now() - killed} ms`);
  await client.waitFor(/login to server success, get run id \[\w+\] on 127\.0\.0\.2/);
});

Deno.test("cluster: a killed node's routes lapse on the other nodes within the lease", async () => {
  await using redis = await startRedis();
  await using cluster = await startCluster(redis);
  using echo = echoServer();
  const remotePort = freePort();
  await using client = await startClient(
    clientConf({
      serverPort: cluster.bindPort,
      token: "t",
      extra: `loginFailExit = false
${tcpProxy("echo", echo.port, remotePort)}`,
    }),
  );
  await client.waitFor(/\[echo\] start proxy success/);
  await eventually(() => roundTripTo("127.0.0.2", remotePort, new Uint8Array([1])));
  const killed = Date.now();
  await cluster.nodes[0].stop("SIGKILL");
  // The surviving nodes stop listening once the dead node's lease (8 s) lapses.
  await eventually(
    async () => {
      try {
        (await Deno.connect({ hostname: "127.0.0.2", port: remotePort })).close();
      } catch (err) {
        if (err instanceof Deno.errors.ConnectionRefused) return;
        throw err;
      }
      throw new Error("still listening");
    },
    20_000,
    250,
  );
  console.log(`routes of the killed node gone after ${Date.now() - killed} ms`);
  await eventually(
    async () => {
      try {
        (await Deno.connect({ hostname: "127.0.0.3", port: remotePort })).close();
      } catch (err) {
        if (err instanceof Deno.errors.ConnectionRefused) return;
        throw err;
      }
      throw new Error("still listening");
    },
    5_000,
    250,
  );
});

Deno.test("cluster: Redis killed and restarted under traffic: tunnels keep working, routes are republished", async () => {
  await using redis = await startRedis();
  await using cluster = await startCluster(redis);
  using echo = echoServer();
  const remotePort = freePort();
  await using _client = await echoClient("127.0.0.2", cluster.bindPort, echo.port, remotePort);
  const data = randomBytes(64 * 1024);
  await eventually(() => roundTripTo("127.0.0.1", remotePort, data));

  await redis.kill();
  // Without Redis, every node still routes from its cached view.
  for (let round = 0; round < 3; round++) {
    for (const host of HOSTS) {
      await assertEchoes(remotePort, data, host, `${host} without Redis`);
    }
    await new Promise((r) => setTimeout(r, 1_000));
  }
  await cluster.nodes[1].waitFor(/Redis unreachable/);

  await redis.restart();
  await cluster.nodes[1].waitFor(/Redis is back: routes republished/, 15_000);
  // The republished route still holds the port: another client cannot take it.
  await using rival = await startClient(
    clientConf({
      serverAddr: "127.0.0.3",
      serverPort: cluster.bindPort,
      token: "t",
      extra: tcpProxy("rival", echo.port, remotePort),
    }),
  );
  await rival.waitFor(
    /\[rival\] start error: port \d+ is already in use by proxy \[echo\] on node \[node-2\]/,
  );
  for (const host of HOSTS) {
    await assertEchoes(remotePort, data, host, `${host} after restart`);
  }
});

/** GET http://host:port/path with a Host header (curl); the body and status. */
function curlGet(host: string, port: number, domain: string, path = "/") {
  return curl("-H", `Host: ${domain}`, `http://${host}:${port}${path}`);
}

Deno.test("cluster: an http vhost on one node is reached through every node; the same domain from another node is refused", async () => {
  await using redis = await startRedis();
  await using cluster = await startCluster(redis);
  const body = Array.from(randomBytes(96 * 1024), (b) => (b % 26 + 97)).map((c) =>
    String.fromCharCode(c)
  ).join("");
  const web = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (req) => new Response(`${new URL(req.url).pathname} ${req.headers.get("host")} ${body}`),
  );
  await using _web = { [Symbol.asyncDispose]: () => web.shutdown() };
  const clientConfig = (host: string, name: string, localPort: number) => `
serverAddr = "${host}"
serverPort = ${cluster.bindPort}
auth.token = "t"
[[proxies]]
name = "${name}"
type = "http"
localPort = ${localPort}
customDomains = ["app.example.com"]
`;
  await using client = await startClient(clientConfig("127.0.0.3", "app", web.addr.port));
  await client.waitFor(/\[app\] start proxy success/);
  for (const host of HOSTS) {
    const got = await eventually(async () => {
      const r = await curlGet(host, cluster.vhostHTTPPort, "app.example.com", "/x");
      if (r.status !== 200) throw new Error(`${host}: status ${r.status}`);
      return r;
    });
    assertEquals(got.body, `/x app.example.com ${body}`, `through ${host}`);
  }
  // The same domain from a client on another node is refused: the route is held.
  await using rival = await startClient(clientConfig("127.0.0.1", "rival", web.addr.port));
  await rival.waitFor(
    /\[rival\] start error: http route \[app\.example\.com\] is already in use by proxy \[app\] on node \[node-3\]/,
  );
  assertEquals(
    (await curlGet("127.0.0.1", cluster.vhostHTTPPort, "nobody.example.com")).status,
    404,
  );
});

/** Sends `text` to host:port over UDP until its echo comes back. */
async function udpEchoVia(host: string, port: number, text: string): Promise<string> {
  const sock = Deno.listenDatagram({ hostname: host, port: 0, transport: "udp" });
  try {
    const to: Deno.NetAddr = { transport: "udp", hostname: host, port };
    const pending = sock.receive();
    pending.catch(() => {});
    for (let i = 0; i < 40; i++) {
      await sock.send(new TextEncoder().encode(text), to);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const got = await Promise.race([
        pending,
        new Promise<null>((r) => timer = setTimeout(() => r(null), 250)),
      ]);
      clearTimeout(timer);
      if (got) return new TextDecoder().decode(got[0]);
    }
    throw new Error(`no UDP echo through ${host}:${port}`);
  } finally {
    sock.close();
  }
}

Deno.test("cluster: a udp proxy on one node is reached through every node", async () => {
  await using redis = await startRedis();
  await using cluster = await startCluster(redis);
  using echo = udpEcho();
  const remotePort = freeUdpPort();
  await using client = await startClient(
    clientConf({
      serverPort: cluster.bindPort,
      token: "t",
      extra: `[[proxies]]
name = "dns"
type = "udp"
localPort = ${echo.port}
remotePort = ${remotePort}
`,
    }),
  );
  await client.waitFor(/\[dns\] start proxy success/);
  for (const host of HOSTS) {
    assertEquals(
      await eventually(() => udpEchoVia(host, remotePort, `via ${host}`)),
      `via ${host}`,
    );
  }
});

/** GET `url`'s JSON; throws on any status but 200. */
async function getJson(url: string, headers: HeadersInit = {}) {
  const res = await fetch(url, { headers });
  if (res.status !== 200) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  return await res.json();
}

Deno.test("cluster admin: every node's /api/cluster and admin.ts under deno serve show the cluster; one proxy and its traffic on any node; a kick reaches the client's node", async () => {
  await using redis = await startRedis();
  const webPort = freePort();
  await using cluster = await startCluster(
    redis,
    `webServer.addr = "HOST"\nwebServer.port = ${webPort}\nenablePrometheus = true`,
  );
  using echo = echoServer();
  const remotePort = freePort();
  await using client = await echoClient("127.0.0.2", cluster.bindPort, echo.port, remotePort);
  const runId = (await client.waitFor(/get run id \[(\w+)\]/))[1];

  const adminPort = freePort();
  const admin = new Deno.Command(Deno.execPath(), {
    args: [
      "serve",
      "-A",
      "--quiet",
      "--host",
      "127.0.0.1",
      "--port",
      String(adminPort),
      "admin.ts",
    ],
    cwd: new URL("../", import.meta.url).pathname,
    env: { DFRP_REDIS_URL: redis.url, DFRP_ADMIN_USER: "admin", DFRP_ADMIN_PASSWORD: "pw" },
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  await using _admin = {
    async [Symbol.asyncDispose]() {
      admin.kill("SIGKILL");
      await admin.status;
    },
  };
  const base = `http://127.0.0.1:${adminPort}`;
  const auth = { authorization: `Basic ${btoa("admin:pw")}` };
  await eventually(
    async () => {
      const res = await fetch(`${base}/healthz`);
      await res.body?.cancel();
      if (res.status !== 200) throw new Error(String(res.status));
    },
    30_000,
    250,
  );
  const noAuth = await fetch(`${base}/api/cluster/nodes`);
  await noAuth.body?.cancel();
  assertEquals(noAuth.status, 401);

  const nodes = await getJson(`${base}/api/cluster/nodes`, auth);
  assertEquals(nodes.nodes.map((n: { name: string }) => n.name), ["node-1", "node-2", "node-3"]);
  assert(nodes.nodes.every((n: { leaseMs: number }) => n.leaseMs > 0));
  const clients = await eventually(async () => {
    const { clients } = await getJson(`${base}/api/cluster/clients`, auth);
    if (clients.length !== 1) throw new Error(`clients: ${JSON.stringify(clients)}`);
    return clients;
  });
  assertEquals(clients[0].runId, runId);
  assertEquals(clients[0].node, "node-2");
  // Every node's own admin API shows the whole cluster too.
  for (const host of HOSTS) {
    const { proxies } = await getJson(`http://${host}:${webPort}/api/cluster/proxies`);
    assertEquals(
      proxies.map((p: { name: string; node: string; route: string }) => [p.name, p.node, p.route]),
      [["echo", "node-2", `tcp:${remotePort}`]],
      host,
    );
  }

  // One proxy held on node 2, and today's traffic through it, from every node's frp API.
  const sent = randomBytes(200 * 1024);
  await eventually(() => roundTripTo("127.0.0.1", remotePort, sent), 10_000);
  for (const host of HOSTS) {
    const api = `http://${host}:${webPort}/api`;
    const proxy = await eventually(async () => {
      const p = await getJson(`${api}/proxy/tcp/echo`);
      if (p.todayTrafficIn < sent.length) throw new Error(`${host}: ${JSON.stringify(p)}`);
      return p;
    }, 10_000);
    assertEquals([proxy.name, proxy.node, proxy.status], ["echo", "node-2", "online"], host);
    assert(proxy.todayTrafficOut >= sent.length, JSON.stringify(proxy));
    assertEquals((await getJson(`${api}/proxies/echo`)).node, "node-2", host);
    const traffic = await getJson(`${api}/traffic/echo`);
    assertEquals(traffic.trafficIn.length, 7, JSON.stringify(traffic));
    assert(traffic.trafficIn[0] >= sent.length && traffic.trafficOut[0] >= sent.length, host);
    const wrongType = await fetch(`${api}/proxy/udp/echo`);
    await wrongType.body?.cancel();
    assertEquals(wrongType.status, 404, host);
  }

  // Each node's /metrics carries its node label.
  const metrics = await (await fetch(`http://127.0.0.2:${webPort}/metrics`)).text();
  assert(
    /^frp_server_client_counts\{node="node-2"\} 1$/m.test(metrics),
    metrics.split("\n").slice(0, 6).join("\n"),
  );

  const kick = await fetch(`${base}/api/clients/${runId}`, { method: "DELETE", headers: auth });
  assertEquals(kick.status, 200, await kick.text());
  await cluster.nodes[1].waitFor(/disconnected at the cluster admin's request/);
  await client.waitFor(/connection to server lost/);
  const missing = await fetch(`${base}/api/clients/0000000000000000`, {
    method: "DELETE",
    headers: auth,
  });
  await missing.body?.cancel();
  assertEquals(missing.status, 404);
});

Deno.test("cluster admin: an http proxy's traffic through the other nodes is counted in every node's API", async () => {
  await using redis = await startRedis();
  const webPort = freePort();
  await using cluster = await startCluster(
    redis,
    `webServer.addr = "HOST"\nwebServer.port = ${webPort}`,
  );
  const web = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (req) => new Response(String((await req.arrayBuffer()).byteLength)),
  );
  await using _web = { [Symbol.asyncDispose]: () => web.shutdown() };
  await using client = await startClient(
    clientConf({
      serverAddr: "127.0.0.2",
      serverPort: cluster.bindPort,
      token: "t",
      extra: httpProxy("web", web.addr.port, `customDomains = ["web.example.com"]`),
    }),
  );
  await client.waitFor(/\[web\] start proxy success/);
  const upload = await Deno.makeTempFile();
  await using _upload = { [Symbol.asyncDispose]: () => Deno.remove(upload) };
  const size = 256 * 1024;
  await Deno.writeFile(upload, randomBytes(size));
  // Only through the two nodes that do not hold the client: their mirrors count it.
  for (const host of ["127.0.0.1", "127.0.0.3"]) {
    const answer = await eventually(async () => {
      const r = await curl(
        "-H",
        "Host: web.example.com",
        "--data-binary",
        `@${upload}`,
        `http://${host}:${cluster.vhostHTTPPort}/`,
      );
      if (r.status !== 200) throw new Error(`${host}: status ${r.status} ${r.stderr}`);
      return r.body;
    }, 10_000);
    assertEquals(answer, String(size), host);
  }
  for (const host of HOSTS) {
    const api = `http://${host}:${webPort}/api`;
    const proxy = await eventually(async () => {
      const p = await getJson(`${api}/proxy/http/web`);
      if (p.todayTrafficIn < 2 * size || p.totalConns < 2) {
        throw new Error(`${host}: ${JSON.stringify(p)}`);
      }
      return p;
    }, 10_000);
    assertEquals(proxy.node, "node-2", host);
    const traffic = await getJson(`${api}/traffic/web`);
    assert(traffic.trafficIn[0] >= 2 * size, `${host}: ${JSON.stringify(traffic)}`);
    const { proxies } = await getJson(`${api}/proxy/http`);
    assert(proxies[0].todayTrafficIn >= 2 * size, `${host}: ${JSON.stringify(proxies)}`);
  }
});

Deno.test("cluster: an stcp visitor on one node reaches the proxy's owner on another", async () => {
  await using redis = await startRedis();
  await using cluster = await startCluster(redis);
  using echo = echoServer();
  await using own = await startClient(
    clientConf({
      serverPort: cluster.bindPort,
      token: "t",
      extra: `[[proxies]]
name = "secret-echo"
type = "stcp"
secretKey = "sk-123"
localPort = ${echo.port}
`,
    }),
  );
  await own.waitFor(/\[secret-echo\] start proxy success/);
  const bindPort = freePort();
  await using vis = await startClient(
    clientConf({
      serverAddr: "127.0.0.3",
      serverPort: cluster.bindPort,
      token: "t",
      extra: `[[visitors]]
name = "v"
type = "stcp"
serverName = "secret-echo"
secretKey = "sk-123"
bindAddr = "127.0.0.1"
bindPort = ${bindPort}
`,
    }),
  );
  await vis.waitFor(/\[v\] start stcp visitor success/);
  const data = randomBytes(200 * 1024);
  const got = await eventually(() => roundTripTo("127.0.0.1", bindPort, data));
  assertEquals(await hash(got), await hash(data));
  // The same name from a client on another node is refused.
  await using rival = await startClient(
    clientConf({
      serverAddr: "127.0.0.2",
      serverPort: cluster.bindPort,
      token: "t",
      extra: `[[proxies]]
name = "secret-echo"
type = "stcp"
secretKey = "other"
localPort = ${echo.port}
`,
    }),
  );
  await rival.waitFor(
    /\[secret-echo\] start error: proxy \[secret-echo\] is already in use by proxy \[secret-echo\] on node \[node-1\]/,
  );
});

Deno.test("cluster: a peer without the cluster secret is dropped at peerPort; a node name in use is refused", async () => {
  await using redis = await startRedis();
  await using cluster = await startCluster(redis);
  const { connectRedis } = await import("../lib/cluster/redis.ts");
  const { readHeader, writeHeader } = await import("../lib/cluster/frame.ts");
  const { DenoConn } = await import("../lib/net/tcp_conn.ts");
  const r = await connectRedis(redis.url);
  const cert = JSON.parse((await r.get("dfrp:node:node-1"))!).cert;
  r.disconnect();
  // A real TLS client that pins node-1's published certificate, but guesses the secret.
  const tcp = await Deno.connect({ hostname: "127.0.0.1", port: cluster.bindPort + 1 });
  const tls = await Deno.startTls(tcp, {
    hostname: "127.0.0.1",
    caCerts: [cert],
    unsafelyDisableHostnameVerification: true,
  });
  const conn = new DenoConn(tls, "node-1");
  try {
    const challenge = await readHeader(conn);
    assertEquals(typeof challenge.nonce, "string");
    await writeHeader(conn, { node: "intruder", nonce: "00", proof: "ab".repeat(32) });
    // No answer and no mux: the node closes the connection.
    const buf = new Uint8Array(64);
    const n = await conn.read(buf).catch(() => null);
    assertEquals(n, null);
  } finally {
    conn.close();
  }
  await cluster.nodes[0].waitFor(/node \[intruder\] failed the cluster secret check/);

  // A fourth node reusing node-2's name at another address is refused at start.
  await using dup = await startServer(`
bindAddr = "127.0.0.4"
bindPort = ${cluster.bindPort}
auth.token = "t"
[cluster]
redisURL = "${redis.url}"
nodeName = "node-2"
`);
  await dup.waitFor(/cluster\.nodeName \[node-2\] is in use by the node at 127\.0\.0\.2:\d+/);
  assert(!(await dup.exited).success, "the duplicate node kept running");
  // Nothing lost: the cluster still knows three nodes.
  const r2 = await connectRedis(redis.url);
  assertEquals((await r2.keys("dfrp:node:*")).sort(), [
    "dfrp:node:node-1",
    "dfrp:node:node-2",
    "dfrp:node:node-3",
  ]);
  r2.disconnect();
});

Deno.test("cluster: an unreachable redisURL is a clear start-up error", async () => {
  const dead = freePort();
  await using node = await startServer(`
bindAddr = "127.0.0.1"
auth.token = "t"
[cluster]
redisURL = "redis://127.0.0.1:${dead}/0"
nodeName = "lonely"
`);
  await node.waitFor(/cluster\.redisURL: cannot reach Redis/);
  assert(!(await node.exited).success, "the node kept running without Redis");
});

Deno.test("cluster: a tcp group with members on two nodes is balanced through every node", async () => {
  await using redis = await startRedis();
  await using cluster = await startCluster(redis);
  using a = echoServer("A");
  using b = echoServer("B");
  const remotePort = freePort();
  const member = (host: string, name: string, localPort: number, groupKey = "k") => `
serverAddr = "${host}"
serverPort = ${cluster.bindPort}
auth.token = "t"
[[proxies]]
name = "${name}"
type = "tcp"
localPort = ${localPort}
remotePort = ${remotePort}
loadBalancer.group = "g"
loadBalancer.groupKey = "${groupKey}"
`;
  await using ca = await startClient(member("127.0.0.1", "a", a.port));
  await using cb = await startClient(member("127.0.0.2", "b", b.port));
  await ca.waitFor(/\[a\] start proxy success/);
  await cb.waitFor(/\[b\] start proxy success/);
  for (const host of HOSTS) {
    const seen = new Set<string>();
    await eventually(
      async () => {
        for (let i = 0; i < 4; i++) {
          const reply = await roundTripTo(host, remotePort, new TextEncoder().encode("x"));
          seen.add(new TextDecoder().decode(reply));
        }
        if (seen.size < 2) throw new Error(`${host}: only ${[...seen]}`);
      },
      15_000,
      200,
    );
    assertEquals([...seen].sort(), ["Ax", "Bx"], `through ${host}`);
  }
  await using wrong = await startClient(member("127.0.0.3", "c", a.port, "guess"));
  await wrong.waitFor(/\[c\] start error: group \[g\] groupKey does not match/);
  // Another user with the right key: a group belongs to its creator's user on every node.
  await using bob = await startClient(`user = "bob"\n` + member("127.0.0.3", "d", a.port));
  await bob.waitFor(/\[d\] start error: group \[g\] belongs to another user/);
  await using plain = await startClient(
    clientConf({
      serverAddr: "127.0.0.3",
      serverPort: cluster.bindPort,
      token: "t",
      extra: tcpProxy("plain", a.port, remotePort),
    }),
  );
  await plain.waitFor(/\[plain\] start error: port \d+ is already in use/);

  // Member b's node dies: the surviving nodes skip it (a failed link, or its lapsed lease).
  await cluster.nodes[1].stop("SIGKILL");
  for (const host of ["127.0.0.1", "127.0.0.3"]) {
    await eventually(
      async () => {
        for (let i = 0; i < 4; i++) {
          const reply = await roundTripTo(host, remotePort, new TextEncoder().encode("y"));
          assertEquals(new TextDecoder().decode(reply), "Ay", `through ${host}`);
        }
      },
      15_000,
      200,
    );
  }
});

Deno.test("cluster: an https vhost (SNI) on one node is reached through every node, TLS end to end", async () => {
  await using redis = await startRedis();
  const httpsPort = freePort();
  await using cluster = await startCluster(redis, `vhostHTTPSPort = ${httpsPort}`);
  const tls = await selfSignedCert("secure.example.com");
  const backend = Deno.serve(
    { hostname: "127.0.0.1", port: 0, cert: tls.cert, key: tls.key, onListen() {} },
    (req) => new Response(`secure ${new URL(req.url).hostname}`),
  );
  await using _backend = { [Symbol.asyncDispose]: () => backend.shutdown() };
  await using client = await startClient(
    clientConf({
      serverAddr: "127.0.0.2",
      serverPort: cluster.bindPort,
      token: "t",
      extra: `[[proxies]]
name = "secure"
type = "https"
localPort = ${backend.addr.port}
customDomains = ["secure.example.com"]
`,
    }),
  );
  await client.waitFor(/\[secure\] start proxy success/);
  for (const host of HOSTS) {
    const body = await eventually(async () => {
      const out = await new Deno.Command("curl", {
        args: [
          "-sk",
          "--max-time",
          "10",
          "--resolve",
          `secure.example.com:${httpsPort}:${host}`,
          `https://secure.example.com:${httpsPort}/`,
        ],
        stdout: "piped",
        stderr: "null",
      }).output();
      if (!out.success) throw new Error(`curl through ${host}: exit ${out.code}`);
      return new TextDecoder().decode(out.stdout);
    });
    assertEquals(body, "secure secure.example.com", `through ${host}`);
  }
});
