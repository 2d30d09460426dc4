/**
 * Tenants fenced from each other: two `[[auth.users]]` (alice, bob) on one
 * server, real dfrps/dfrpc processes. Each test plays an attack of bob's
 * against alice and checks she keeps what is hers.
 */

import { tcpProxy } from "./_config.ts";
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import {
  echoServer,
  eventually,
  freePort,
  roundTrip,
  startClient,
  startServer,
} from "./_harness.ts";
import { dialServer } from "../lib/client/login.ts";
import { parseClientConfig } from "../lib/config/load.ts";
import { MuxSession } from "../lib/mux/mod.ts";
import { prove, randomHex } from "../lib/protocol/auth.ts";
import { expectMessage } from "../lib/protocol/codec.ts";
import { ControlChannel } from "../lib/protocol/control_channel.ts";
import { PROTOCOL_VERSION } from "../lib/protocol/messages.ts";
import { proveResume, resumeKey } from "../lib/protocol/resume.ts";
import { RunIds } from "../lib/server/auth/run_ids.ts";
import { loginRefusal } from "./_wire.ts";
import { type EchoProxy, startEchoProxy } from "./_echo_proxy.ts";

const USERS = `
[[auth.users]]
user = "alice"
token = "alice-token"
[[auth.users]]
user = "bob"
token = "bob-token"
`;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function clientToml(port: number, user: string, extra = ""): string {
  return `serverAddr = "127.0.0.1"\nserverPort = ${port}\nuser = "${user}"\n` +
    `auth.token = "${user}-token"\ntransport.heartbeatInterval = 1\n${extra}`;
}

/** Alice's client (as {@linkcode clientToml}) with one tcp proxy "echo" to an echo service. */
function aliceEchoProxy(serverPort: number, extra = ""): Promise<EchoProxy> {
  return startEchoProxy(serverPort, "alice-token", {
    clientExtra: `user = "alice"\ntransport.heartbeatInterval = 1\n${extra}`,
  });
}

/** An open TCP connection through a proxy: write, read the echo. */
async function openEcho(port: number) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const buf = new Uint8Array(1024);
  return {
    async ping(text: string): Promise<string> {
      await conn.write(encoder.encode(text));
      let got = "";
      while (got.length < text.length) {
        const n = await conn.read(buf);
        if (n === null) throw new Error(`connection closed after "${got}"`);
        got += decoder.decode(buf.subarray(0, n));
      }
      return got;
    },
    close: () => conn.close(),
  };
}

/**
 * Logs in as `user` with its own token, presenting `runId` (an attacker's
 * hand-made login, written with the wire functions), and opens the control
 * stream. Resolves to the run id the server answered and a way to hang up.
 */
async function loginPresenting(serverPort: number, user: string, runId: string) {
  const { config } = parseClientConfig(clientToml(serverPort, user), "frpc.toml");
  const conn = await dialServer(config);
  const clientNonce = randomHex(32);
  await new ControlChannel(conn).send({
    type: "Login",
    version: PROTOCOL_VERSION,
    software: "attacker",
    hostname: "bob-laptop",
    os: "linux",
    arch: "x86_64",
    user,
    runId,
    poolCount: 0,
    tcpMux: true,
    clientNonce,
    proof: await prove(`${user}-token`, ["login", conn.hello.nonce, clientNonce, user, "true"]),
  });
  const resp = await expectMessage(conn, "LoginResp");
  assertEquals(resp.error, "");
  const mux = new MuxSession(conn, { client: true });
  mux.open(); // the control stream: the session is fully up
  return { runId: resp.runId, close: () => mux.close("done") };
}

Deno.test("run ids: bob presenting alice's run id gets a fresh one; her connections live on", async () => {
  await using server = await startServer(USERS);
  await using proxy = await aliceEchoProxy(server.port);
  const { client: alice, remotePort } = proxy;
  const aliceRunId = (await alice.waitFor(/get run id \[([0-9a-f]{16})\]/))[1];
  const user = await openEcho(remotePort);
  try {
    assertEquals(await user.ping("before"), "before");
    for (let i = 0; i < 4; i++) {
      const bob = await loginPresenting(server.port, "bob", aliceRunId);
      assert(bob.runId !== aliceRunId, "the run id was handed over");
      // Her user connection still flows, over the same session.
      assertEquals(await user.ping(`after attack ${i}`), `after attack ${i}`);
      bob.close();
    }
    await server.waitFor(
      /presented run id \[[0-9a-f]{16}\], not resumed \(it belongs to another user\)/,
    );
    // Another of alice's own clients without the resume proof does not take it either.
    const twin = await loginPresenting(server.port, "alice", aliceRunId);
    assert(twin.runId !== aliceRunId, "the run id was handed over");
    assertEquals(await user.ping("after twin"), "after twin");
    twin.close();
    await server.waitFor(/not resumed \(no valid resume proof\)/);
    assert(!/connection to server lost/.test(alice.output), alice.output);
  } finally {
    user.close();
  }
});

