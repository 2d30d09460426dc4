import { tcpProxy } from "./_config.ts";
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import {
  assertEchoesText,
  DfrpProcess,
  echoServer,
  freePort,
  roundTrip,
  spawnDfrp,
  startClient,
  startServer,
  tempFile,
} from "./_harness.ts";
import { loginRefusal } from "./_wire.ts";
import { domainAllowed } from "../lib/server/auth/admission.ts";
import { FailedLogins } from "../lib/server/auth/rate_limit.ts";

const ROOT = new URL("../", import.meta.url).pathname;

function clientToml(port: number, extra: string): string {
  return `serverAddr = "127.0.0.1"\nserverPort = ${port}\n${extra}`;
}

/** Logs in from this process (the real client code); resolves to "" or the refusal. */
function tryLogin(port: number, user: string, token: string): Promise<string> {
  return loginRefusal(port, `user = "${user}"\nauth.token = "${token}"`);
}

Deno.test("tokenSource: both sides read the token from a file, trimmed", async () => {
  using echo = echoServer();
  const tokenFile = await tempFile("  from-a-file\n", "token");
  await using server = await startServer(
    `auth.tokenSource.type = "file"\nauth.tokenSource.file.path = "${tokenFile}"`,
  );
  const remotePort = freePort();
  await using client = await startClient(clientToml(
    server.port,
    `auth.tokenSource.type = "file"
auth.tokenSource.file.path = "${tokenFile}"
${tcpProxy("echo", echo.port, remotePort)}`,
  ));
  await client.waitFor(/\[echo\] start proxy success/);
  await assertEchoesText(remotePort, "hello");
  // The file's token is the token: a client with another one is refused.
  assertMatch(await tryLogin(server.port, "", "guess"), /token mismatch/);
  assertEquals(await tryLogin(server.port, "", "from-a-file"), "");
});

Deno.test("tokenSource: a missing file stops either side with exit code 1 and a clear error", async () => {
  const missing = `/tmp/dfrp-no-such-token-${crypto.randomUUID()}`;
  const source = `auth.tokenSource.type = "file"\nauth.tokenSource.file.path = "${missing}"\n`;
  const server = spawnDfrp("server.ts", [
    "-c",
    await tempFile(`bindPort = ${freePort()}\n${source}`),
  ]);
  assertEquals((await server.exited).code, 1);
  assertMatch(server.output, /auth\.tokenSource: failed to read file .*no-such-token/);
  const client = spawnDfrp("client.ts", ["-c", await tempFile(clientToml(freePort(), source))]);
  assertEquals((await client.exited).code, 1);
  assertMatch(client.output, /auth\.tokenSource: failed to read file .*no-such-token/);
});

Deno.test("auth.users: each user proves its own token; others are refused with a reason", async () => {
  await using server = await startServer(`
[[auth.users]]
user = "alice"
token = "alice-token"
[[auth.users]]
user = "bob"
token = "bob-token"
`);
  assertEquals(await tryLogin(server.port, "alice", "alice-token"), "");
  assertEquals(await tryLogin(server.port, "bob", "bob-token"), "");
  assertMatch(await tryLogin(server.port, "alice", "bob-token"), /token mismatch/);
  // No shared auth.token: a user without an entry cannot get in at all.
  assertMatch(await tryLogin(server.port, "mallory", ""), /unknown user \[mallory\]/);
  await server.waitFor(/login from 127\.0\.0\.1:\d+ refused: authorization failed: unknown user/);
});

Deno.test("auth.users: allowPorts, allowDomains and maxProxies bound what a client may claim", async () => {
  using echo = echoServer();
  const vhost = freePort();
  const [inRange, outOfRange] = [freePort(), freePort()];
  await using server = await startServer(`
vhostHTTPPort = ${vhost}
subDomainHost = "alice.example.com"
[[auth.users]]
user = "alice"
token = "a"
allowPorts = [{ single = ${inRange} }]
allowDomains = ["*.alice.example.com", "alice.example.org"]
maxProxies = 3
`);
  await using client = await startClient(clientToml(
    server.port,
    `user = "alice"
auth.token = "a"
${tcpProxy("in-range", echo.port, inRange)}${
      tcpProxy("out-of-range", echo.port, outOfRange)
    }[[proxies]]
name = "web-ok"
type = "http"
localPort = ${echo.port}
subdomain = "www"
[[proxies]]
name = "web-wild"
type = "http"
localPort = ${echo.port}
customDomains = ["*.shop.alice.example.com", "alice.example.org"]
[[proxies]]
name = "web-bad"
type = "http"
localPort = ${echo.port}
customDomains = ["bob.example.com"]
[[proxies]]
name = "one-too-many"
type = "http"
localPort = ${echo.port}
customDomains = ["more.alice.example.com"]
`,
  ));
  await client.waitFor(/\[in-range\] start proxy success/);
  await client.waitFor(
    new RegExp(
      `\\[out-of-range\\] start error: port ${outOfRange} is not allowed for user \\[alice\\] \\(allowPorts\\)`,
    ),
  );
  await client.waitFor(
    /\[web-bad\] start error: domain bob\.example\.com is not allowed for user \[alice\] \(allowDomains\)/,
  );
  await client.waitFor(/\[web-ok\] start proxy success/);
  await client.waitFor(/\[web-wild\] start proxy success/);
  await client.waitFor(
    /\[one-too-many\] start error: user \[alice\] may run at most 3 proxies \(maxProxies\)/,
  );
  await server.waitFor(
    /\[alice\.web-bad\] proxy refused for user \[alice\]: domain bob\.example\.com/,
  );
  await assertEchoesText(inRange, "hello");
});

