/**
 * A user's fences held cluster-wide (docs/cluster.md): `maxProxies` counted
 * over every node, proxy names unique per user across nodes even when two
 * clients race, slots given back when a proxy closes and when a node dies.
 * Real redis-server, real dfrps nodes on 127.0.0.1 and 127.0.0.2.
 */

import { assert, assertEquals, assertMatch } from "./_assert.ts";
import {
  type DfrpProcess,
  echoServer,
  eventually,
  freePort,
  freePortBlock,
  spawnDfrp,
  startClient,
  tempFile,
  testStateHome,
} from "./_harness.ts";
import {
  redisCommand,
  roundTripTo,
  startAliceNodes as startNodes,
  startRedis,
  TWO_NODE_HOSTS,
} from "./_cluster.ts";
import { tcpProxy } from "./_config.ts";

const HOSTS = TWO_NODE_HOSTS;

/** An xtcp proxy: registered on its node only, so nothing but the fence stops a twin elsewhere. */
function xtcpProxy(name: string): string {
  return `
[[proxies]]
name = "${name}"
type = "xtcp"
secretKey = "s"
localPort = 1
`;
}

/**
 * Alice's client on the node at `host` with xtcp `proxies` (and `extra` TOML),
 * logged in (not waiting for the proxies).
 */
function aliceClient(
  host: string,
  port: number,
  proxies: string[],
  extra = "",
): Promise<DfrpProcess> {
  return startClient(
    `serverAddr = "${host}"\nserverPort = ${port}\nuser = "alice"\nauth.token = "alice-token"\n` +
      proxies.map(xtcpProxy).join("") + extra,
  );
}

/** "ok" when the client's proxy `name` started, else the error it got. */
async function outcome(client: DfrpProcess, name: string): Promise<string> {
  const m = await client.waitFor(
    new RegExp(`\\[${name}\\] (start proxy success|start error: .*)`),
    20_000,
  );
  return m[1] === "start proxy success" ? "ok" : m[1];
}

Deno.test("cluster fences: maxProxies holds across nodes and a closed proxy gives its slot back", async () => {
  await using redis = await startRedis();
  await using cluster = await startNodes(redis, "maxProxies = 2");
  await using one = await aliceClient(HOSTS[0], cluster.bindPort, ["a"]);
  assertEquals(await outcome(one, "a"), "ok");
  await using two = await aliceClient(HOSTS[1], cluster.bindPort, ["b"]);
  assertEquals(await outcome(two, "b"), "ok");
  // Node 1 runs one of alice's proxies only; the cluster runs two, her limit.
  await using three = await aliceClient(HOSTS[0], cluster.bindPort, ["c"]);
  assertMatch(await outcome(three, "c"), /may run at most 2 proxies \(maxProxies, cluster-wide\)/);
  await two.stop("SIGTERM");
  await cluster.nodes[1].waitFor(/\[alice\.b\] proxy closed/);
  await using four = await aliceClient(HOSTS[0], cluster.bindPort, ["d"]);
  assertEquals(await outcome(four, "d"), "ok");
});

Deno.test("cluster fences: two clients racing for one proxy name on two nodes: exactly one wins", async () => {
  await using redis = await startRedis();
  await using cluster = await startNodes(redis, "");
  for (let round = 0; round < 3; round++) {
    const name = `race${round}`;
    const clients = await Promise.all(
      HOSTS.map((host) => aliceClient(host, cluster.bindPort, [name])),
    );
    try {
      const results = await Promise.all(clients.map((c) => outcome(c, name)));
      assertEquals(results.filter((r) => r === "ok").length, 1, JSON.stringify(results));
      assertMatch(
        results.find((r) => r !== "ok")!,
        new RegExp(`proxy \\[alice\\.${name}\\] is already in use .*on node \\[node-\\d\\]`),
      );
    } finally {
      await Promise.all(clients.map((c) => c.stop("SIGKILL")));
    }
  }
});

Deno.test("cluster fences: a killed node's proxies stop counting once its lease lapses", async () => {
  await using redis = await startRedis();
  await using cluster = await startNodes(redis, "maxProxies = 1");
  await using held = await aliceClient(HOSTS[1], cluster.bindPort, ["kept"]);
  assertEquals(await outcome(held, "kept"), "ok");
  await cluster.nodes[1].stop("SIGKILL");
  // Until node 2's lease lapses its proxy still counts...
  await using early = await aliceClient(HOSTS[0], cluster.bindPort, ["next"]);
  assertMatch(await outcome(early, "next"), /may run at most 1 proxies/);
  await early.stop("SIGKILL");
  // ...then the slot is free again (a new client, as frpc does not retry a refused proxy).
  const deadline = Date.now() + 30_000;
  for (;;) {
    const late = await aliceClient(HOSTS[0], cluster.bindPort, ["next"]);
    const result = await outcome(late, "next").finally(() => late.stop("SIGKILL"));
    if (result === "ok") break;
    assert(Date.now() < deadline, `still refused after 30 s: ${result}`);
    await new Promise((r) => setTimeout(r, 1_000));
  }
});

