import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { answer, startAdminClient, tcpProxy } from "./_client_admin.ts";
import {
  assertEchoesText,
  echoServer,
  eventually,
  freePort,
  spawnDfrp,
  startServer,
} from "./_harness.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Writes `text` on `conn` and reads back as many bytes (an echo). */
async function echoOnce(conn: Deno.Conn, text: string): Promise<string> {
  await conn.write(enc.encode(text));
  const buf = new Uint8Array(text.length);
  let got = 0;
  while (got < buf.length) {
    const n = await conn.read(buf.subarray(got));
    if (n === null) throw new Error(`connection closed after ${got} bytes`);
    got += n;
  }
  return dec.decode(buf);
}

async function refused(port: number): Promise<void> {
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    // The listener may linger for a moment; a closed tunnel answers EOF.
    const n = await conn.read(new Uint8Array(1)).finally(() => conn.close());
    if (n !== null) throw new Error(`port ${port} still answers`);
  } catch (err) {
    if (err instanceof Deno.errors.ConnectionRefused) return;
    throw err;
  }
}

Deno.test("reload: adds and removes proxies; a connection through an unchanged one stays up", async () => {
  using echo = echoServer();
  await using server = await startServer("");
  const [keepPort, gonePort, newPort] = [freePort(), freePort(), freePort()];
  await using client = await startAdminClient(
    server.port,
    tcpProxy("keep", echo.port, keepPort) + tcpProxy("gone", echo.port, gonePort),
  );
  await client.waitFor(/\[keep\] start proxy success/);
  await client.waitFor(/\[gone\] start proxy success/);

  const conn = await Deno.connect({ hostname: "127.0.0.1", port: keepPort });
  try {
    assertEquals(await echoOnce(conn, "before reload"), "before reload");

    await Deno.writeTextFile(
      client.configPath,
      client.header + tcpProxy("keep", echo.port, keepPort) + tcpProxy("new", echo.port, newPort),
    );
    const res = await client.api("/api/reload");
    assertEquals(res.status, 200);
    assertEquals(await res.json(), { added: ["new"], removed: ["gone"], changed: [] });

    // The open connection through "keep" was not touched.
    assertEquals(await echoOnce(conn, "after reload"), "after reload");
    await eventually(async () => {
      await assertEchoesText(newPort, "new one");
    });
    await eventually(() => refused(gonePort));
    assertEquals(await echoOnce(conn, "still here"), "still here");
  } finally {
    conn.close();
  }
  assert(!/\[keep\] proxy removed/.test(client.output), client.output);
});

Deno.test("reload: a changed proxy is restarted and reported as changed", async () => {
  using echo = echoServer();
  using echo2 = echoServer();
  await using server = await startServer("");
  const port = freePort();
  await using client = await startAdminClient(server.port, tcpProxy("web", echo.port, port));
  await client.waitFor(/\[web\] start proxy success/);
  await Deno.writeTextFile(client.configPath, client.header + tcpProxy("web", echo2.port, port));
  const res = await client.api("/api/reload");
  assertEquals(await res.json(), { added: [], removed: [], changed: ["web"] });
  await eventually(async () => {
    await assertEchoesText(port, "x");
  });
});

Deno.test("reload: a broken file is refused with its errors and the running proxies stay", async () => {
  using echo = echoServer();
  await using server = await startServer("");
  const port = freePort();
  await using client = await startAdminClient(server.port, tcpProxy("web", echo.port, port));
  await client.waitFor(/\[web\] start proxy success/);
  const good = await Deno.readTextFile(client.configPath);

  await Deno.writeTextFile(
    client.configPath,
    good + `\n[[proxies]]\nname = "bad"\nlocalPort = 1\n`,
  );
  const missingType = await answer(client.api("/api/reload"));
  assertEquals(missingType.status, 400);
  assertMatch(missingType.text, /frpc\.toml:\d+: proxies\[1\]/);

  await Deno.writeTextFile(client.configPath, good + `\nthis is not = = toml`);
  const unparsable = await answer(client.api("/api/reload"));
  assertEquals(unparsable.status, 400);
  assertMatch(unparsable.text, /frpc\.toml/);

  // The CLI says the same and exits 1.
  const cli = spawnDfrp("client.ts", ["reload", "-c", client.configPath]);
  assertEquals((await cli.exited).code, 1);
  assertMatch(cli.output, /frpc\.toml/);

  await assertEchoesText(port, "alive");
  const status = await (await client.api("/api/status")).json();
  assertEquals(status.tcp.map((p: { name: string }) => p.name), ["web"]);
});

Deno.test("reload: strictConfig=true also refuses keys dfrp does not support yet", async () => {
  using echo = echoServer();
  await using server = await startServer("");
  await using client = await startAdminClient(server.port, tcpProxy("web", echo.port, freePort()));
  await Deno.writeTextFile(
    client.configPath,
    `dnsServer = "127.0.0.53"\n` + (await Deno.readTextFile(client.configPath)),
  );
  const strict = await answer(client.api("/api/reload?strictConfig=true"));
  assertEquals(strict.status, 400);
  assertMatch(strict.text, /dnsServer/);
  assertEquals((await answer(client.api("/api/reload?strictConfig=maybe"))).status, 400);
  const lax = await answer(client.api("/api/reload"));
  assertEquals(lax.status, 200);
});

Deno.test("reload: client.ts reload -c FILE applies the file", async () => {
  using echo = echoServer();
  await using server = await startServer("");
  const port = freePort();
  await using client = await startAdminClient(server.port, "");
  await Deno.writeTextFile(client.configPath, client.header + tcpProxy("late", echo.port, port));
  const cli = spawnDfrp("client.ts", ["reload", "-c", client.configPath]);
  assertEquals((await cli.exited).code, 0, cli.output);
  assertMatch(cli.output, /reload success/);
  await client.waitFor(/\[late\] start proxy success/);
  await assertEchoesText(port, "late");
});