Deno.test("auth.users: remotePort = 0 picks a port inside the user's allowPorts", async () => {
  using echo = echoServer();
  const only = freePort();
  await using server = await startServer(`
[[auth.users]]
user = "carol"
token = "c"
allowPorts = [{ single = ${only} }]
`);
  await using client = await startClient(clientToml(
    server.port,
    `user = "carol"
auth.token = "c"
${tcpProxy("any", echo.port, 0)}`,
  ));
  await client.waitFor(/\[any\] start proxy success/);
  await server.waitFor(new RegExp(`\\[carol\\.any\\] tcp proxy listen at :${only} success`));
  await assertEchoesText(only, "hello");
});

Deno.test("auth.users: bandwidthLimit paces each of the user's proxies on the server", async () => {
  using echo = echoServer();
  const remotePort = freePort();
  await using server = await startServer(`
[[auth.users]]
user = "dave"
token = "d"
bandwidthLimit = "64KB"
`);
  await using client = await startClient(clientToml(
    server.port,
    `user = "dave"
auth.token = "d"
${tcpProxy("slow", echo.port, remotePort)}`,
  ));
  await client.waitFor(/\[slow\] start proxy success/);
  const payload = new Uint8Array(192 * 1024);
  const started = performance.now();
  const reply = await roundTrip(remotePort, payload);
  const seconds = (performance.now() - started) / 1000;
  assertEquals(reply.length, payload.length);
  console.log(`192 KiB echoed through a 64KB/s user limit in ${seconds.toFixed(2)} s`);
  // A lower bound only: the limit can make it slower, never faster (64 KiB burst allowed).
  assert(seconds >= 1.5, `the limit did not apply (${seconds} s)`);
});

Deno.test("failed logins: after 5 in a minute the address cools down, but the right token still gets in", async () => {
  await using server = await startServer(`auth.token = "right"`);
  for (let i = 0; i < 4; i++) {
    assertMatch(await tryLogin(server.port, "", `wrong-${i}`), /token mismatch$/);
  }
  assertMatch(
    await tryLogin(server.port, "", "wrong-4"),
    /token mismatch \(too many failed logins from 127\.0\.0\.1: wrong proofs are answered slowly for \d+ s\)/,
  );
  assertEquals(await tryLogin(server.port, "", "right"), "");
  await server.waitFor(
    /login from 127\.0\.0\.1:\d+ refused: .*token mismatch \(too many failed logins from 127\.0\.0\.1/,
  );
});

Deno.test("failed logins: the counter forgets after the window and cooldown", () => {
  let now = 0;
  const failed = new FailedLogins(3, () => now);
  failed.record("a");
  failed.record("a");
  assertEquals(failed.blockedFor("a"), 0);
  assert(failed.record("a"));
  assertEquals(failed.blockedFor("b"), 0);
  assert(failed.blockedFor("a") > 0);
  now += 61_000;
  assertEquals(failed.blockedFor("a"), 0);
  // Old failures fell out of the window: one more does not block again.
  assert(!failed.record("a"));
  // While an address cools down its refusals are logged once per 10 s, with a count.
  failed.record("a");
  failed.record("a");
  assertEquals(failed.logTurn("a"), 0);
  assertEquals(failed.logTurn("a"), -1);
  assertEquals(failed.logTurn("a"), -1);
  now += 10_000;
  assertEquals(failed.logTurn("a"), 2);
  assertEquals(failed.logTurn("b"), 0);
});

Deno.test("handshake deadline: a silent TCP client is dropped while a good client keeps working", async () => {
  using echo = echoServer();
  const port = freePort();
  const config = await tempFile(`bindPort = ${port}\nauth.token = "t"\n`, "frps.toml");
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", `${ROOT}server.ts`, "-c", config],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", DFRP_HANDSHAKE_TIMEOUT_MS: "2000" },
  }).spawn();
  await using server = new DfrpProcess(child, "server.ts");
  await server.waitFor(/listen on \S+:\d+/);
  const silent = await Deno.connect({ hostname: "127.0.0.1", port });
  const remotePort = freePort();
  // Plain TCP: the deadline is short, and a first TLS handshake waits for a certificate to be made.
  await using client = await startClient(clientToml(
    port,
    `auth.token = "t"
transport.tls.enable = false
${tcpProxy("echo", echo.port, remotePort)}`,
  ));
  await client.waitFor(/\[echo\] start proxy success/);
  try {
    // The server closes the silent connection: the read ends instead of hanging.
    const closed = await silent.read(new Uint8Array(16)).then(() => true, () => true);
    assert(closed);
  } finally {
    silent.close();
  }
  await server.waitFor(/connection from 127\.0\.0\.1:\d+ dropped: .*magic/);
  await assertEchoesText(remotePort, "hello");
});

Deno.test("allowDomains wildcards cover subdomains, not the bare domain", () => {
  const patterns = ["*.alice.example.com", "exact.example.org"];
  assert(domainAllowed("www.alice.example.com", patterns));
  assert(domainAllowed("a.b.alice.example.com", patterns));
  assert(domainAllowed("*.shop.alice.example.com", patterns));
  assert(domainAllowed("*.alice.example.com", patterns));
  assert(domainAllowed("EXACT.example.org", patterns));
  assert(!domainAllowed("alice.example.com", patterns));
  assert(!domainAllowed("evilalice.example.com", patterns));
  assert(!domainAllowed("www.example.org", patterns));
});