/**
 * A TCP relay whose `cut()` drops the client side of every connection but
 * leaves the server side open and unread: to the server the old session
 * still looks alive, as after a network drop.
 */
function cuttableRelay(target: number) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const pairs: Array<{ client: Deno.Conn; server: Deno.Conn; cut: boolean }> = [];
  (async () => {
    for await (const client of listener) {
      const server = await Deno.connect({ hostname: "127.0.0.1", port: target });
      const pair = { client, server, cut: false };
      pairs.push(pair);
      const pump = async (from: Deno.Conn, to: Deno.Conn) => {
        const buf = new Uint8Array(64 * 1024);
        try {
          for (let n; (n = await from.read(buf)) !== null && !pair.cut;) {
            let off = 0;
            while (off < n) off += await to.write(buf.subarray(off, n));
          }
        } catch {
          // One side went away.
        }
        if (!pair.cut) {
          for (const c of [from, to]) {
            try {
              c.close();
            } catch { /* closed */ }
          }
        }
      };
      pump(client, server);
      pump(server, client);
    }
  })().catch(() => {});
  return {
    port: listener.addr.port,
    cut() {
      for (const pair of pairs.splice(0)) {
        pair.cut = true;
        try {
          pair.client.close();
        } catch { /* closed */ }
      }
    },
    close() {
      listener.close();
      for (const pair of pairs) {
        for (const c of [pair.client, pair.server]) {
          try {
            c.close();
          } catch { /* closed */ }
        }
      }
    },
  };
}

for (const tcpMux of [true, false]) {
  Deno.test(`run ids (tcpMux ${tcpMux}): after a network drop the client resumes its run id and replaces its stale session`, async () => {
    await using server = await startServer(
      `transport.tcpMux = ${tcpMux}\ntransport.heartbeatTimeout = 120\n${USERS}`,
    );
    const relay = cuttableRelay(server.port);
    try {
      await using proxy = await aliceEchoProxy(
        relay.port,
        `transport.tcpMux = ${tcpMux}\ntransport.heartbeatTimeout = 3\ntransport.poolCount = 1`,
      );
      const { client: alice, remotePort } = proxy;
      const runId = (await alice.waitFor(/get run id \[([0-9a-f]{16})\]/))[1];
      relay.cut();
      await alice.waitFor(/connection to server lost/);
      // The same run id comes back, the stale session is replaced and frees the fixed port.
      await server.waitFor(new RegExp(`run id \\[${runId}\\] \\(resumed\\)`));
      await server.waitFor(/replaced by a new login of the same client/);
      const reply = await eventually(() => roundTrip(remotePort, encoder.encode("back")));
      assertEquals(decoder.decode(reply), "back");
      assertMatch(
        alice.output,
        new RegExp(`get run id \\[${runId}\\][^]*get run id \\[${runId}\\]`),
      );
    } finally {
      relay.close();
    }
  });
}

/** Which backend answers `port`: the greeting of the echo behind it. */
async function greeting(port: number): Promise<string> {
  const reply = decoder.decode(await roundTrip(port, encoder.encode("?")));
  return reply.slice(0, -1);
}

