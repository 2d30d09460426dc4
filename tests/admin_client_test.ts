import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { answer, startAdminClient, tcpProxy } from "./_client_admin.ts";
import { echoServer, freePort, spawnDfrp, startServer, tempFile } from "./_harness.ts";

Deno.test("admin client: healthz without auth, the API only with it", async () => {
  await using server = await startServer("");
  await using client = await startAdminClient(server.port, "");
  assertEquals((await answer(client.api("/healthz", { auth: false }))).status, 200);
  const denied = await client.api("/api/status", { auth: false });
  await denied.body?.cancel();
  assertEquals(denied.status, 401);
  assertMatch(denied.headers.get("www-authenticate") ?? "", /Basic/);
  const wrong = await answer(
    client.api("/api/status", {
      auth: false,
      headers: { authorization: `Basic ${btoa("admin:no")}` },
    }),
  );
  assertEquals(wrong.status, 401);
  assertEquals((await answer(client.api("/api/status"))).status, 200);
  assertEquals((await answer(client.api("/api/nothing"))).status, 404);
});

Deno.test("admin client: /api/status has frp's shape, grouped by type, sorted by name", async () => {
  using echo = echoServer();
  const port = freePort();
  await using server = await startServer(`allowPorts = [{ single = ${port} }]`);
  await using client = await startAdminClient(
    server.port,
    tcpProxy("zeta", echo.port, 1) + tcpProxy("alpha", echo.port, port) + `
[[proxies]]
name = "web"
type = "http"
localPort = ${echo.port}
customDomains = ["web.example"]
`,
  );
  await client.waitFor(/\[alpha\] start proxy success/);
  await client.waitFor(/\[zeta\] start error/);
  await client.waitFor(/\[web\] start error/); // no vhostHTTPPort on the server
  const status = await (await client.api("/api/status")).json();
  assertEquals(Object.keys(status).sort(), ["http", "tcp"]);
  assertEquals(status.tcp[0], {
    name: "alpha",
    type: "tcp",
    status: "running",
    err: "",
    local_addr: `127.0.0.1:${echo.port}`,
    plugin: "",
    remote_addr: `127.0.0.1:${port}`,
  });
  assertEquals(status.tcp[1].name, "zeta");
  assertEquals(status.tcp[1].status, "start error");
  assert(status.tcp[1].err !== "", "a refused proxy carries the server's reason");
  assertEquals(status.tcp[1].remote_addr, "");
  assertEquals(status.http[0].name, "web");

  const cli = spawnDfrp("client.ts", ["status", "-c", client.configPath]);
  assertEquals((await cli.exited).code, 0, cli.output);
  assertMatch(cli.output, /Proxy Status\.\.\./);
  assertMatch(cli.output, /^TCP$/m);
  assertMatch(cli.output, /^Name\s+Status\s+LocalAddr\s+Plugin\s+RemoteAddr\s+Error$/m);
  assertMatch(
    cli.output,
    new RegExp(`^alpha\\s+running\\s+127\\.0\\.0\\.1:${echo.port}\\s+127`, "m"),
  );
  assert(cli.output.indexOf("TCP") < cli.output.indexOf("HTTP"), "frpc's type order");
});

Deno.test("admin client: GET/PUT /api/config; a bad file is refused and the old one stays", async () => {
  await using server = await startServer("");
  await using client = await startAdminClient(server.port, "");
  const original = await Deno.readTextFile(client.configPath);
  const got = await answer(client.api("/api/config"));
  assertEquals(got, { status: 200, text: original });

  const bad = await answer(
    client.api("/api/config", { method: "PUT", body: 'serverPort = "x"\n' }),
  );
  assertEquals(bad.status, 400);
  assertMatch(bad.text, /frpc\.toml:1: serverPort: expected integer/);
  const empty = await answer(client.api("/api/config", { method: "PUT", body: "" }));
  assertEquals(empty.status, 400);
  assertEquals(await Deno.readTextFile(client.configPath), original);

  const next = original + `\n# edited through the API\n`;
  assertEquals(
    (await answer(client.api("/api/config", { method: "PUT", body: next }))).status,
    200,
  );
  assertEquals(await Deno.readTextFile(client.configPath), next);
  assertEquals((await answer(client.api("/api/config"))).text, next);
});

Deno.test("admin client: POST /api/stop and client.ts stop end the client", async () => {
  await using server = await startServer("");
  for (const how of ["api", "cli"]) {
    await using client = await startAdminClient(server.port, "");
    await client.waitFor(/login to server success/);
    if (how === "api") {
      assertEquals((await answer(client.api("/api/stop", { method: "POST" }))).status, 200);
    } else {
      const cli = spawnDfrp("client.ts", ["stop", "-c", client.configPath]);
      assertEquals((await cli.exited).code, 0, cli.output);
      assertMatch(cli.output, /stop success/);
    }
    assertEquals((await client.exited).code, 0);
    assertMatch(client.output, /shutting down/);
  }
});

Deno.test("admin client: /api/stop also ends a client still trying to reach its server", async () => {
  await using client = await startAdminClient(freePort(), "");
  await client.waitFor(/connect to server error/);
  assertEquals((await answer(client.api("/api/stop", { method: "POST" }))).status, 200);
  assertEquals((await client.exited).code, 0);
});

Deno.test("admin client: sub-commands explain what is missing", async () => {
  const noPort = await tempFile(`serverPort = 7000\n`);
  const cli = spawnDfrp("client.ts", ["status", "-c", noPort]);
  assertEquals((await cli.exited).code, 1);
  assertMatch(cli.output, /web server port should be set/);

  const nobody = await tempFile(`webServer.port = ${freePort()}\n`);
  const unreachable = spawnDfrp("client.ts", ["reload", "-c", nobody]);
  assertEquals((await unreachable.exited).code, 1);
  assertMatch(unreachable.output, /cannot reach the admin API/);

  await using server = await startServer("");
  await using client = await startAdminClient(server.port, "");
  const wrongPassword = await tempFile(
    (await Deno.readTextFile(client.configPath)).replace(/webServer\.password = .*/, ""),
  );
  const refused = spawnDfrp("client.ts", ["status", "-c", wrongPassword]);
  assertEquals((await refused.exited).code, 1);
  assertMatch(refused.output, /HTTP 401/);
});

Deno.test("admin client: the admin port in use stops the client with the reason", async () => {
  await using server = await startServer("");
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const config = await tempFile(
      `serverPort = ${server.port}\nwebServer.port = ${taken.addr.port}\n`,
    );
    const client = spawnDfrp("client.ts", ["-c", config]);
    assertEquals((await client.exited).code, 1);
    assertMatch(client.output, /cannot start the admin server/);
  } finally {
    taken.close();
  }
});
