import { startDashboardServer } from "./_dashboard.ts";
import parsePrometheus from "parse-prometheus-text-format";
import { TrafficHistory } from "../lib/server/traffic_history.ts";
import { ProxyStats } from "../lib/server/stats.ts";
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import {
  type DfrpProcess,
  eventually,
  freePort,
  randomBytes,
  roundTrip,
  type ServerHandle,
  spawnDfrp,
  startServer,
  tempFile,
} from "./_harness.ts";
import { startEchoProxy } from "./_echo_proxy.ts";

const AUTH = "Basic " + btoa("admin:s3cret");
const PAYLOAD = 64 * 1024;

interface Answer {
  status: number;
  body: any;
  text: string;
  headers: Headers;
}

async function admin(
  port: number,
  path: string,
  init: { method?: string; auth?: string | null } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  const auth = init.auth === undefined ? AUTH : init.auth;
  if (auth) headers.authorization = auth;
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: init.method ?? "GET",
    headers,
  });
  const text = await res.text();
  let body: any = null;
  try {
    body = JSON.parse(text);
  } catch { /* not JSON */ }
  return { status: res.status, body, text, headers: res.headers };
}

interface Setup extends AsyncDisposable {
  server: ServerHandle;
  client: DfrpProcess;
  webPort: number;
  remotePort: number;
  runId: string;
}

async function setup(extra = `webServer.user = "admin"\nwebServer.password = "s3cret"`) {
  const server = await startDashboardServer({
    extra: `enablePrometheus = true
${extra}
`,
  });
  const { webPort } = server;
  await server.waitFor(/dashboard listen on 127\.0\.0\.1:\d+/);
  const proxy = await startEchoProxy(server.port, "t", {
    clientExtra: `user = "alice"`,
    proxyExtra: `annotations = { team = "core", "dfrp.io/owner" = "ops" }`,
  });
  const { client, remotePort } = proxy;
  const runId = (await client.waitFor(/get run id \[([0-9a-f]{16})\]/))[1];
  const setup: Setup = {
    server,
    client,
    webPort,
    remotePort,
    runId,
    async [Symbol.asyncDispose]() {
      await proxy[Symbol.asyncDispose]();
      await server.stop("SIGKILL");
    },
  };
  return setup;
}

Deno.test("admin API: healthz open, everything else behind basic auth", async () => {
  await using s = await setup();
  const health = await admin(s.webPort, "/healthz", { auth: null });
  assertEquals(health.status, 200);
  assertEquals(health.text, "");
  for (const path of ["/api/serverinfo", "/api/clients", "/metrics", "/"]) {
    const none = await admin(s.webPort, path, { auth: null });
    assertEquals(none.status, 401, path);
    assertEquals(none.body, { code: 401, msg: "no credentials" });
    assertMatch(none.headers.get("www-authenticate") ?? "", /^Basic realm="dfrps"/);
    const wrong = await admin(s.webPort, path, { auth: "Basic " + btoa("admin:nope") });
    assertEquals(wrong.status, 401, path);
  }
  await s.server.waitFor(/GET \/metrics: 401 no credentials/);
  assertEquals((await admin(s.webPort, "/api/serverinfo")).status, 200);
});