Deno.test("groups: bob cannot join alice's tcp group, with her groupKey or without any", async () => {
  using aliceEcho = echoServer("alice");
  using bobEcho = echoServer("bob");
  const [keyed, open, bobPort] = [freePort(), freePort(), freePort()];
  await using server = await startServer(`
[[auth.users]]
user = "alice"
token = "alice-token"
allowPorts = [{ single = ${keyed} }, { single = ${open} }]
[[auth.users]]
user = "bob"
token = "bob-token"
allowPorts = [{ single = ${bobPort} }]
`);
  const member = (name: string, port: number, group: string, key: string, remote: number) =>
    `[[proxies]]\nname = "${name}"\ntype = "tcp"\nlocalPort = ${port}\nremotePort = ${remote}\n` +
    `loadBalancer.group = "${group}"\n${key ? `loadBalancer.groupKey = "${key}"\n` : ""}`;
  await using alice = await startClient(clientToml(
    server.port,
    "alice",
    member("keyed", aliceEcho.port, "g", "k", keyed) +
      member("open", aliceEcho.port, "nokey", "", open),
  ));
  await alice.waitFor(/\[keyed\] start proxy success/);
  await alice.waitFor(/\[open\] start proxy success/);
  await using bob = await startClient(clientToml(
    server.port,
    "bob",
    member("steal", bobEcho.port, "g", "k", 0) + member("steal2", bobEcho.port, "nokey", "", 0),
  ));
  // Refused, with the reason in NewProxyResp.
  await bob.waitFor(/\[steal\] start error: group \[g\] belongs to another user/);
  await bob.waitFor(/\[steal2\] start error: group \[nokey\] belongs to another user/);
  for (let i = 0; i < 4; i++) {
    assertEquals(await greeting(keyed), "alice");
    assertEquals(await greeting(open), "alice");
  }
  // When alice leaves, her ports close: nobody inherits them.
  await alice.stop();
  await eventually(() => {
    Deno.listen({ hostname: "127.0.0.1", port: keyed }).close(); // throws while still bound
    return Promise.resolve();
  });
});

/** A plain HTTP/1.1 GET to 127.0.0.1:`port` with `Host: host`; resolves to the body. */
async function httpGet(port: number, host: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(
      encoder.encode(`GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`),
    );
    let text = "";
    const buf = new Uint8Array(4096);
    for (let n; (n = await conn.read(buf)) !== null;) text += decoder.decode(buf.subarray(0, n));
    return text.slice(text.indexOf("\r\n\r\n") + 4);
  } finally {
    conn.close();
  }
}

/** CONNECT through the tcpmux port to `host`; resolves to the backend's greeting. */
async function tcpmuxGreeting(port: number, host: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(encoder.encode(`CONNECT ${host}:22 HTTP/1.1\r\nHost: ${host}:22\r\n\r\n`));
    let text = "";
    const buf = new Uint8Array(4096);
    while (!/\r\n\r\n[a-z]+$/.test(text)) {
      const n = await conn.read(buf);
      if (n === null) break;
      text += decoder.decode(buf.subarray(0, n));
    }
    return text.slice(text.indexOf("\r\n\r\n") + 4);
  } finally {
    conn.close();
  }
}

Deno.test("groups: bob cannot join alice's http or tcpmux group on her domain", async () => {
  using aliceEcho = echoServer("alice");
  using bobEcho = echoServer("bob");
  const aliceWeb = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response("alice"),
  );
  const bobWeb = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response("bob"),
  );
  const [vhost, tcpmux] = [freePort(), freePort()];
  try {
    await using server = await startServer(
      `vhostHTTPPort = ${vhost}\ntcpmuxHTTPConnectPort = ${tcpmux}\n${USERS}`,
    );
    const proxies = (who: string, web: number, echo: number, key: string) => `
[[proxies]]
name = "${who}-site"
type = "http"
localPort = ${web}
customDomains = ["a.example.com"]
loadBalancer.group = "site"
loadBalancer.groupKey = "${key}"
[[proxies]]
name = "${who}-mux"
type = "tcpmux"
multiplexer = "httpconnect"
localPort = ${echo}
customDomains = ["m.example.com"]
loadBalancer.group = "mux"
`;
    await using alice = await startClient(
      clientToml(server.port, "alice", proxies("alice", aliceWeb.addr.port, aliceEcho.port, "k")),
    );
    await alice.waitFor(/\[alice-site\] start proxy success/);
    await alice.waitFor(/\[alice-mux\] start proxy success/);
    await using bob = await startClient(
      clientToml(server.port, "bob", proxies("bob", bobWeb.addr.port, bobEcho.port, "k")),
    );
    await bob.waitFor(/\[bob-site\] start error: group \[site\] belongs to another user/);
    await bob.waitFor(/\[bob-mux\] start error: group \[mux\] belongs to another user/);
    for (let i = 0; i < 4; i++) {
      assertEquals(await httpGet(vhost, "a.example.com"), "alice");
      assertEquals(await tcpmuxGreeting(tcpmux, "m.example.com"), "alice");
    }
  } finally {
    await aliceWeb.shutdown();
    await bobWeb.shutdown();
  }
});

