import { clientConf, proxyTable, visitorTable } from "./_config.ts";
import { assertConcurrentEchoes } from "./_echo.ts";
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import {
  echoServer,
  freePort,
  randomBytes,
  roundTrip,
  sha256,
  startClient,
  startServer,
} from "./_harness.ts";
import { DfrpClient } from "../lib/client/client.ts";
import { parseClientConfig } from "../lib/config/load.ts";
import type { StcpVisitor } from "../lib/client/visitor/stcp.ts";
import { wrapTcp } from "../lib/net/tcp_conn.ts";
import { writeAll } from "../lib/net/duplex.ts";
import { expectMessage, writeMessage } from "../lib/protocol/codec.ts";
import { dialServer } from "../lib/client/login.ts";
import { loggedInMux } from "./_wire.ts";
import { visitorStream } from "./_visitor_wire.ts";

/** A TCP service that counts connections and bytes it receives, and echoes. */
function countingEcho(): { port: number; conns: number; bytes: number } & Disposable {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const state = { port: listener.addr.port, conns: 0, bytes: 0 };
  const open = new Set<Deno.Conn>();
  (async () => {
    for await (const conn of listener) {
      state.conns++;
      open.add(conn);
      (async () => {
        const buf = new Uint8Array(16 * 1024);
        try {
          for (let n; (n = await conn.read(buf)) !== null;) {
            state.bytes += n;
            await conn.write(buf.subarray(0, n));
          }
        } catch { /* peer gone */ }
        open.delete(conn);
        try {
          conn.close();
        } catch { /* closed */ }
      })();
    }
  })().catch(() => {});
  return Object.assign(state, {
    [Symbol.dispose]: () => {
      listener.close();
      for (const c of open) c.close();
    },
  });
}

/** The connection lines every stcp client here shares: token "t", its user, tcpMux. */
function stcpClient(serverPort: number, opts: { tcpMux?: boolean; user?: string }): string {
  return clientConf({
    serverPort,
    token: "t",
    extra: `user = "${opts.user ?? ""}"\ntransport.tcpMux = ${opts.tcpMux ?? true}`,
  });
}

function owner(serverPort: number, localPort: number, opts: {
  tcpMux?: boolean;
  user?: string;
  secretKey?: string;
  allowUsers?: string;
  name?: string;
} = {}): string {
  return stcpClient(serverPort, opts) + proxyTable(
    "stcp",
    opts.name ?? "secret-echo",
    localPort,
    `secretKey = "${opts.secretKey ?? "sk-123"}"
localIP = "127.0.0.1"
${opts.allowUsers ? `allowUsers = ${opts.allowUsers}` : ""}`,
  );
}

function visitor(serverPort: number, bindPort: number, opts: {
  tcpMux?: boolean;
  user?: string;
  serverUser?: string;
  secretKey?: string;
  serverName?: string;
} = {}): string {
  return stcpClient(serverPort, opts) + visitorTable({
    type: "stcp",
    name: "secret-echo-visitor",
    serverName: opts.serverName ?? "secret-echo",
    secretKey: opts.secretKey ?? "sk-123",
    bindPort,
    extra: `serverUser = "${opts.serverUser ?? ""}"\nbindAddr = "127.0.0.1"`,
  });
}

