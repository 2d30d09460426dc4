import { clientConf, tcpmuxProxy } from "./_config.ts";
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { proxiesStarted, startTunnel } from "./_tunnel.ts";
import { echoServer, freePort, startClient, startServer } from "./_harness.ts";
import { sshdAvailable, startSshd } from "./_sshd.ts";
import { BadRequestError, parseRequestHead } from "../lib/server/vhost/connect_request.ts";
import { credentialsMatch, parseBasicAuth } from "../lib/server/vhost/proxy_auth.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A TCP service that first says `tag\n`, then echoes: tells backends apart. */
function taggedEcho(tag: string) {
  return echoServer(`${tag}\n`);
}

/**
 * Sends `request` (and `after` in the same write) to `port`, half-closes,
 * and returns everything that comes back as text.
 */
async function exchange(port: number, request: string, after = ""): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const data = encoder.encode(request + after);
    let off = 0;
    while (off < data.length) off += await conn.write(data.subarray(off));
    await conn.closeWrite();
    let out = "";
    const buf = new Uint8Array(16 * 1024);
    for (let n; (n = await conn.read(buf)) !== null;) out += decoder.decode(buf.subarray(0, n));
    return out;
  } finally {
    conn.close();
  }
}

const connect = (host: string, headers = "") =>
  `CONNECT ${host} HTTP/1.1\r\nHost: ${host}\r\n${headers}\r\n`;
const basic = (user: string, password: string) =>
  `Proxy-Authorization: Basic ${btoa(`${user}:${password}`)}\r\n`;
const OK = "HTTP/1.1 200 Connection established\r\n\r\n";

/** The server's lines: token "t", the tcpmux port, subDomainHost "tunnel.test". */
function serverToml(muxPort: number, serverExtra: string): string {
  return `auth.token = "t"\ntcpmuxHTTPConnectPort = ${muxPort}\nsubDomainHost = "tunnel.test"\n${serverExtra}`;
}

async function setup(serverExtra = "") {
  const muxPort = freePort();
  const server = await startServer(serverToml(muxPort, serverExtra));
  await server.waitFor(/tcpmux httpconnect listen on/);
  return { server, muxPort };
}

/**
 * A server like {@linkcode setup}'s (with `serverExtra`) and a client with `proxies`, once the proxies
 * named in `names` started.
 */
async function withProxies(proxies: string, names: string[], serverExtra = "") {
  const muxPort = freePort();
  const tunnel = await startTunnel({
    server: serverToml(muxPort, serverExtra),
    token: "t",
    proxies,
    started: names,
  });
  await tunnel.server.waitFor(/tcpmux httpconnect listen on/);
  return Object.assign(tunnel, { muxPort });
}

function clientConfig(serverPort: number, proxies: string): string {
  return clientConf({ serverPort, token: "t", extra: proxies });
}

Deno.test("tcpmux: CONNECT picks the proxy by host and relays raw bytes", async () => {
  using one = taggedEcho("one");
  using two = taggedEcho("two");
  await using tunnel = await withProxies(
    tcpmuxProxy("one", one.port, `customDomains = ["one.example.com"]`) +
      tcpmuxProxy("two", two.port, `subdomain = "two"`),
    ["one", "two"],
  );
  const { server, muxPort } = tunnel;
  assertMatch(server.output, new RegExp(`tcpmux proxy listen at one\\.example\\.com:${muxPort}`));
  assertEquals(await exchange(muxPort, connect("one.example.com:22"), "ping"), `${OK}one\nping`);
  assertEquals(await exchange(muxPort, connect("TWO.tunnel.test:443"), "pong"), `${OK}two\npong`);
  // Bytes sent after the head in the same packet are not lost.
  const big = "x".repeat(5000);
  assertEquals(await exchange(muxPort, connect("one.example.com:1"), big), `${OK}one\n${big}`);
});

