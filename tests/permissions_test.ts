/**
 * Least privilege: the server and the client run under exactly the flags in
 * `scripts/permissions.ts` (not `-A`) and carry tcp, udp and http proxies;
 * `deno.json`'s tasks and the README spell those same flags; and dropping any
 * one flag makes a process fail, so none is superfluous.
 */

import { clientConf, tcpProxy } from "./_config.ts";
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import {
  assertEchoesText,
  DfrpProcess,
  echoServer,
  freePort,
  roundTrip,
  spawnDeno,
  tempFile,
} from "./_harness.ts";
import { CLIENT_FLAGS, runLine, SERVER_FLAGS } from "../scripts/permissions.ts";
import { udpEcho } from "./_udp.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const enc = new TextEncoder();
const dec = new TextDecoder();

/** Spawns `deno run <flags> <entry> -c <config>` from the repository root. */
async function run(
  entry: string,
  flags: readonly string[],
  config: string,
): Promise<DfrpProcess> {
  const file = await tempFile(config, entry === "server.ts" ? "frps.toml" : "frpc.toml");
  return spawnDeno(["run", ...flags, "--quiet", `${ROOT}${entry}`, "-c", file], {
    name: `${entry} ${flags.join(" ")}`,
  });
}

/** An HTTP backend answering every request with its Host header. */
function httpBackend(): { port: number } & AsyncDisposable {
  const ac = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {} },
    (req) => new Response(`backend saw ${req.headers.get("host")}`),
  );
  return {
    port: server.addr.port,
    async [Symbol.asyncDispose]() {
      ac.abort();
      await server.finished;
    },
  };
}

/** Sends one datagram to 127.0.0.1:`port` and waits for the reply, resending while none comes. */
async function udpRoundTrip(port: number, text: string): Promise<string> {
  const sock = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  try {
    const reply = sock.receive();
    const to: Deno.NetAddr = { transport: "udp", hostname: "127.0.0.1", port };
    // UDP may drop the first datagram while the flow's work connection opens.
    let done = false;
    reply.finally(() => done = true).catch(() => {});
    for (let i = 0; i < 50 && !done; i++) {
      await sock.send(enc.encode(text), to);
      await Promise.race([reply, new Promise((r) => setTimeout(r, 200))]);
    }
    return dec.decode((await reply)[0]);
  } finally {
    sock.close();
  }
}

/** One HTTP/1.1 request with `host` to 127.0.0.1:`port`; returns the whole response. */
async function httpGet(port: number, host: string): Promise<string> {
  const request = `GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`;
  return dec.decode(await roundTrip(port, enc.encode(request)));
}

Deno.test("permissions: tcp, udp and http proxies run under exactly the flags in scripts/permissions.ts", async () => {
  using echo = echoServer();
  using udp = udpEcho();
  await using web = httpBackend();
  const bindPort = freePort();
  const vhostPort = freePort();
  await using server = await run(
    "server.ts",
    SERVER_FLAGS,
    `bindPort = ${bindPort}\nvhostHTTPPort = ${vhostPort}\nauth.token = "least"\n`,
  );
  await server.waitFor(/listen on \S+:\d+/);
  await using client = await run(
    "client.ts",
    CLIENT_FLAGS,
    clientConf({
      serverPort: bindPort,
      extra: `auth.token = "least{{ .Envs.DFRP_UNSET_VAR }}"

${tcpProxy("t", echo.port, 0)}
[[proxies]]
name = "u"
type = "udp"
localPort = ${udp.port}
remotePort = 0

[[proxies]]
name = "h"
type = "http"
localPort = ${web.port}
customDomains = ["app.example.com"]
`,
    }),
  );
  await client.waitFor(/login to server success/);
  const tcpPort = Number((await server.waitFor(/\[t\] tcp proxy listen at :(\d+) success/))[1]);
  const udpPort = Number((await server.waitFor(/\[u\] udp proxy listen at :(\d+) success/))[1]);
  for (const name of ["t", "u", "h"]) {
    await client.waitFor(new RegExp(`\\[${name}\\] start proxy success`));
  }
  await assertEchoesText(tcpPort, "tcp ok");
  assertEquals(await udpRoundTrip(udpPort, "udp ok"), "udp ok");
  const response = await httpGet(vhostPort, "app.example.com");
  assertMatch(response, /^HTTP\/1\.1 200/);
  assertMatch(response, /backend saw app\.example\.com/);
  assertEquals(/NotCapable|Requires \w+ access/.test(server.output + client.output), false);
});