Deno.test("admin API: serverinfo, proxies, traffic and clients after traffic through a tcp proxy", async () => {
  await using s = await setup();
  const reply = await roundTrip(s.remotePort, randomBytes(PAYLOAD));
  assertEquals(reply.length, PAYLOAD);

  const info = await eventually(async () => {
    const info = (await admin(s.webPort, "/api/serverinfo")).body;
    assert(info.totalTrafficOut >= PAYLOAD, `traffic out ${info.totalTrafficOut}`);
    assertEquals(info.curConns, 0);
    return info;
  });
  assertEquals(info.bindPort, s.server.port);
  assertEquals(info.clientCounts, 1);
  assertEquals(info.proxyTypeCount, { tcp: 1 });
  assertEquals(info.totalTrafficIn, PAYLOAD);
  assertMatch(info.version, /^\d+\.\d+\.\d+/);

  const list = await admin(s.webPort, "/api/proxy/tcp");
  assertEquals(list.status, 200);
  assertEquals(list.body.proxies.length, 1);
  const p = list.body.proxies[0];
  // The server names a user's proxy `user.name`, as frp does.
  assertEquals(p.name, "alice.echo");
  assertEquals(p.status, "online");
  assertEquals(p.user, "alice");
  assertEquals(p.clientID, s.runId);
  assertEquals(p.todayTrafficIn, PAYLOAD);
  assertEquals(p.todayTrafficOut, PAYLOAD);
  assertEquals(p.totalConns, 1);
  assertMatch(p.lastStartTime, /^\d\d-\d\d \d\d:\d\d:\d\d$/);
  assertEquals(p.conf.annotations, { team: "core", "dfrp.io/owner": "ops" });
  assertEquals(p.conf.remotePort, s.remotePort);

  const one = await admin(s.webPort, "/api/proxy/tcp/alice.echo");
  assertEquals(one.status, 200);
  assertEquals(one.body.conf.annotations.team, "core");
  assertEquals((await admin(s.webPort, "/api/proxies/alice.echo")).body.name, "alice.echo");
  assertEquals((await admin(s.webPort, "/api/proxies/echo")).status, 404);
  const wrongType = await admin(s.webPort, "/api/proxy/udp/alice.echo");
  assertEquals(wrongType.status, 404);
  assertEquals(wrongType.body, { code: 404, msg: "no proxy info found" });
  assertEquals((await admin(s.webPort, "/api/proxy/udp")).body, { proxies: [] });

  const traffic = await admin(s.webPort, "/api/traffic/alice.echo");
  assertEquals(traffic.body.name, "alice.echo");
  assertEquals(traffic.body.trafficIn, [PAYLOAD, 0, 0, 0, 0, 0, 0]);
  assertEquals(traffic.body.trafficOut, [PAYLOAD, 0, 0, 0, 0, 0, 0]);
  assertEquals((await admin(s.webPort, "/api/traffic/nothing")).status, 404);

  const clients = await admin(s.webPort, "/api/clients");
  assertEquals(clients.body.length, 1);
  const c = clients.body[0];
  assertEquals(c.runID, s.runId);
  assertEquals(c.user, "alice");
  assertEquals(c.online, true);
  assertEquals(c.clientIP, "127.0.0.1");
  assertMatch(c.address, /^127\.0\.0\.1:\d+$/);
  assertEquals(c.hostname, Deno.hostname());
  assertMatch(c.version, /^\d+\.\d+\.\d+/);
  assertEquals(c.proxies, ["alice.echo"]);
  assert(Math.abs(c.lastConnectedAt - Date.now() / 1000) < 600, "login time is now-ish");
  assertEquals((await admin(s.webPort, `/api/clients/${s.runId}`)).body.runID, s.runId);
  assertEquals((await admin(s.webPort, "/api/clients?status=offline")).body, []);
  assertEquals((await admin(s.webPort, "/api/clients?user=bob")).body, []);
});

