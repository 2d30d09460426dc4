/**
 * http_proxy and socks5 without credentials (frp's default) must not hand
 * the public port the client's own machine: loopback, link-local and own
 * addresses are refused (403 / SOCKS reply 2) after resolving names, unless
 * `allowDestinations` says otherwise; `denyDestinations` always wins.
 */

import { clientConf, proxyTable, serverConf } from "./_config.ts";
import { startTunnel } from "./_tunnel.ts";
import { curl } from "./_curl.ts";
import { assert, assertEquals, assertMatch, assertNotMatch } from "./_assert.ts";
import { freePort, startClient, startServer } from "./_harness.ts";

const TOKEN = "destinations-token-0123456789";

/** A server with its dashboard, and a client with its admin API and one plugin proxy. */
async function setup(plugin: string) {
  const webPort = freePort();
  const adminPort = freePort();
  const remotePort = freePort();
  const fwd = proxyTable(
    "tcp",
    "fwd",
    null,
    `remotePort = ${remotePort}\n[proxies.plugin]\n${plugin}`,
  );
  const tunnel = await startTunnel({
    server: serverConf({ token: TOKEN, webPort }),
    token: TOKEN,
    proxies: `webServer.port = ${adminPort}\n${fwd}`,
    started: ["fwd"],
  });
  return Object.assign(tunnel, { webPort, adminPort, remotePort });
}

/** A non-loopback address of this machine, if it has one. */
function ownAddress(): string | undefined {
  try {
    return Deno.networkInterfaces().find((i) =>
      i.family === "IPv4" && !i.address.startsWith("127.") && !i.address.startsWith("169.254.")
    )?.address;
  } catch {
    return undefined;
  }
}

/** A raw SOCKS5 CONNECT to `host:port` (by name); the reply code. */
async function socksConnect(proxyPort: number, host: string, port: number): Promise<number> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: proxyPort });
  try {
    await conn.write(Uint8Array.of(5, 1, 0));
    const method = new Uint8Array(2);
    assertEquals(await conn.read(method), 2);
    assertEquals(method[1], 0);
    const name = new TextEncoder().encode(host);
    await conn.write(Uint8Array.of(5, 1, 0, 3, name.length, ...name, port >> 8, port & 0xff));
    const reply = new Uint8Array(10);
    let got = 0;
    while (got < 2) {
      const n = await conn.read(reply.subarray(got));
      if (n === null) break;
      got += n;
    }
    assert(got >= 2, "no SOCKS reply");
    return reply[1];
  } finally {
    conn.close();
  }
}

Deno.test("plugin destinations: http_proxy without credentials refuses the client's own machine", async () => {
  await using t = await setup(`type = "http_proxy"`);
  const proxy = `http://127.0.0.1:${t.remotePort}`;

  // The client's admin API (its config holds the token), by IP and by a name.
  for (const host of ["127.0.0.1", "localhost", "127.0.0.2", "[::ffff:127.0.0.1]", "0.0.0.0"]) {
    const r = await curl("-x", proxy, `http://${host}:${t.adminPort}/api/config`);
    assertEquals(r.status, 403, `${host}: ${r.stderr}${r.body}`);
    assertMatch(r.body, /destination refused: .* (loopback|unspecified)/);
    assertNotMatch(r.body, new RegExp(TOKEN));
  }
  // A CONNECT to the server's dashboard on the same machine.
  const tunnel = await curl("-p", "-x", proxy, `http://localhost:${t.webPort}/api/serverinfo`);
  assertMatch(tunnel.stderr, /CONNECT tunnel failed, response 403/);
  // Cloud metadata lives on link-local.
  const meta = await curl("-x", proxy, "http://169.254.169.254/latest/meta-data/");
  assertEquals(meta.status, 403);
  assertMatch(meta.body, /link-local/);
  // The machine's own non-loopback address.
  const own = ownAddress();
  if (own) {
    const r = await curl("-x", proxy, `http://${own}:${t.adminPort}/api/config`);
    assertEquals(r.status, 403, r.body);
    assertMatch(r.body, /this machine's own address/);
  }
  await t.client.waitFor(/plugin http_proxy has no httpUser\/httpPassword: anyone who reaches/);
  await t.client.waitFor(
    /http_proxy: GET http:\/\/localhost:\d+: localhost \(127\.0\.0\.1\) is a loopback address/,
  );
});

Deno.test("plugin destinations: socks5 without credentials answers 'not allowed' (2) for loopback", async () => {
  await using t = await setup(`type = "socks5"`);
  assertEquals(await socksConnect(t.remotePort, "localhost", t.adminPort), 2);
  assertEquals(await socksConnect(t.remotePort, "127.0.0.1", t.webPort), 2);
  const r = await curl(
    "--socks5-hostname",
    `127.0.0.1:${t.remotePort}`,
    `http://localhost:${t.adminPort}/api/config`,
  );
  assertEquals(r.status, 0);
  await t.client.waitFor(/plugin socks5 has no username\/password/);
  await t.client.waitFor(
    /socks5 connect to localhost:\d+: localhost \(127\.0\.0\.1\) is a loopback address/,
  );
});

Deno.test("plugin destinations: allowDestinations opens a port, denyDestinations wins", async () => {
  await using t0 = await setup(`type = "socks5"`); // only for its ports' admin API and dashboard
  const web = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response("backend"),
  );
  try {
    await using t = await setup(`type = "http_proxy"
allowDestinations = ["127.0.0.1:${web.addr.port}", "127.0.0.0/8"]
denyDestinations = ["127.0.0.1:${t0.adminPort}"]`);
    const proxy = `http://127.0.0.1:${t.remotePort}`;
    const ok = await curl("-x", proxy, `http://localhost:${web.addr.port}/`);
    assertEquals(ok.status, 200, ok.stderr);
    assertEquals(ok.body, "backend");
    const denied = await curl("-x", proxy, `http://127.0.0.1:${t0.adminPort}/api/config`);
    assertEquals(denied.status, 403);
    assertMatch(denied.body, /in denyDestinations/);

    await using s = await setup(`type = "socks5"
allowDestinations = ["localhost:${web.addr.port}"]`);
    assertEquals(await socksConnect(s.remotePort, "localhost", web.addr.port), 0);
    assertEquals(await socksConnect(s.remotePort, "localhost", t0.adminPort), 2);
  } finally {
    await web.shutdown();
  }
});

Deno.test("plugin destinations: a bad entry stops the proxy with the option's name", async () => {
  await using server = await startServer(`auth.token = "t"`);
  const socks = `remotePort = ${freePort()}
plugin.type = "socks5"
plugin.allowDestinations = ["10.0.0.0/99"]`;
  await using client = await startClient(
    clientConf({
      serverPort: server.port,
      token: "t",
      extra: proxyTable("tcp", "fwd", null, socks),
    }),
  );
  await client.waitFor(/allowDestinations\[0\]: "10\.0\.0\.0\/99" is not a CIDR/);
});
