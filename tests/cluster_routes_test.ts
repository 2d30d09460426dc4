/**
 * Cluster mode: every node serves every route (docs/cluster.md), for the
 * route kinds beyond tcp, udp, http, https and stcp (those are in
 * `cluster_test.ts`): xtcp rendezvous across nodes, http and https
 * load-balancing groups with members on several nodes, tcpmux and sudp
 * through every node.
 */
import { curl } from "./_curl.ts";
import { clientConf, httpProxy, proxyTable, tcpmuxProxy, visitorTable } from "./_config.ts";
import { assertEquals } from "./_assert.ts";
import {
  type DfrpProcess,
  echoServer,
  eventually,
  freePort,
  randomBytes,
  sha256,
  startClient,
} from "./_harness.ts";
import { CLUSTER_HOSTS, failoverConf, roundTripTo, startCluster, startRedis } from "./_cluster.ts";
import { concat, freeUdpPort, pingPong, udpEcho } from "./_udp.ts";
import { selfSignedCert } from "../lib/transport/self_signed.ts";

const hash = (b: Uint8Array) => sha256(b as Uint8Array<ArrayBuffer>);

/** A client of the node on `host` (port `serverPort`) with `extra`, logged in. */
function clientOf(host: string, serverPort: number, extra: string): Promise<DfrpProcess> {
  return startClient(clientConf({ serverAddr: host, serverPort, token: "t", extra }));
}

Deno.test("cluster: an xtcp visitor on another node meets the owner through its own node, peer to peer; the stcp fallback works too", async () => {
  await using redis = await startRedis();
  await using cluster = await startCluster(redis);
  using echo = echoServer();
  await using owner = await clientOf(
    "127.0.0.1",
    cluster.bindPort,
    proxyTable("xtcp", "svc", echo.port, `secretKey = "p2p-key"`) +
      proxyTable("stcp", "svc-relay", echo.port, `secretKey = "p2p-key"`),
  );
  await owner.waitFor(/\[svc\] start proxy success/);
  await owner.waitFor(/\[svc-relay\] start proxy success/);
  const visitor = (bindPort: number, fallbackTimeoutMs?: number) =>
    visitorTable({
      type: "xtcp",
      name: "svc-p2p",
      serverName: "svc",
      secretKey: "p2p-key",
      bindPort,
      extra: `bindAddr = "127.0.0.1"\nminRetryInterval = 1\n` + (fallbackTimeoutMs === undefined
        ? ""
        : `fallbackTo = "svc-fallback"\nfallbackTimeoutMs = ${fallbackTimeoutMs}`),
    }) +
    visitorTable({
      type: "stcp",
      name: "svc-fallback",
      serverName: "svc-relay",
      secretKey: "p2p-key",
      bindPort: -1,
    });
  const data = randomBytes(256 * 1024);
  const want = await hash(data);
  // Node 2: no fallback, so the first connection waits for the punched tunnel.
  const port2 = freePort();
  await using vis2 = await clientOf("127.0.0.2", cluster.bindPort, visitor(port2));
  await vis2.waitFor(/start xtcp visitor success/);
  const got2 = await eventually(() => roundTripTo("127.0.0.1", port2, data), 30_000, 500);
  assertEquals(await hash(got2), want, "xtcp via node 2");
  await vis2.waitFor(/xtcp tunnel to \S+ open \(peer to peer\)/);
  // Node 3: the fallback is taken after 1 ms (0 means the default), relayed through node 3 to node 1;
  // the tunnel is still made in the background and carries the later connections.
  const port3 = freePort();
  await using vis3 = await clientOf("127.0.0.3", cluster.bindPort, visitor(port3, 1));
  await vis3.waitFor(/start xtcp visitor success/);
  const got3 = await eventually(() => roundTripTo("127.0.0.1", port3, data), 30_000, 500);
  assertEquals(await hash(got3), want, "xtcp fallback via node 3");
  await vis3.waitFor(/connection handed to \[svc-fallback\]/);
  await vis3.waitFor(/xtcp tunnel to \S+ open \(peer to peer\)/);
  const again = await roundTripTo("127.0.0.1", port3, data);
  assertEquals(await hash(again), want, "xtcp tunnel via node 3");
  // The rendezvous crossed the peer links: the owner answered visitors of nodes 2 and 3.
  assertEquals(
    (owner.output.match(/xtcp tunnel with \S+ open/g) ?? []).length >= 2,
    true,
    owner.output,
  );
});