Deno.test("admin API: /metrics is Prometheus text with frp's names", async () => {
  await using s = await setup();
  await roundTrip(s.remotePort, randomBytes(PAYLOAD));
  const families = await eventually(async () => {
    const res = await admin(s.webPort, "/metrics");
    assertEquals(res.status, 200);
    assertMatch(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    const families = parsePrometheus(res.text) as Array<{
      name: string;
      type: string;
      metrics: Array<{ value: string; labels?: Record<string, string> }>;
    }>;
    const byName = new Map(families.map((f) => [f.name, f]));
    const out = byName.get("frp_server_traffic_out")!.metrics[0];
    assertEquals(Number(out.value), PAYLOAD);
    return byName;
  });
  const value = (name: string) => Number(families.get(name)!.metrics[0].value);
  assertEquals(value("frp_server_client_counts"), 1);
  assertEquals(families.get("frp_server_proxy_counts")!.metrics, [{
    value: "1",
    labels: { type: "tcp" },
  }]);
  assertEquals(families.get("frp_server_traffic_in")!.type, "COUNTER");
  assertEquals(families.get("frp_server_traffic_in")!.metrics, [{
    value: String(PAYLOAD),
    labels: { name: "alice.echo", type: "tcp" },
  }]);
  assertEquals(families.get("frp_server_connection_counts")!.metrics[0].labels, {
    name: "alice.echo",
    type: "tcp",
  });
  assert(value("process_resident_memory_bytes") > 1_000_000);
  assert(value("deno_heap_used_bytes") > 0);
});

Deno.test("admin API: bad input answers 400 with the reason, logged, and the server keeps serving", async () => {
  await using s = await setup();
  const cases: Array<[string, string, RegExp]> = [
    ["GET", "/api/proxy/nope", /^param\.type: /],
    ["GET", `/api/proxy/tcp/${"x".repeat(300)}`, /^param\.name: /],
    ["DELETE", "/api/proxies", /^query\.status: status only supports offline/],
    ["DELETE", "/api/proxies?status=online", /^query\.status: status only supports offline/],
    ["DELETE", "/api/clients/zzz", /^param\.id: expected a run id/],
    ["GET", "/api/clients/12345", /^param\.id: expected a run id/],
    ["GET", "/api/clients?status=sleeping", /^query\.status: /],
  ];
  for (const [method, path, reason] of cases) {
    const res = await admin(s.webPort, path, { method });
    assertEquals(res.status, 400, `${method} ${path}`);
    assertEquals(res.body.code, 400);
    assertMatch(res.body.msg, reason);
  }
  const missing = await admin(s.webPort, "/api/nothing-here");
  assertEquals(missing.status, 404);
  assertEquals(missing.body, { code: 404, msg: "not found" });
  const unknown = await admin(s.webPort, "/api/clients/0123456789abcdef", { method: "DELETE" });
  assertEquals(unknown.status, 404);
  await s.server.waitFor(/DELETE \/api\/clients\/zzz: 400 param\.id/);
  // Still serving, API and tunnel alike.
  assertEquals((await admin(s.webPort, "/api/serverinfo")).body.clientCounts, 1);
  const reply = await roundTrip(s.remotePort, new TextEncoder().encode("still here"));
  assertEquals(new TextDecoder().decode(reply), "still here");
});

Deno.test("admin API: DELETE /api/clients/:id kicks the client, which logs in again; offline entries clear", async () => {
  await using s = await setup();
  const kick = await admin(s.webPort, `/api/clients/${s.runId}`, { method: "DELETE" });
  assertEquals(kick.status, 200);
  assertEquals(kick.body, { code: 200, msg: "success" });
  await s.server.waitFor(/disconnected: disconnected by the admin API/);
  await s.client.waitFor(/connection to server lost[^\n]*reconnecting/);
  await s.client.waitFor(/login to server success[\s\S]*login to server success/);
  await s.client.waitFor(/start proxy success[\s\S]*start proxy success/);
  const back = await eventually(async () => {
    const list = (await admin(s.webPort, "/api/clients")).body;
    assertEquals(list.length, 1);
    assertEquals(list[0].online, true);
    assertEquals(list[0].proxies, ["alice.echo"]);
    return list[0];
  });
  assertEquals(back.runID, s.runId);
  assert(back.lastConnectedAt >= back.firstConnectedAt);

  // The client goes away for good: it and its proxy stay listed as offline until cleaned.
  await s.client.stop("SIGKILL");
  const gone = await eventually(async () => {
    const list = (await admin(s.webPort, "/api/clients?status=offline")).body;
    assertEquals(list.length, 1);
    return list[0];
  });
  assertEquals(gone.online, false);
  assert(gone.disconnectedAt > 0);
  const offline = await admin(s.webPort, `/api/clients/${s.runId}`, { method: "DELETE" });
  assertEquals(offline.status, 409);
  const proxy = (await admin(s.webPort, "/api/proxy/tcp/alice.echo")).body;
  assertEquals(proxy.status, "offline");
  assertMatch(proxy.lastCloseTime, /^\d\d-\d\d \d\d:\d\d:\d\d$/);
  assertEquals((await admin(s.webPort, "/api/serverinfo")).body.proxyTypeCount, {});
  const cleared = await admin(s.webPort, "/api/proxies?status=offline", { method: "DELETE" });
  assertEquals(cleared.body, { code: 200, msg: "success", cleared: 1 });
  assertEquals((await admin(s.webPort, "/api/proxy/tcp")).body, { proxies: [] });
  await s.server.waitFor(/cleared \[1\] offline proxies, total \[1\] proxies/);
});

Deno.test("admin API: no user means no auth; /metrics only with enablePrometheus", async () => {
  const webPort = freePort();
  await using server = await startServer(`auth.token = "t"\nwebServer.port = ${webPort}`);
  await server.waitFor(/dashboard listen on/);
  assertEquals((await admin(webPort, "/api/serverinfo", { auth: null })).status, 200);
  assertEquals((await admin(webPort, "/metrics", { auth: null })).status, 404);
  const page = await admin(webPort, "/", { auth: null });
  assertEquals(page.status, 200);
  assertMatch(page.headers.get("content-type") ?? "", /^text\/html/);
  assertMatch(page.text, /<title>dfrps dashboard<\/title>/);
  assert(!/not supported yet/.test(server.output), server.output);
});

Deno.test("admin API: a webServer port already taken fails the start with a clear error", async () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    await assertRejectsStart(`auth.token = "t"\nwebServer.port = ${taken.addr.port}`);
  } finally {
    taken.close();
  }
});

async function assertRejectsStart(config: string): Promise<void> {
  const proc = spawnDfrp("server.ts", ["-c", await tempFile(config, "frps.toml")]);
  const status = await proc.exited;
  assertEquals(status.success, false);
  assertMatch(proc.output, /webServer 127\.0\.0\.1:\d+: .*(in use|AddrInUse)/i);
}

Deno.test("admin traffic history: a day's traffic is the counters' growth since local midnight", () => {
  const history = new TrafficHistory();
  const stats = new ProxyStats("p", "tcp");
  const day = (d: number, h = 12) => new Date(2026, 0, d, h);
  stats.trafficIn = 100;
  assertEquals(history.days(stats, day(1)).trafficIn, [100, 0, 0, 0, 0, 0, 0]);
  stats.trafficIn = 150;
  history.rollAll([stats], day(1, 23));
  assertEquals(history.days(stats, day(2, 0)).trafficIn, [0, 150, 0, 0, 0, 0, 0]);
  stats.trafficIn = 180;
  stats.trafficOut = 7;
  assertEquals(history.days(stats, day(2, 18)).trafficIn, [30, 150, 0, 0, 0, 0, 0]);
  // Three days later, with nothing read in between: the quiet days read 0.
  const later = history.days(stats, day(5));
  assertEquals(later.trafficIn, [0, 0, 0, 30, 150, 0, 0]);
  assertEquals(later.trafficOut, [0, 0, 0, 7, 0, 0, 0]);
  // A month on, only the last week is kept.
  assertEquals(history.days(stats, day(30)).trafficIn, [0, 0, 0, 0, 0, 0, 0]);
});