Deno.test("tcpmux: bad requests are answered and closed, and the server keeps serving", async () => {
  using one = taggedEcho("one");
  await using tunnel = await withProxies(
    tcpmuxProxy("one", one.port, `customDomains = ["one.example.com"]`),
    ["one"],
  );
  const { server, muxPort } = tunnel;
  assertMatch(await exchange(muxPort, connect("nobody.example.com:22")), /^HTTP\/1\.1 404 /);
  await server.waitFor(/no proxy for host \[nobody\.example\.com\]/);
  const get = await exchange(muxPort, "GET / HTTP/1.1\r\nHost: one.example.com\r\n\r\n");
  assertMatch(get, /^HTTP\/1\.1 405 .*\r\nAllow: CONNECT\r\n/s);
  assertMatch(await exchange(muxPort, "\x16\x03\x01garbage\r\n\r\n"), /^HTTP\/1\.1 400 /);
  assertMatch(await exchange(muxPort, `CONNECT ${"a".repeat(9000)}`), /^HTTP\/1\.1 400 /);
  assertEquals(await exchange(muxPort, ""), "");
  assertEquals(await exchange(muxPort, connect("one.example.com:22"), "ok"), `${OK}one\nok`);
});

Deno.test("tcpmux: httpUser/httpPassword demand Proxy-Authorization (407 otherwise)", async () => {
  using one = taggedEcho("one");
  const locked =
    `customDomains = ["locked.example.com"]\nhttpUser = "alice"\nhttpPassword = "s3cret"`;
  await using tunnel = await withProxies(tcpmuxProxy("locked", one.port, locked), ["locked"]);
  const { muxPort } = tunnel;
  const host = "locked.example.com:22";
  const none = await exchange(muxPort, connect(host), "x");
  assertMatch(none, /^HTTP\/1\.1 407 .*\r\nProxy-Authenticate: Basic realm="Restricted"\r\n/s);
  assert(!none.includes("one\n"), "refused request reached the backend");
  assertMatch(await exchange(muxPort, connect(host, basic("alice", "wrong"))), /^HTTP\/1\.1 407 /);
  assertMatch(await exchange(muxPort, connect(host, basic("bob", "s3cret"))), /^HTTP\/1\.1 407 /);
  assertEquals(
    await exchange(muxPort, connect(host, basic("alice", "s3cret")), "in"),
    `${OK}one\nin`,
  );
});

Deno.test("tcpmux: routeByHTTPUser routes one domain by the Proxy-Authorization user", async () => {
  using forAlice = taggedEcho("alice-backend");
  using forOthers = taggedEcho("default-backend");
  const shared = `customDomains = ["shared.example.com"]`;
  const aliceOnly = `${shared}\nrouteByHTTPUser = "alice"\nhttpUser = "alice"\nhttpPassword = "pw"`;
  await using tunnel = await withProxies(
    tcpmuxProxy("alice", forAlice.port, aliceOnly) +
      tcpmuxProxy("default", forOthers.port, shared),
    ["alice", "default"],
  );
  const { muxPort } = tunnel;
  const host = "shared.example.com:22";
  assertEquals(
    await exchange(muxPort, connect(host, basic("alice", "pw"))),
    `${OK}alice-backend\n`,
  );
  assertEquals(await exchange(muxPort, connect(host)), `${OK}default-backend\n`);
  assertEquals(
    await exchange(muxPort, connect(host, basic("carol", "x"))),
    `${OK}default-backend\n`,
  );
});

Deno.test("tcpmux: tcpmuxPassthrough hands the CONNECT request itself to the backend", async () => {
  using one = taggedEcho("one");
  await using tunnel = await withProxies(
    tcpmuxProxy("one", one.port, `customDomains = ["one.example.com"]`),
    ["one"],
    "tcpmuxPassthrough = true",
  );
  const { muxPort } = tunnel;
  const request = connect("one.example.com:22");
  // No 200 from dfrp: the backend got (and echoed) the request verbatim.
  assertEquals(await exchange(muxPort, request, "tail"), `one\n${request}tail`);
});

