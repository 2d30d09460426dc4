/**
 * frpc's `clientID` and `metadatas`, frps's `detailedErrorsToClient`: real
 * server.ts / client.ts processes, a real HTTP plugin server, the admin API.
 */

import { tcpProxy } from "./_config.ts";
import { startDashboardServer } from "./_dashboard.ts";
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import {
  assertEchoesText,
  echoServer,
  eventually,
  freePort,
  startClient,
  startServer,
} from "./_harness.ts";

/** A plugin HTTP server that records every call's content and allows everything. */
function recordingPlugin(): { addr: string; calls: Array<{ op: string; content: any }> } & {
  [Symbol.asyncDispose](): Promise<void>;
} {
  const calls: Array<{ op: string; content: any }> = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const body = await req.json();
    calls.push({ op: body.op, content: body.content });
    return Response.json({ reject: false, unchange: true });
  });
  return {
    addr: `127.0.0.1:${server.addr.port}`,
    calls,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

async function clients(webPort: number): Promise<any[]> {
  const res = await fetch(`http://127.0.0.1:${webPort}/api/clients`);
  assertEquals(res.status, 200);
  return await res.json();
}

Deno.test("clientID and metadatas reach the plugins and the admin API; a restart keeps one entry", async () => {
  await using plugin = recordingPlugin();
  using echo = echoServer();
  await using server = await startDashboardServer({
    extra: `[[httpPlugins]]
name = "audit"
addr = "${plugin.addr}"
path = "/handler"
ops = ["Login", "NewProxy", "NewUserConn"]
`,
  });
  const { webPort } = server;
  const remote = freePort();
  const config = `serverAddr = "127.0.0.1"
serverPort = ${server.port}
auth.token = "t"
user = "alice"
clientID = "laptop-1"
metadatas.team = "blue"
metadatas.env = "prod"

${tcpProxy("echo", echo.port, remote)}`;
  const first = await startClient(config);
  await first.waitFor(/\[echo\] start proxy success/);
  await assertEchoesText(remote, "hello");

  const metas = { team: "blue", env: "prod" };
  const login = plugin.calls.find((c) => c.op === "Login")!;
  assertEquals(login.content.client_id, "laptop-1");
  assertEquals(login.content.metas, metas);
  assertEquals(plugin.calls.find((c) => c.op === "NewProxy")!.content.user.metas, metas);
  await eventually(() => {
    const userConn = plugin.calls.find((c) => c.op === "NewUserConn");
    assertEquals(userConn?.content.user.metas, metas);
    return Promise.resolve();
  });

  let list = await clients(webPort);
  assertEquals(list.length, 1);
  assertEquals(list[0].clientID, "laptop-1");
  const firstRun = list[0].runID;
  assert(firstRun !== "laptop-1");
  const proxies = await (await fetch(`http://127.0.0.1:${webPort}/api/proxy/tcp`)).json();
  assertEquals(proxies.proxies[0].clientID, "laptop-1");
  const filtered = await fetch(`http://127.0.0.1:${webPort}/api/clients?clientId=laptop-1`);
  assertEquals((await filtered.json()).length, 1);

  // The client restarts (a new process, a new run id): still one client on the dashboard.
  await first.stop();
  await eventually(async () => assertEquals((await clients(webPort))[0].online, false));
  await using second = await startClient(config);
  await second.waitFor(/\[echo\] start proxy success/);
  list = await clients(webPort);
  assertEquals(list.map((c) => [c.clientID, c.online]), [["laptop-1", true]]);
  assert(list[0].runID !== firstRun);

  // Without a clientID each run is a client of its own (the old entry stays, offline).
  await using anon = await startClient(
    `serverAddr = "127.0.0.1"\nserverPort = ${server.port}\nauth.token = "t"\n`,
  );
  // Known to the server (registered once its control stream is open) before it goes.
  await eventually(async () => assertEquals((await clients(webPort)).length, 2));
  await anon.stop();
  await using anon2 = await startClient(
    `serverAddr = "127.0.0.1"\nserverPort = ${server.port}\nauth.token = "t"\n`,
  );
  await eventually(async () => {
    const all = await clients(webPort);
    assertEquals(all.length, 3);
    const anonymous = all.filter((c) => c.clientID !== "laptop-1");
    assertEquals(anonymous.map((c) => c.clientID === c.runID), [true, true]);
  });
  assert(anon2.output.includes("login to server success"));
});

Deno.test("detailedErrorsToClient = false sends summaries; the server log keeps the reason", async () => {
  const allowed = freePort();
  const denied = freePort();
  using echo = echoServer();
  for (const detailed of [false, true]) {
    await using server = await startServer(`
auth.token = "t"
detailedErrorsToClient = ${detailed}
allowPorts = [{ single = ${allowed} }]
`);
    const wrong = await startClient(
      `serverAddr = "127.0.0.1"\nserverPort = ${server.port}\nauth.token = "nope"\n`,
      false,
    );
    assertEquals((await wrong.exited).code, 1);
    await server.waitFor(/refused: authorization failed: token mismatch/);
    if (detailed) assertMatch(wrong.output, /login to the server failed: authorization failed/);
    else {
      assertMatch(wrong.output, /login to the server failed: login refused/);
      assert(!wrong.output.includes("token mismatch"), wrong.output);
    }

    await using client = await startClient(`serverAddr = "127.0.0.1"
serverPort = ${server.port}
auth.token = "t"
${tcpProxy("fenced", echo.port, denied)}`);
    const line = (await client.waitFor(/\[fenced\] start error: .*/))[0];
    if (detailed) assertMatch(line, new RegExp(`port ${denied} is not allowed`));
    else assertEquals(line, "[fenced] start error: new proxy [fenced] error");
    await server.waitFor(new RegExp(`port ${denied} is not allowed`));
  }
});