Deno.test("proxy names: alice's and bob's `web` coexist as alice.web and bob.web; visitors name the owner", async () => {
  using aliceEcho = echoServer("alice");
  using bobEcho = echoServer("bob");
  const [aliceWeb, bobWeb, webPort] = [freePort(), freePort(), freePort()];
  const [toAlice, toOwn] = [freePort(), freePort()];
  await using server = await startServer(`webServer.port = ${webPort}\n${USERS}`);
  await server.waitFor(/dashboard listen on/);
  const proxies = (port: number, remote: number, secret: string) => `
${tcpProxy("web", port, remote)}[[proxies]]
name = "db"
type = "stcp"
localPort = ${port}
secretKey = "${secret}"
allowUsers = ["alice", "bob"]
`;
  await using alice = await startClient(
    clientToml(server.port, "alice", proxies(aliceEcho.port, aliceWeb, "alice-secret")),
  );
  await alice.waitFor(/\[web\] start proxy success/);
  await alice.waitFor(/\[db\] start proxy success/);
  await using bob = await startClient(clientToml(
    server.port,
    "bob",
    proxies(bobEcho.port, bobWeb, "bob-secret") + `
[[visitors]]
name = "to-alice"
type = "stcp"
serverUser = "alice"
serverName = "db"
secretKey = "alice-secret"
bindAddr = "127.0.0.1"
bindPort = ${toAlice}
[[visitors]]
name = "to-own"
type = "stcp"
serverName = "db"
secretKey = "bob-secret"
bindAddr = "127.0.0.1"
bindPort = ${toOwn}
`,
  ));
  // bob's `web` does not squat alice's name, nor hers his.
  await bob.waitFor(/\[web\] start proxy success/);
  await bob.waitFor(/\[db\] start proxy success/);
  assertEquals(await greeting(aliceWeb), "alice");
  assertEquals(await greeting(bobWeb), "bob");
  assertEquals(await eventually(() => greeting(toAlice)), "alice");
  assertEquals(await eventually(() => greeting(toOwn)), "bob");

  // The API knows them by `user.name` and shows the user.
  const api = async (path: string) => {
    const res = await fetch(`http://127.0.0.1:${webPort}${path}`);
    return { status: res.status, body: await res.json() };
  };
  for (const user of ["alice", "bob"]) {
    const one = await api(`/api/proxies/${user}.web`);
    assertEquals(one.status, 200);
    assertEquals(one.body.name, `${user}.web`);
    assertEquals(one.body.user, user);
  }
  const list = (await api("/api/proxy/tcp")).body.proxies as Array<{ name: string; user: string }>;
  assertEquals(list.map((p) => `${p.name}/${p.user}`), ["alice.web/alice", "bob.web/bob"]);
  assertEquals((await api("/api/proxies/web")).status, 404);
});

Deno.test("proxy names: a shared-token user inside a user's namespace (alice.x) is refused", async () => {
  await using server = await startServer(`auth.token = "shared"\n${USERS}`);
  const attempt = (user: string) =>
    loginRefusal(server.port, `user = "${user}"\nauth.token = "shared"\n`);
  // Its proxy "web" would be "alice.x.web", alice's own "x.web".
  assertMatch(await attempt("alice.x"), /unknown user \[alice\.x\]/);
  assertEquals(await attempt("carol"), "");
  assertEquals(await attempt("alicex"), "");
});

Deno.test("run ids: the decision table, and the oldest remembered ids are forgotten first", async () => {
  const runIds = new RunIds(2);
  const first = await runIds.assign({ runId: "", user: "alice", nonce: "n0" });
  assertEquals(first.resumed, false);
  await runIds.remember(first.runId, "alice", "alice-token", "c0", "n0");
  const key = await resumeKey("alice-token", "c0", "n0", first.runId);
  const proof = await proveResume(key, "n1", first.runId);
  const again = { runId: first.runId, user: "alice", nonce: "n1", resumeProof: proof };
  assertEquals(await runIds.assign(again), { runId: first.runId, resumed: true, refused: "" });
  // The proof is bound to its nonce, its run id and its user.
  assertEquals((await runIds.assign({ ...again, nonce: "n2" })).refused, "no valid resume proof");
  assertEquals(
    (await runIds.assign({ ...again, user: "bob" })).refused,
    "it belongs to another user",
  );
  assertEquals((await runIds.assign({ ...again, runId: "zz" })).refused, "not a run id");
  for (const id of ["0000000000000001", "0000000000000002"]) {
    await runIds.remember(id, "bob", "bob-token", "c", "n");
  }
  assertEquals((await runIds.assign(again)).refused, "unknown to this server");
});