/** GET `http://host:port/` with `Host: domain`. */
function curlGet(host: string, port: number, domain: string) {
  return curl("-H", `Host: ${domain}`, `http://${host}:${port}/`);
}

/**
 * Waits until six requests in a row for lb.example.com through host:port get
 * exactly the answers `want` (as "status body", sorted), within `timeoutMs`.
 */
async function seenThrough(host: string, port: number, want: string[], timeoutMs = 20_000) {
  const seen = new Set<string>();
  await eventually(
    async () => {
      seen.clear();
      for (let i = 0; i < 6; i++) {
        const r = await curlGet(host, port, "lb.example.com");
        seen.add(`${r.status} ${r.body}`);
      }
      const got = [...seen].sort().join(",");
      if (got !== want.join(",")) throw new Error(`${host}: ${got}`);
    },
    timeoutMs,
    200,
  );
}

/**
 * Two HTTP backends on loopback answering "A" and "B" (HTTPS with `tls`);
 * disposing shuts them down.
 */
function webBackends(tls?: { cert: string; key: string }) {
  const serve = (tag: string) =>
    Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {}, ...tls }, () => new Response(tag));
  const a = serve("A");
  const b = serve("B");
  return {
    a,
    b,
    [Symbol.asyncDispose]: () => Promise.all([a.shutdown(), b.shutdown()]).then(() => {}),
  };
}

/** A `type` proxy `name` to `port` in load-balancing group `group` of `domain`. */
function groupMember(
  type: string,
  name: string,
  port: number,
  domain: string,
  group: string,
  groupKey = "k",
): string {
  return proxyTable(
    type,
    name,
    port,
    `customDomains = ["${domain}"]\nloadBalancer.group = "${group}"\nloadBalancer.groupKey = "${groupKey}"`,
  );
}

/** An http proxy `name` to `port` in group "web" of lb.example.com. */
function webMember(name: string, port: number, groupKey = "k"): string {
  return groupMember("http", name, port, "lb.example.com", "web", groupKey);
}

Deno.test("cluster: an http group with members on two nodes is balanced through every node; another user's or a wrong key's member is refused", async () => {
  await using redis = await startRedis();
  await using cluster = await startCluster(redis);
  await using backends = webBackends();
  const { a, b } = backends;
  await using ca = await clientOf("127.0.0.1", cluster.bindPort, webMember("a", a.addr.port));
  await ca.waitFor(/\[a\] start proxy success/);
  const cb = await clientOf("127.0.0.2", cluster.bindPort, webMember("b", b.addr.port));
  await using _cb = cb;
  await cb.waitFor(/\[b\] start proxy success/);
  for (const host of CLUSTER_HOSTS) {
    await seenThrough(host, cluster.vhostHTTPPort, ["200 A", "200 B"]);
  }
  // The group is alice's... here the default user's: another user's member is refused, on any node.
  await using bob = await startClient(
    `user = "bob"\n` + clientConf({
      serverAddr: "127.0.0.3",
      serverPort: cluster.bindPort,
      token: "t",
      extra: webMember("c", a.addr.port),
    }),
  );
  await bob.waitFor(/\[c\] start error: group \[web\] belongs to another user/);
  await using wrong = await clientOf(
    "127.0.0.3",
    cluster.bindPort,
    webMember("d", a.addr.port, "guess"),
  );
  await wrong.waitFor(/\[d\] start error: group \[web\] groupKey does not match/);
  await using plain = await clientOf(
    "127.0.0.3",
    cluster.bindPort,
    httpProxy("plain", a.addr.port, `customDomains = ["lb.example.com"]`),
  );
  await plain.waitFor(
    /\[plain\] start error: http route \[lb\.example\.com\] is already in use by group \[web\]/,
  );
  // Member b leaves: every node stops sending it requests.
  await cb.stop();
  for (const host of CLUSTER_HOSTS) await seenThrough(host, cluster.vhostHTTPPort, ["200 A"]);
});