for (const tcpMux of [true, false]) {
  const mode = tcpMux ? "tcpMux on" : "tcpMux off";

  Deno.test(`stcp (${mode}): hash-checked echo through the visitor's bindPort`, async () => {
    using echo = echoServer();
    await using server = await startServer(`auth.token = "t"\ntransport.tcpMux = ${tcpMux}`);
    await using own = await startClient(owner(server.port, echo.port, { tcpMux }));
    await own.waitFor(/\[secret-echo\] start proxy success/);
    const bindPort = freePort();
    await using vis = await startClient(visitor(server.port, bindPort, { tcpMux }));
    await vis.waitFor(/\[secret-echo-visitor\] start stcp visitor success/);
    await assertConcurrentEchoes(bindPort, 20, 128 * 1024);
  });

  Deno.test(`stcp (${mode}): a wrong secret key is refused on both sides, nothing relayed`, async () => {
    using service = countingEcho();
    await using server = await startServer(`auth.token = "t"\ntransport.tcpMux = ${tcpMux}`);
    await using own = await startClient(owner(server.port, service.port, { tcpMux }));
    await own.waitFor(/\[secret-echo\] start proxy success/);
    const bindPort = freePort();
    await using vis = await startClient(
      visitor(server.port, bindPort, { tcpMux, secretKey: "guessed" }),
    );
    await vis.waitFor(/start stcp visitor success/);
    const reply = await roundTrip(bindPort, new TextEncoder().encode("let me in"));
    assertEquals(reply.length, 0);
    await own.waitFor(/\[secret-echo\] visitor from user \[\] .*refused: wrong secret key/);
    await vis.waitFor(
      /\[secret-echo-visitor\] visitor connection to \[secret-echo\] failed: wrong secret key/,
    );
    await server.waitFor(/\[secret-echo\] visitor from .* refused: wrong secret key/);
    assertEquals(service.conns, 0);
    assertEquals(service.bytes, 0);
    // The key never travels: neither log shows it.
    assert(!own.output.includes("sk-123") && !server.output.includes("sk-123"));
    assert(!server.output.includes("guessed"));
  });
}

Deno.test('stcp: allowUsers — another user is refused unless listed or "*"', async () => {
  using echo = echoServer();
  await using server = await startServer(`auth.token = "t"`);
  const hello = new TextEncoder().encode("hello from bob");
  const cases: Array<[string | undefined, boolean]> = [
    [undefined, false],
    [`["carol"]`, false],
    [`["carol", "bob"]`, true],
    [`["*"]`, true],
  ];
  for (const [i, [allowUsers, allowed]] of cases.entries()) {
    const name = `secret-echo-${i}`;
    await using own = await startClient(
      owner(server.port, echo.port, { user: "alice", allowUsers, name }),
    );
    await own.waitFor(/start proxy success/);
    const bindPort = freePort();
    await using vis = await startClient(
      visitor(server.port, bindPort, { user: "bob", serverUser: "alice", serverName: name }),
    );
    await vis.waitFor(/start stcp visitor success/);
    const reply = await roundTrip(bindPort, hello);
    if (allowed) {
      assertEquals(new TextDecoder().decode(reply), "hello from bob", `allowUsers ${allowUsers}`);
    } else {
      assertEquals(reply.length, 0, `allowUsers ${allowUsers}`);
      await vis.waitFor(/failed: user \[bob\] is not allowed to visit \[alice\.secret-echo-\d\]/);
    }
  }
  assertMatch(server.output, /user \[bob\] is not allowed to visit \[alice\.secret-echo-0\]/);
});

Deno.test("stcp: a visitor finds the proxy by serverUser; the wrong owner is not found", async () => {
  using echo = echoServer();
  await using server = await startServer(`auth.token = "t"`);
  await using own = await startClient(owner(server.port, echo.port, { user: "alice" }));
  await own.waitFor(/\[secret-echo\] start proxy success/);
  // Same user on both sides: serverUser may stay empty.
  const samePort = freePort();
  await using same = await startClient(visitor(server.port, samePort, { user: "alice" }));
  await same.waitFor(/start stcp visitor success/);
  const reply = await roundTrip(samePort, new TextEncoder().encode("same user"));
  assertEquals(new TextDecoder().decode(reply), "same user");
  // Bob without serverUser looks for bob.secret-echo, which does not exist.
  const bobPort = freePort();
  await using bob = await startClient(visitor(server.port, bobPort, { user: "bob" }));
  await bob.waitFor(/start stcp visitor success/);
  assertEquals((await roundTrip(bobPort, new TextEncoder().encode("x"))).length, 0);
  await bob.waitFor(/failed: no secret proxy \[bob\.secret-echo\] on this server/);
});

