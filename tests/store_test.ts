import { assertEquals, assertMatch } from "./_assert.ts";
import { answer, startAdminClient, tcpProxy } from "./_client_admin.ts";
import {
  assertEchoesText,
  echoServer,
  eventually,
  freePort,
  spawnDfrp,
  startServer,
  tempFile,
} from "./_harness.ts";

const json = (body: unknown, method = "POST"): RequestInit => ({
  method,
  headers: { "content-type": "application/json" },
  body: typeof body === "string" ? body : JSON.stringify(body),
});

async function echoes(port: number, text: string): Promise<void> {
  await eventually(async () => {
    await assertEchoesText(port, text);
  });
}

Deno.test("store: 404 when store.path is not set", async () => {
  await using server = await startServer("");
  await using client = await startAdminClient(server.port, "");
  for (const [path, init] of [["/api/store/proxies", {}], ["/api/store/proxies/x", {}]] as const) {
    const res = await answer(client.api(path, init));
    assertEquals(res.status, 404);
    assertMatch(res.text, /store/);
  }
  const post = await answer(client.api("/api/store/proxies", json({ name: "a" })));
  assertEquals(post.status, 404);
});

Deno.test("store: create, read, update, delete; persisted; running alongside the file's proxies", async () => {
  using echo = echoServer();
  await using server = await startServer("");
  const storePath = `${await Deno.makeTempDir({ prefix: "dfrp-store-" })}/store.json`;
  const [filePort, p1, p2] = [freePort(), freePort(), freePort()];
  await using client = await startAdminClient(
    server.port,
    tcpProxy("file", echo.port, filePort),
    `store.path = "${storePath}"`,
  );
  await client.waitFor(/\[file\] start proxy success/);

  const body = { name: "s1", type: "tcp", tcp: { localPort: echo.port, remotePort: p1 } };
  const created = await client.api("/api/store/proxies", json(body));
  assertEquals(created.status, 200);
  assertEquals((await created.json()).tcp.remotePort, p1);
  await echoes(p1, "from the store");
  const onDisk = JSON.parse(await Deno.readTextFile(storePath));
  assertEquals(onDisk.proxies.map((p: { name: string }) => p.name), ["s1"]);

  const list = await (await client.api("/api/store/proxies")).json();
  assertEquals(list.proxies.map((p: { name: string }) => p.name), ["s1"]);
  assertEquals((await (await client.api("/api/store/proxies/s1")).json()).type, "tcp");
  assertEquals((await answer(client.api("/api/store/proxies/nope"))).status, 404);

  const status = await (await client.api("/api/status")).json();
  const byName = Object.fromEntries(
    status.tcp.map((p: { name: string; source?: string }) => [p.name, p.source]),
  );
  assertEquals(byName, { file: undefined, s1: "store" });

  // Conflicts: the same name again, or a name from the file.
  assertEquals((await answer(client.api("/api/store/proxies", json(body)))).status, 409);
  const clash = { ...body, name: "file" };
  assertEquals((await answer(client.api("/api/store/proxies", json(clash)))).status, 409);

  const updated = { ...body, tcp: { localPort: echo.port, remotePort: p2 } };
  assertEquals(
    (await answer(client.api("/api/store/proxies/s1", json(updated, "PUT")))).status,
    200,
  );
  await echoes(p2, "moved");
  assertEquals(
    (await answer(client.api("/api/store/proxies/zz", json({ ...updated, name: "zz" }, "PUT"))))
      .status,
    404,
  );

  assertEquals(
    (await answer(client.api("/api/store/proxies/s1", { method: "DELETE" }))).status,
    200,
  );
  assertEquals(
    (await answer(client.api("/api/store/proxies/s1", { method: "DELETE" }))).status,
    404,
  );
  assertEquals(JSON.parse(await Deno.readTextFile(storePath)).proxies, []);
  await echoes(filePort, "file proxy untouched");
});

Deno.test("store: bad bodies are refused with the reason and change nothing", async () => {
  using echo = echoServer();
  await using server = await startServer("");
  const storePath = `${await Deno.makeTempDir({ prefix: "dfrp-store-" })}/store.json`;
  await using client = await startAdminClient(server.port, "", `store.path = "${storePath}"`);
  const ok = { name: "s", type: "tcp", tcp: { localPort: echo.port, remotePort: freePort() } };
  const cases: Array<[string, RequestInit, RegExp]> = [
    [
      "/api/store/proxies",
      json({ name: "s", type: "tcp", udp: { localPort: 1 } }),
      /does not match/,
    ],
    ["/api/store/proxies", json({ name: "s", type: "tcp" }), /exactly one/],
    ["/api/store/proxies", json({ name: "s", type: "tcp", tcp: {}, udp: {} }), /exactly one/],
    ["/api/store/proxies", json({ name: "s", type: "ftp", ftp: {} }), /type must be one of/],
    ["/api/store/proxies", json({ name: "", type: "tcp", tcp: {} }), /name/],
    [
      "/api/store/proxies",
      json({ ...ok, tcp: { localPort: "22" } }),
      /localPort: expected integer/,
    ],
    ["/api/store/proxies", json({ ...ok, tcp: { localPort: 22, bogus: 1 } }), /bogus: unknown key/],
    ["/api/store/proxies", json({ ...ok, tcp: { localPort: 22, type: "udp" } }), /disagrees/],
    ["/api/store/proxies", json({ name: "h", type: "http", http: { localPort: 80 } }), /subdomain/],
    ["/api/store/proxies", json("{not json"), /JSON/i],
    ["/api/store/proxies", { method: "POST", body: JSON.stringify(ok) }, /Content-Type/],
    ["/api/store/proxies/other", json(ok, "PUT"), /must match/],
  ];
  for (const [path, init, reason] of cases) {
    const res = await answer(client.api(path, init));
    assertEquals(res.status, 400, `${init.body}: ${res.text}`);
    assertMatch(res.text, reason);
  }
  assertEquals((await (await client.api("/api/store/proxies")).json()).proxies, []);
  // Still serving after all that.
  assertEquals((await answer(client.api("/api/store/proxies", json(ok)))).status, 200);
});

Deno.test("store: proxies come back after a restart", async () => {
  using echo = echoServer();
  await using server = await startServer("");
  const storePath = `${await Deno.makeTempDir({ prefix: "dfrp-store-" })}/store.json`;
  const port = freePort();
  const adminPort = freePort();
  {
    await using client = await startAdminClient(
      server.port,
      "",
      `store.path = "${storePath}"`,
      adminPort,
    );
    const body = { name: "kept", type: "tcp", tcp: { localPort: echo.port, remotePort: port } };
    assertEquals((await answer(client.api("/api/store/proxies", json(body)))).status, 200);
    await echoes(port, "first run");
  }
  await using again = await startAdminClient(server.port, "", `store.path = "${storePath}"`);
  await again.waitFor(/\[kept\] start proxy success/);
  await echoes(port, "second run");
});

Deno.test("store: a broken store file stops the client with a clear error", async () => {
  await using server = await startServer("");
  const storePath = `${await Deno.makeTempDir({ prefix: "dfrp-store-" })}/store.json`;
  await Deno.writeTextFile(storePath, `{"proxies":[{"name":"x","type":"tcp","localPort":"no"}]}`);
  const config = await tempFile(
    `serverPort = ${server.port}\nwebServer.port = ${freePort()}\nstore.path = "${storePath}"\n`,
  );
  const client = spawnDfrp("client.ts", ["-c", config]);
  assertEquals((await client.exited).code, 1);
  assertMatch(client.output, /store\.json: proxies\[0\]: localPort: expected integer/);
});
