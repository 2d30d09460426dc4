import { clientConf, httpPluginTable, tcpProxy } from "./_config.ts";
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import {
  echoServer,
  eventually,
  freePort,
  roundTrip,
  startClient,
  startServer,
} from "./_harness.ts";

interface Call {
  op: string;
  query: { version: string | null; op: string | null };
  body: { version: string; op: string; content: Record<string, any> };
}

/** A plugin HTTP server on 127.0.0.1:0 that records calls and answers with `decide`. */
function pluginServer(
  decide: (op: string, content: Record<string, any>) => Record<string, unknown>,
): { addr: string; calls: Call[] } & AsyncDisposable {
  const calls: Call[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const url = new URL(req.url);
    const body = await req.json();
    calls.push({
      op: body.op,
      query: { version: url.searchParams.get("version"), op: url.searchParams.get("op") },
      body,
    });
    return Response.json(decide(body.op, body.content));
  });
  return {
    addr: `127.0.0.1:${server.addr.port}`,
    calls,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

const hello = new TextEncoder().encode("hello");

Deno.test("httpPlugins: Login, NewProxy, NewUserConn and CloseProxy can reject or change", async () => {
  using echo = echoServer();
  const [asked, moved] = [freePort(), freePort()];
  const guarded = freePort();
  await using plugin = pluginServer((op, content) => {
    if (op === "Login" && content.user === "mallory") {
      return { reject: true, reject_reason: "mallory is banned" };
    }
    // Plugins see the server's name of a user's proxy, `user.name`, as frp's do.
    if (op === "NewProxy" && content.proxy_name === "alice.forbidden") {
      return { reject: true, reject_reason: "no proxy may be called forbidden" };
    }
    if (op === "NewProxy" && content.proxy_name === "alice.moved") {
      return { reject: false, unchange: false, content: { ...content, remote_port: moved } };
    }
    if (op === "NewUserConn" && content.proxy_name === "alice.guarded") {
      return { reject: true, reject_reason: `no users from ${content.remote_addr}` };
    }
    return { reject: false, unchange: true };
  });
  await using server = await startServer(
    `auth.token = "t"\n` +
      httpPluginTable("gate", plugin.addr, "/handler", ["Login", "NewProxy", "NewUserConn"]) +
      httpPluginTable("audit", `http://${plugin.addr}`, "/audit", ["CloseProxy"]),
  );
  const banned = await startClient(
    `serverAddr = "127.0.0.1"\nserverPort = ${server.port}\nauth.token = "t"\nuser = "mallory"\n`,
    false,
  );
  assertEquals((await banned.exited).code, 1);
  assertMatch(banned.output, /mallory is banned/);

  const client = await startClient(
    clientConf({
      serverPort: server.port,
      token: "t",
      extra: `user = "alice"
metadatas.team = "blue"
${tcpProxy("moved", echo.port, asked)}${tcpProxy("forbidden", echo.port, 0)}${
        tcpProxy("guarded", echo.port, guarded)
      }`,
    }),
  );
  try {
    await client.waitFor(/\[forbidden\] start error: no proxy may be called forbidden/);
    await server.waitFor(new RegExp(`\\[alice\\.moved\\] tcp proxy listen at :${moved} success`));
    await client.waitFor(/\[guarded\] start proxy success/);
    assertEquals(new TextDecoder().decode(await roundTrip(moved, hello)), "hello");
    assertEquals((await roundTrip(guarded, hello)).length, 0);
    await server.waitFor(
      /\[alice\.guarded\] user connection from 127\.0\.0\.1:\d+ rejected: no users from 127\.0\.0\.1:\d+/,
    );
  } finally {
    await client.stop();
  }
  await eventually(() => {
    const closed = plugin.calls.filter((c) => c.op === "CloseProxy");
    assertEquals(closed.map((c) => c.body.content.proxy_name).sort(), [
      "alice.guarded",
      "alice.moved",
    ]);
    return Promise.resolve();
  });

  const logins = plugin.calls.filter((c) => c.op === "Login");
  assertEquals(logins.map((c) => c.body.content.user), ["mallory", "alice"]);
  const login = logins[1];
  assertEquals(login.body.version, "0.1.0");
  assertEquals(login.query, { version: "0.1.0", op: "Login" });
  assertMatch(String(login.body.content.client_address), /^127\.0\.0\.1:\d+$/);
  assertEquals(login.body.content.metas, { team: "blue" });
  const newProxy = plugin.calls.find((c) =>
    c.op === "NewProxy" && c.body.content.proxy_name === "alice.moved"
  )!;
  assertEquals(newProxy.body.content.proxy_type, "tcp");
  assertEquals(newProxy.body.content.remote_port, asked);
  assertEquals(newProxy.body.content.user.user, "alice");
  assertMatch(newProxy.body.content.user.run_id, /^[0-9a-f]{16}$/);
  const userConns = plugin.calls.filter((c) => c.op === "NewUserConn");
  assertEquals(userConns.map((c) => c.body.content.proxy_name).sort(), [
    "alice.guarded",
    "alice.moved",
  ]);
  assertEquals(userConns[0].body.content.proxy_type, "tcp");
});

Deno.test("httpPlugins: Ping and NewWorkConn (tcpMux off); an unreachable plugin refuses logins", async () => {
  using echo = echoServer();
  const remotePort = freePort();
  let rejectWork = false;
  await using plugin = pluginServer((op) => {
    if (op === "Ping") return { reject: true, reject_reason: "ping denied" };
    if (op === "NewWorkConn" && rejectWork) return { reject: true, reject_reason: "pool closed" };
    return { unchange: true };
  });
  await using server = await startServer(`
auth.token = "t"
transport.tcpMux = false
${httpPluginTable("hb", plugin.addr, "/", ["Ping", "NewWorkConn"])}`);
  await using client = await startClient(
    clientConf({
      serverPort: server.port,
      token: "t",
      extra: `transport.tcpMux = false
transport.heartbeatInterval = 1
transport.poolCount = 1
${tcpProxy("echo", echo.port, remotePort)}`,
    }),
  );
  await client.waitFor(/\[echo\] start proxy success/);
  await client.waitFor(/heartbeat answered with error: ping denied/);
  assertEquals(new TextDecoder().decode(await roundTrip(remotePort, hello)), "hello");
  assert(
    plugin.calls.some((c) =>
      c.op === "NewWorkConn" && /^[0-9a-f]{16}$/.test(c.body.content.run_id)
    ),
  );
  // The pool refills after each use. Wait for the refill after the round trip above (so it is
  // not the one rejected, or missed when it raced the switch), then use it up: its refill is
  // the work connection the plugin rejects.
  const workConns = () => plugin.calls.filter((c) => c.op === "NewWorkConn").length;
  await eventually(() => Promise.resolve(assert(workConns() >= 2, "the pool was not refilled")));
  rejectWork = true;
  assertEquals(new TextDecoder().decode(await roundTrip(remotePort, hello)), "hello");
  await server.waitFor(/dropped: work connection rejected: pool closed/, 15_000);

  // A plugin that cannot be reached refuses the operation rather than waving it through.
  const deadPort = freePort();
  await using strict = await startServer(
    `auth.token = "t"\n` + httpPluginTable("gone", `127.0.0.1:${deadPort}`, "/handler", ["Login"]),
  );
  const refused = await startClient(
    `serverAddr = "127.0.0.1"\nserverPort = ${strict.port}\nauth.token = "t"\n`,
    false,
  );
  assertEquals((await refused.exited).code, 1);
  assertMatch(refused.output, /send Login request to plugin error/);
  await strict.waitFor(/send Login request to plugin \[gone\] error/);
});