Deno.test("stcp: a negative bindPort takes no listener; handed-over connections are served", async () => {
  using echo = echoServer();
  await using server = await startServer(`auth.token = "t"`);
  await using own = await startClient(owner(server.port, echo.port));
  await own.waitFor(/\[secret-echo\] start proxy success/);
  const { config } = parseClientConfig(visitor(server.port, -1), "frpc.toml");
  const client = new DfrpClient(config);
  await client.start();
  try {
    assertEquals(client.visitors.status()[0].status, "running");
    assertEquals((client.visitors.get("secret-echo-visitor") as StcpVisitor).port, 0);
    assertEquals(client.visitors.handOver("no-such-visitor", null!), false);
    // A connected pair: one end goes to the visitor, the test talks on the other.
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const [mine, theirs] = await Promise.all([
      Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }),
      listener.accept(),
    ]);
    listener.close();
    assert(client.visitors.handOver("secret-echo-visitor", wrapTcp(theirs)));
    const payload = randomBytes(100_000);
    const writing = (async () => {
      for (let off = 0; off < payload.length;) off += await mine.write(payload.subarray(off));
      await mine.closeWrite();
    })();
    const got = new Uint8Array(payload.length);
    let off = 0;
    for (let n; off < got.length && (n = await mine.read(got.subarray(off))) !== null;) off += n;
    await writing;
    mine.close();
    assertEquals(await sha256(got), await sha256(payload));
  } finally {
    await client.close();
  }
});

Deno.test("stcp: bad visitor input is refused and logged; the server keeps serving", async () => {
  using echo = echoServer();
  await using server = await startServer(`auth.token = "t"`);
  await using own = await startClient(owner(server.port, echo.port));
  await own.waitFor(/\[secret-echo\] start proxy success/);
  const cfg = parseClientConfig(
    `serverAddr = "127.0.0.1"\nserverPort = ${server.port}\nauth.token = "t"`,
    "frpc.toml",
  ).config;
  // tcpMux on: a logged-in client opens visitor streams by hand.
  {
    await using client = await loggedInMux(server.port, "t");
    const { mux } = client;
    const garbage = mux.open();
    await expectMessage(garbage, "ServerHello");
    await writeAll(garbage, new Uint8Array([0, 0, 0, 3, 0x7b, 0x7d, 0x7d]));
    await server.waitFor(/visitor stream dropped: frame is not/);
    // A proof of the wrong shape is refused by the owner, not a crash.
    const odd = await visitorStream(mux, { proxyName: "secret-echo", proof: "not hex" });
    const resp = await expectMessage(odd, "NewVisitorConnResp");
    assertEquals(resp.error, "wrong secret key");
    const wrongType = await visitorStream(mux, {
      proxyName: "secret-echo",
      visitorType: "sudp",
      proof: "",
    });
    assertEquals(
      (await expectMessage(wrongType, "NewVisitorConnResp")).error,
      "proxy [secret-echo] is stcp, not sudp",
    );
  }
  // tcpMux off style: a visitor connection naming no logged-in client.
  const raw = await dialServer(cfg);
  try {
    await writeMessage(raw, {
      type: "NewVisitorConn",
      proxyName: "secret-echo",
      serverUser: "",
      visitorType: "stcp",
      proof: "",
      runId: "0123456789abcdef",
      authProof: "00",
    });
    assertEquals(
      (await expectMessage(raw, "NewVisitorConnResp")).error,
      "unknown client [0123456789abcdef]",
    );
  } finally {
    raw.close();
  }
  // Still serving: a real visitor gets through.
  const bindPort = freePort();
  await using vis = await startClient(visitor(server.port, bindPort));
  await vis.waitFor(/start stcp visitor success/);
  const reply = await roundTrip(bindPort, new TextEncoder().encode("still here"));
  assertEquals(new TextDecoder().decode(reply), "still here");
});