Deno.test({
  name: "tcpmux quick start: ssh via socat PROXY reaches the right one of two sshds",
  ignore: !sshdAvailable(),
  async fn() {
    await using sshdA = await startSshd();
    await using sshdB = await startSshd();
    await Deno.writeTextFile(`${sshdA.dir}/marker`, "this is machine-a\n");
    await Deno.writeTextFile(`${sshdB.dir}/marker`, "this is machine-b\n");
    const { server, muxPort } = await setup();
    await using _server = server;
    const machine = (name: string, port: number) =>
      clientConfig(
        server.port,
        tcpmuxProxy(name, port, `localIP = "127.0.0.1"\ncustomDomains = ["${name}.example.com"]`),
      );
    await using clientA = await startClient(machine("machine-a", sshdA.port));
    await using clientB = await startClient(machine("machine-b", sshdB.port));
    await proxiesStarted(clientA, ["machine-a"]);
    await proxiesStarted(clientB, ["machine-b"]);
    const ssh = async (sshd: typeof sshdA, host: string) => {
      const out = await new Deno.Command("ssh", {
        args: [
          ...sshd.sshOptions,
          "-o",
          `ProxyCommand socat - PROXY:127.0.0.1:%h:%p,proxyport=${muxPort}`,
          `root@${host}`,
          `cat ${sshd.dir}/marker`,
        ],
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert(out.success, `ssh to ${host} failed: ${decoder.decode(out.stderr)}`);
      return decoder.decode(out.stdout);
    };
    assertEquals(await ssh(sshdA, "machine-a.example.com"), "this is machine-a\n");
    assertEquals(await ssh(sshdB, "machine-b.example.com"), "this is machine-b\n");
  },
});

Deno.test("proxy auth: Basic credentials parse, and compare exactly", () => {
  assertEquals(parseBasicAuth(`Basic ${btoa("a:b:c")}`), { user: "a", password: "b:c" });
  assertEquals(parseBasicAuth(`basic   ${btoa("u:")}`), { user: "u", password: "" });
  assertEquals(parseBasicAuth("Bearer abc"), null);
  assertEquals(parseBasicAuth("Basic !!!"), null);
  assertEquals(parseBasicAuth(`Basic ${btoa("no-colon")}`), null);
  assertEquals(parseBasicAuth(undefined), null);
  assert(credentialsMatch("u", "p", { user: "u", password: "p" }));
  assert(!credentialsMatch("u", "p", { user: "u", password: "p2" }));
  assert(!credentialsMatch("u", "p", { user: "", password: "" }));
  assert(!credentialsMatch("u", "p", null));
});

Deno.test("request head: CONNECT parses; malformed heads are refused", () => {
  const parse = (s: string) => {
    const bytes = encoder.encode(s);
    return parseRequestHead(bytes, bytes.length);
  };
  const req = parse("CONNECT a.example.com:22 HTTP/1.1\r\nProxy-Authorization: Basic eA==\r\n\r\n");
  assertEquals([req.method, req.target, req.version], ["CONNECT", "a.example.com:22", "HTTP/1.1"]);
  assertEquals(req.headers.get("proxy-authorization"), "Basic eA==");
  for (
    const bad of [
      "CONNECT a:1\r\n\r\n",
      "CONNECT a:1 HTTP/2\r\n\r\n",
      "C@ a:1 HTTP/1.1\r\n\r\n",
      "CONNECT a:1 HTTP/1.1\r\nno colon\r\n\r\n",
    ]
  ) {
    let threw = false;
    try {
      parse(bad);
    } catch (err) {
      threw = err instanceof BadRequestError;
    }
    assert(threw, `accepted ${JSON.stringify(bad)}`);
  }
});

Deno.test("tcpmux: a load-balancing group of two takes turns", async () => {
  using one = taggedEcho("member-1");
  using two = taggedEcho("member-2");
  const { server, muxPort } = await setup();
  await using _server = server;
  const member = (name: string, port: number) =>
    clientConfig(
      server.port,
      tcpmuxProxy(
        name,
        port,
        `customDomains = ["lb.example.com"]\nloadBalancer.group = "g"\nloadBalancer.groupKey = "k"`,
      ),
    );
  await using c1 = await startClient(member("lb-1", one.port));
  await proxiesStarted(c1, ["lb-1"]);
  await using c2 = await startClient(member("lb-2", two.port));
  await proxiesStarted(c2, ["lb-2"]);
  const seen: string[] = [];
  for (let i = 0; i < 4; i++) {
    seen.push((await exchange(muxPort, connect("lb.example.com:22"))).slice(OK.length).trim());
  }
  assertEquals(seen.filter((s) => s === "member-1").length, 2, seen.join(","));
  assertEquals(seen.filter((s) => s === "member-2").length, 2, seen.join(","));
  // Withdrawing one member leaves the other serving every request.
  await c1.stop();
  await server.waitFor(/\[lb-1\] proxy closed|disconnected/);
  for (let i = 0; i < 2; i++) {
    assertEquals(await exchange(muxPort, connect("lb.example.com:22")), `${OK}member-2\n`);
  }
});