Deno.test("cluster: an https group (SNI) with members on two nodes is balanced through every node, TLS end to end", async () => {
  await using redis = await startRedis();
  const httpsPort = freePort();
  await using cluster = await startCluster(redis, `vhostHTTPSPort = ${httpsPort}`);
  await using backends = webBackends(await selfSignedCert("secure.example.com"));
  const member = (name: string, port: number) =>
    groupMember("https", name, port, "secure.example.com", "sec");
  await using ca = await clientOf("127.0.0.1", cluster.bindPort, member("a", backends.a.addr.port));
  await ca.waitFor(/\[a\] start proxy success/);
  await using cb = await clientOf("127.0.0.2", cluster.bindPort, member("b", backends.b.addr.port));
  await cb.waitFor(/\[b\] start proxy success/);
  // Each curl is a new TLS connection, routed by its SNI: the group takes turns per connection.
  for (const host of CLUSTER_HOSTS) {
    await eventually(
      async () => {
        const seen = new Set<string>();
        for (let i = 0; i < 6; i++) {
          const r = await curl(
            "-k",
            "--resolve",
            `secure.example.com:${httpsPort}:${host}`,
            `https://secure.example.com:${httpsPort}/`,
          );
          seen.add(`${r.status} ${r.body}`);
        }
        const got = [...seen].sort().join(",");
        if (got !== "200 A,200 B") throw new Error(`${host}: ${got}`);
      },
      20_000,
      200,
    );
  }
});

Deno.test("cluster: an http group member whose node dies fails over to another node and stays served there after the dead node's routes lapse", async () => {
  await using redis = await startRedis();
  await using cluster = await startCluster(redis);
  await using backends = webBackends();
  const { a, b } = backends;
  await using ca = await clientOf("127.0.0.1", cluster.bindPort, webMember("a", a.addr.port));
  await ca.waitFor(/\[a\] start proxy success/);
  // b is logged in on node 2 and fails over to node 3.
  await using cb = await startClient(
    failoverConf(["127.0.0.2", "127.0.0.3"], cluster.bindPort, webMember("b", b.addr.port)),
  );
  await cb.waitFor(/\[b\] start proxy success/);
  for (const host of CLUSTER_HOSTS) {
    await seenThrough(host, cluster.vhostHTTPPort, ["200 A", "200 B"]);
  }
  await cluster.nodes[1].stop("SIGKILL");
  // No request fails meanwhile: node 2's copy of b stays listed until its routes lapse, and a
  // request that gets no work connection through it goes to the group's next member.
  for (let i = 0; i < 10; i++) {
    for (const host of ["127.0.0.1", "127.0.0.3"]) {
      const r = await curlGet(host, cluster.vhostHTTPPort, "lb.example.com");
      assertEquals(r.status, 200, `${host} after node 2 died: ${r.status} ${r.body}`);
    }
  }
  await cb.waitFor(/login to server success, get run id \[\w+\] on 127\.0\.0\.3/);
  // Node 2's records lapse with their leases; node 3, where b now is, serves b...
  await eventually(
    async () => {
      const out = await new Deno.Command("redis-cli", {
        args: ["-p", String(redis.port), "--scan", "--pattern", "dfrp:*node-2*"],
        stdout: "piped",
      }).output();
      const left = new TextDecoder().decode(out.stdout).trim();
      if (left) throw new Error(`node 2 still listed: ${left}`);
    },
    20_000,
    250,
  );
  for (const host of ["127.0.0.1", "127.0.0.3"]) {
    await seenThrough(host, cluster.vhostHTTPPort, ["200 A", "200 B"]);
  }
  // ... and keeps doing so past node 3's next rescans (every 2 s), which drop node 2's copy of b.
  for (const until = Date.now() + 6_000; Date.now() < until;) {
    await seenThrough("127.0.0.3", cluster.vhostHTTPPort, ["200 A", "200 B"], 0);
  }
});