Deno.test("cluster admin: a node's own /api lists every node's clients and proxies with their node, and its disconnect reaches them", async () => {
  await using redis = await startRedis();
  const webPort = freePort();
  await using cluster = await startNodes(
    redis,
    "",
    `webServer.addr = "HOST"\nwebServer.port = ${webPort}`,
  );
  using echo = echoServer();
  const remotePort = freePort();
  await using client = await aliceClient(
    HOSTS[0],
    cluster.bindPort,
    ["far"],
    tcpProxy("echo", echo.port, remotePort),
  );
  assertEquals(await outcome(client, "far"), "ok");
  assertEquals(await outcome(client, "echo"), "ok");
  const runId = (await client.waitFor(/get run id \[(\w+)\]/))[1];
  const api = `http://${HOSTS[1]}:${webPort}/api`;
  const getJson = async (url: string) => {
    const res = await fetch(url);
    if (res.status !== 200) throw new Error(`${url}: ${res.status} ${await res.text()}`);
    return await res.json();
  };
  assertEquals((await getJson(`${api}/serverinfo`)).node, "node-2");
  const clients = await eventually(async () => {
    const list = await getJson(`${api}/clients`);
    if (list.length !== 1) throw new Error(`clients: ${JSON.stringify(list)}`);
    return list;
  });
  assertEquals([clients[0].runID, clients[0].node, clients[0].user], [runId, "node-1", "alice"]);
  assertEquals(clients[0].proxies, ["alice.echo", "alice.far"]);
  const { proxies } = await getJson(`${api}/proxy/xtcp`);
  assertEquals(
    proxies.map((p: { name: string; node: string; status: string }) => [p.name, p.node, p.status]),
    [["alice.far", "node-1", "online"]],
  );
  // Traffic through node 1 shows in node 2's view once node 1 renews the proxy's entry (2 s).
  const data = new Uint8Array(64 * 1024).fill(7);
  assertEquals((await roundTripTo(HOSTS[0], remotePort, data)).length, data.length);
  const echoed = await eventually(async () => {
    const [p] = (await getJson(`${api}/proxy/tcp`)).proxies;
    if (p?.todayTrafficIn !== data.length) throw new Error(`tcp proxies: ${JSON.stringify(p)}`);
    return p;
  }, 15_000);
  assertEquals([echoed.name, echoed.node, echoed.todayTrafficOut], [
    "alice.echo",
    "node-1",
    data.length,
  ]);
  // Node 1 lists its own client with its own name.
  const own = await getJson(`http://${HOSTS[0]}:${webPort}/api/clients`);
  assertEquals(own.map((c: { node: string }) => c.node), ["node-1"]);

  const kick = await fetch(`${api}/clients/${runId}`, { method: "DELETE" });
  assertEquals(kick.status, 200, await kick.text());
  await cluster.nodes[0].waitFor(/disconnected at the cluster admin's request/);
  await client.waitFor(/connection to server lost/);
});

Deno.test("cluster fences: remotePort = 0 picks a port inside the user's allowPorts", async () => {
  await using redis = await startRedis();
  const first = freePortBlock(3);
  await using cluster = await startNodes(
    redis,
    `allowPorts = [{ start = ${first}, end = ${first + 2} }]`,
  );
  using echo = echoServer();
  await using client = await aliceClient(
    HOSTS[1],
    cluster.bindPort,
    [],
    tcpProxy("any", echo.port, 0),
  );
  assertEquals(await outcome(client, "any"), "ok");
  const port = Number(
    (await cluster.nodes[1].waitFor(/\[alice\.any\] tcp proxy listen at :(\d+)/))[1],
  );
  assert(first <= port && port <= first + 2, `port ${port} is outside ${first}-${first + 2}`);
  const data = new Uint8Array(1024).fill(1);
  for (const host of HOSTS) {
    const got = await eventually(() => roundTripTo(host, port, data), 10_000);
    assertEquals(got.length, data.length, host);
  }
});

Deno.test("cluster: two nodes started at once with one nodeName: exactly one comes up", async () => {
  await using redis = await startRedis();
  for (let round = 0; round < 2; round++) {
    // Redis holds every command for 8 s: both nodes queue their first ones and go on together,
    // as two nodes started at the same instant would (a check then a later write lets both in).
    assertEquals(await redisCommand(redis.port, "CLIENT PAUSE 8000 ALL"), "+OK");
    const bindPort = freePort();
    const configs = await Promise.all(HOSTS.map((host) =>
      tempFile(
        `bindAddr = "${host}"\nbindPort = ${bindPort}\nauth.token = "t"\n` +
          `[cluster]\nredisURL = "${redis.url}"\nnodeName = "twin-${round}"\n`,
        "frps.toml",
      )
    ));
    const nodes = configs.map((path) =>
      spawnDfrp("server.ts", ["-c", path, "--state-dir", `${testStateHome()}/dfrp`])
    );
    try {
      const results = await Promise.all(
        nodes.map(async (node) =>
          (await node.waitFor(/cluster node \[twin-\d\] up|names must be unique/, 30_000))[0]
        ),
      );
      assertEquals(results.filter((r) => r.endsWith("up")).length, 1, JSON.stringify(results));
    } finally {
      await Promise.all(nodes.map((n) => n.stop("SIGKILL")));
    }
  }
});
