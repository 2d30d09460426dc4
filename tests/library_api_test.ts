// Only the public API (mod.ts), as an embedding program would use it.
import { ConfigError, connect, serve, setLogLevel } from "../mod.ts";
import { assert, assertEquals, assertMatch } from "./_assert.ts";

setLogLevel("warn");

Deno.test("library: serve() and connect() expose a Deno.serve app in a few lines", async () => {
  const app = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (req) => new Response(`hello ${new URL(req.url).pathname}`),
  );
  const server = await serve({ bindPort: 0, bindAddr: "127.0.0.1", token: "lib" });
  const tunnel = await connect({
    serverAddr: "127.0.0.1",
    serverPort: server.port,
    token: "lib",
    proxies: [{ name: "app", type: "tcp", localPort: app.addr.port, remotePort: 0 }],
  });
  try {
    const [status] = tunnel.status();
    assertEquals(status.status, "running");
    const port = Number(status.remoteAddr.slice(1));
    const res = await fetch(`http://127.0.0.1:${port}/through-dfrp`);
    assertEquals(await res.text(), "hello /through-dfrp");

    // Add and remove proxies at run time.
    const added = await tunnel.addProxy({ name: "app2", type: "tcp", localPort: app.addr.port });
    const port2 = Number(added.remoteAddr.slice(1));
    assertEquals(await (await fetch(`http://127.0.0.1:${port2}/two`)).text(), "hello /two");
    assert(tunnel.removeProxy("app2"));
    assertEquals(tunnel.status().map((s) => s.name), ["app"]);
  } finally {
    await tunnel.close();
    await server.close();
    await app.shutdown();
  }
});

Deno.test("library: bad options throw ConfigError naming the key; a refused proxy rejects", async () => {
  let error: unknown;
  try {
    await connect({
      serverAddr: "127.0.0.1",
      proxies: [{ name: "x", type: "tcp", remotPort: 1 } as never],
    });
  } catch (err) {
    error = err;
  }
  assert(error instanceof ConfigError, `expected ConfigError, got ${error}`);
  assertMatch(
    String((error as Error).message),
    /proxies\[0\]\.remotPort: unknown key \(did you mean remotePort\?\)/,
  );

  const server = await serve({ bindPort: 0, bindAddr: "127.0.0.1", allowPorts: [{ single: 1 }] });
  const tunnel = await connect({ serverAddr: "127.0.0.1", serverPort: server.port });
  try {
    let refused = "";
    await tunnel.addProxy({ name: "nope", type: "tcp", localPort: 9, remotePort: 2 }).catch(
      (err) => {
        refused = (err as Error).message;
      },
    );
    assertMatch(refused, /port 2 is not allowed/);
    assertEquals(tunnel.status().find((s) => s.name === "nope")?.status, "start error");
  } finally {
    await tunnel.close();
    await server.close();
  }
});