Deno.test("permissions: deno.json's server and client tasks and the README's run lines use exactly these flags", async () => {
  const tasks = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`)).tasks;
  assertEquals(tasks.server, runLine(SERVER_FLAGS, "server.ts"));
  assertEquals(tasks.client, runLine(CLIENT_FLAGS, "client.ts"));
  const readme = await Deno.readTextFile(`${ROOT}README.md`);
  const runLines = readme.split("\n").filter((l) =>
    /deno(@\S+)? run .*(server|client)\.ts/.test(l)
  );
  assert(runLines.length >= 3, `README has ${runLines.length} run lines`);
  for (const line of runLines) {
    const entry = line.includes("server.ts") ? "server.ts" : "client.ts";
    const flags = entry === "server.ts" ? SERVER_FLAGS : CLIENT_FLAGS;
    // `npx -y deno@2.9.6 run ...` counts too: compare from "run" on.
    const expected = runLine(flags, entry).replace(/^deno /, " ");
    assert(line.includes(expected), `README line lacks the exact flags: ${line}`);
  }
});

/** A server and a client with its admin API and a proxy store; POSTs one tcp proxy to the store. */
async function storeOneProxy(clientFlags: readonly string[], localPort: number) {
  const server = await run("server.ts", SERVER_FLAGS, `bindPort = ${freePort()}`);
  const bindPort = Number((await server.waitFor(/listen on \S+:(\d+)/))[1]);
  const adminPort = freePort();
  const storePath = `${await Deno.makeTempDir({ prefix: "dfrp-store-" })}/store.json`;
  const client = await run(
    "client.ts",
    clientFlags,
    `serverAddr = "127.0.0.1"\nserverPort = ${bindPort}\n` +
      `webServer.port = ${adminPort}\nstore.path = "${storePath}"\n`,
  );
  await client.waitFor(/admin server listen on/);
  const remotePort = freePort();
  const res = await fetch(`http://127.0.0.1:${adminPort}/api/store/proxies`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: "s", type: "tcp", tcp: { localPort, remotePort } }),
  });
  return { server, client, storePath, remotePort, status: res.status, body: await res.text() };
}

Deno.test("permissions: the client writes its proxy store under its flags", async () => {
  using echo = echoServer();
  const stored = await storeOneProxy(CLIENT_FLAGS, echo.port);
  await using _server = stored.server;
  await using client = stored.client;
  assertEquals(stored.status, 200, stored.body);
  assertEquals(JSON.parse(await Deno.readTextFile(stored.storePath)).proxies[0].name, "s");
  await client.waitFor(/\[s\] start proxy success/);
  await assertEchoesText(stored.remotePort, "stored");
});

Deno.test("permissions: client.ts without --allow-write cannot write its proxy store", async () => {
  using echo = echoServer();
  const flags = CLIENT_FLAGS.filter((f) => f !== "--allow-write");
  const stored = await storeOneProxy(flags, echo.port);
  await using _server = stored.server;
  await using _client = stored.client;
  assert(stored.status >= 500, `store write answered ${stored.status}: ${stored.body}`);
  assertMatch(stored.body + stored.client.output, /NotCapable|Requires write access/);
});

// --unstable-net is not dropped here: deno.json turns it on for the
// repository; tests/bundle_test.ts runs udp from a folder without deno.json.
// The client's --allow-write is the store's, tested above (without a store a
// client only fails to remember the server's fingerprint); the server's makes
// its identity on first start.
for (const [entry, flags] of [["server.ts", SERVER_FLAGS], ["client.ts", CLIENT_FLAGS]] as const) {
  const tested = flags.filter((f) =>
    f !== "--unstable-net" && !(entry === "client.ts" && f === "--allow-write")
  );
  for (const dropped of tested) {
    Deno.test(`permissions: ${entry} without ${dropped} fails`, async () => {
      await using server = await run("server.ts", SERVER_FLAGS, `bindPort = ${freePort()}`);
      const bindPort = Number((await server.waitFor(/listen on \S+:(\d+)/))[1]);
      // Every environment read is optional (templates render a variable they
      // may not read as unset), so without --allow-env a config that takes its
      // port from the environment is what fails.
      const viaEnv = dropped === "--allow-env";
      const port = String(entry === "server.ts" ? freePort() : bindPort);
      Deno.env.set("DFRP_PERMISSIONS_PORT", port);
      const value = viaEnv ? "{{ .Envs.DFRP_PERMISSIONS_PORT }}" : port;
      const config = entry === "server.ts"
        ? `bindPort = ${value}`
        : `serverAddr = "127.0.0.1"\nserverPort = ${value}\nloginFailExit = true`;
      await using proc = await run(entry, flags.filter((f) => f !== dropped), config);
      const status = await proc.exited;
      assertEquals(status.success, false, `${entry} ran without ${dropped}:\n${proc.output}`);
      assertMatch(
        proc.output,
        viaEnv ? /parse error/ : /NotCapable|Requires \w+ access|permission/i,
      );
    });
  }
}