/** CONNECT `domain` through host:port, sends `data`, half-closes; all bytes after the 200 head. */
async function connectThrough(
  host: string,
  port: number,
  domain: string,
  data: Uint8Array,
): Promise<Uint8Array> {
  const head = `CONNECT ${domain}:443 HTTP/1.1\r\nHost: ${domain}:443\r\n\r\n`;
  const raw = await roundTripTo(
    host,
    port,
    concat([new TextEncoder().encode(head), data]),
  );
  const ok = "HTTP/1.1 200 Connection established\r\n\r\n";
  const text = new TextDecoder().decode(raw.subarray(0, ok.length));
  if (text !== ok) throw new Error(`${host}: ${JSON.stringify(text)}`);
  return raw.subarray(ok.length);
}

Deno.test("cluster: a tcpmux (httpconnect) proxy on one node, and a tcpmux group on two, are reached through every node", async () => {
  await using redis = await startRedis();
  const muxPort = freePort();
  await using cluster = await startCluster(redis, `tcpmuxHTTPConnectPort = ${muxPort}`);
  using echo = echoServer();
  await using client = await clientOf(
    "127.0.0.2",
    cluster.bindPort,
    tcpmuxProxy("mux", echo.port, `customDomains = ["mux.example.com"]`),
  );
  await client.waitFor(/\[mux\] start proxy success/);
  const data = randomBytes(256 * 1024);
  const want = await hash(data);
  for (const host of CLUSTER_HOSTS) {
    const got = await eventually(() => connectThrough(host, muxPort, "mux.example.com", data));
    assertEquals(await hash(got), want, `through ${host}`);
  }
  // A tcpmux group with members on nodes 1 and 3 is balanced through every node.
  using a = echoServer("A");
  using b = echoServer("B");
  const member = (name: string, port: number) =>
    tcpmuxProxy(
      name,
      port,
      `customDomains = ["lb.example.com"]\nloadBalancer.group = "g"\nloadBalancer.groupKey = "k"`,
    );
  await using ga = await clientOf("127.0.0.1", cluster.bindPort, member("ga", a.port));
  await using gb = await clientOf("127.0.0.3", cluster.bindPort, member("gb", b.port));
  await ga.waitFor(/\[ga\] start proxy success/);
  await gb.waitFor(/\[gb\] start proxy success/);
  const x = new TextEncoder().encode("x");
  for (const host of CLUSTER_HOSTS) {
    const seen = new Set<string>();
    await eventually(
      async () => {
        for (let i = 0; i < 4; i++) {
          const reply = await connectThrough(host, muxPort, "lb.example.com", x);
          seen.add(new TextDecoder().decode(reply));
        }
        if (seen.size < 2) throw new Error(`${host}: only ${[...seen]}`);
      },
      20_000,
      200,
    );
    assertEquals([...seen].sort(), ["Ax", "Bx"], `through ${host}`);
  }
});

Deno.test("cluster: sudp visitors on every node reach the proxy's owner on one of them", async () => {
  await using redis = await startRedis();
  await using cluster = await startCluster(redis);
  using echo = udpEcho();
  await using owner = await clientOf(
    "127.0.0.1",
    cluster.bindPort,
    proxyTable("sudp", "secret-dns", echo.port, `secretKey = "sudp-key"\nlocalIP = "127.0.0.1"`),
  );
  await owner.waitFor(/\[secret-dns\] start proxy success/);
  for (const host of CLUSTER_HOSTS) {
    const bindPort = freeUdpPort();
    await using vis = await clientOf(
      host,
      cluster.bindPort,
      visitorTable({
        type: "sudp",
        name: "dns-visitor",
        serverName: "secret-dns",
        secretKey: "sudp-key",
        bindPort,
        extra: `bindAddr = "127.0.0.1"`,
      }),
    );
    await vis.waitFor(/\[dns-visitor\] start sudp visitor success/);
    const payloads = Array.from({ length: 50 }, (_, i) => {
      const p = randomBytes(4 + Math.floor(Math.random() * 1200));
      new DataView(p.buffer).setUint32(0, i);
      return p;
    });
    const echoes = await pingPong(bindPort, payloads);
    assertEquals(echoes.map((e) => e.length), payloads.map((p) => p.length), `via ${host}`);
    assertEquals(await hash(concat(echoes)), await hash(concat(payloads)), `via ${host}`);
  }
});
