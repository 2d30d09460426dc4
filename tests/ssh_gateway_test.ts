/**
 * The SSH tunnel gateway with the real OpenSSH client: `ssh -R` plus a
 * command creates tcp and http proxies; `ssh -N -R` alone a tcp proxy;
 * unknown keys, bad commands and wrong tokens are refused with a message.
 */
import { assertConcurrentEchoes } from "./_echo.ts";
import { curl } from "./_curl.ts";
import { QUIET_SSH } from "./_sshd.ts";
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import {
  DfrpProcess,
  echoServer,
  eventually,
  freePort,
  roundTrip,
  startServer,
  tempFile,
} from "./_harness.ts";
import { bundle, PROGRAMS } from "../scripts/bundle.ts";

interface Keys {
  dir: string;
  /** Listed in the authorized keys file, with comment "alice". */
  alice: string;
  /** Not listed. */
  stranger: string;
  authorized: string;
}

async function makeKeys(): Promise<Keys> {
  const dir = await Deno.makeTempDir({ prefix: "dfrp-ssh-" });
  for (const [name, comment] of [["alice", "alice"], ["stranger", "mallory"]]) {
    const out = await new Deno.Command("ssh-keygen", {
      args: ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", `${dir}/${name}`],
      stdout: "null",
      stderr: "piped",
    }).output();
    assert(out.success, new TextDecoder().decode(out.stderr));
  }
  const authorized = `${dir}/authorized_keys`;
  await Deno.writeTextFile(
    authorized,
    `# test keys\n${await Deno.readTextFile(`${dir}/alice.pub`)}`,
  );
  return { dir, alice: `${dir}/alice`, stranger: `${dir}/stranger`, authorized };
}

/** `ssh` to the gateway with `args` (forward flags and command), output collected. */
function ssh(port: number, identity: string | null, args: string[]): DfrpProcess {
  const child = new Deno.Command("ssh", {
    args: [
      "-F",
      "/dev/null",
      ...QUIET_SSH,
      "-o",
      "ExitOnForwardFailure=yes",
      ...(identity ? ["-o", "IdentitiesOnly=yes", "-i", identity] : []),
      "-p",
      String(port),
      ...args,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  return new DfrpProcess(child, "ssh");
}

/** alice's `ssh -R :80:127.0.0.1:<localPort> v0@127.0.0.1 <command...>` to the gateway. */
function aliceForwards(sshPort: number, keys: Keys, localPort: number, command: string[]) {
  return ssh(sshPort, keys.alice, ["-R", `:80:127.0.0.1:${localPort}`, "v0@127.0.0.1", ...command]);
}

async function gatewayServer(
  keys: Keys | null,
  extra = "",
  hostKey = `${Deno.makeTempDirSync({ prefix: "dfrp-ssh-host-" })}/host_key`,
) {
  const sshPort = freePort();
  const server = await startServer(`
sshTunnelGateway.bindPort = ${sshPort}
sshTunnelGateway.autoGenPrivateKeyPath = "${hostKey}"
${keys ? `sshTunnelGateway.authorizedKeysFile = "${keys.authorized}"` : ""}
${extra}
`);
  await server.waitFor(/ssh tunnel gateway listen on \S+:(\d+)/);
  return Object.assign(server, { sshPort });
}

Deno.test("ssh gateway: tcp proxy from ssh -R and a command, hash-checked through it", async () => {
  const keys = await makeKeys();
  using echo = echoServer();
  await using server = await gatewayServer(keys);
  const remotePort = freePort();
  await using tunnel = aliceForwards(server.sshPort, keys, echo.port, [
    "tcp",
    "--remote_port",
    String(remotePort),
    "-n",
    "web",
  ]);
  const info = await tunnel.waitFor(/RemoteAddress: (\S+)/);
  assertEquals(info[1], `:${remotePort}`);
  assertMatch(tunnel.output, /User: alice\nProxyName: web\nType: tcp/);
  await assertConcurrentEchoes(remotePort, 8, 200 * 1024);
  // Ending the ssh session ends the proxy and frees its port.
  await tunnel.stop();
  await server.waitFor(/\[alice\.web\] proxy closed/);
  // Deno frees a closed listener's socket a moment later: retry, not sleep.
  await eventually(() => Promise.resolve(Deno.listen({ port: remotePort }).close()));
});

Deno.test("ssh gateway: ssh -N -R port:host:port alone makes a tcp proxy on that port", async () => {
  const keys = await makeKeys();
  using echo = echoServer();
  await using server = await gatewayServer(keys);
  const remotePort = freePort();
  await using _tunnel = ssh(server.sshPort, keys.alice, [
    "-N",
    "-R",
    `${remotePort}:127.0.0.1:${echo.port}`,
    "v0@127.0.0.1",
  ]);
  await server.waitFor(new RegExp(`tcp proxy listen at :${remotePort} success`));
  const reply = await roundTrip(remotePort, new TextEncoder().encode("plain ssh -R"));
  assertEquals(new TextDecoder().decode(reply), "plain ssh -R");
});

Deno.test("ssh gateway: http proxy by custom domain, reached with curl", async () => {
  const keys = await makeKeys();
  const web = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req) => new Response(`hello from ${new URL(req.url).pathname} via ${req.headers.get("host")}`),
  );
  const vhostPort = freePort();
  await using server = await gatewayServer(keys, `vhostHTTPPort = ${vhostPort}`);
  await using tunnel = aliceForwards(server.sshPort, keys, web.addr.port, [
    "http",
    "--custom_domain",
    "app.example.test",
  ]);
  await tunnel.waitFor(/RemoteAddress: /);
  assertMatch(tunnel.output, /Type: http/);
  const out = await curl("-H", "Host: app.example.test", `http://127.0.0.1:${vhostPort}/some/path`);
  assert(out.code === 0, out.stderr);
  assertEquals(out.body, "hello from /some/path via app.example.test");
  await tunnel.stop();
  await web.shutdown();
});

Deno.test("ssh gateway: tcpmux proxy, reached with curl through HTTP CONNECT", async () => {
  const keys = await makeKeys();
  const web = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response("tcpmux via ssh"),
  );
  const muxPort = freePort();
  await using server = await gatewayServer(keys, `tcpmuxHTTPConnectPort = ${muxPort}`);
  await using tunnel = aliceForwards(server.sshPort, keys, web.addr.port, [
    "tcpmux",
    "-d",
    "mux.example.test",
  ]);
  await tunnel.waitFor(/RemoteAddress: /);
  const out = await curl("-p", "-x", `http://127.0.0.1:${muxPort}`, "http://mux.example.test/");
  assert(out.code === 0, out.stderr);
  assertEquals(out.body, "tcpmux via ssh");
  await tunnel.stop();
  await web.shutdown();
});

Deno.test("ssh gateway: a key not in authorizedKeysFile is refused; the gateway keeps serving", async () => {
  const keys = await makeKeys();
  using echo = echoServer();
  await using server = await gatewayServer(keys);
  const remotePort = freePort();
  const forward = ["-R", `:80:127.0.0.1:${echo.port}`, "v0@127.0.0.1", "tcp", "-r"];
  await using stranger = ssh(server.sshPort, keys.stranger, [...forward, String(remotePort)]);
  const status = await stranger.exited;
  assertEquals(status.code, 255);
  assertMatch(stranger.output, /Permission denied \(publickey\)/);
  await server.waitFor(/unknown public key \(ssh-ed25519\) from 127\.0\.0\.1:\d+, refused/);
  await using alice = ssh(server.sshPort, keys.alice, [...forward, String(remotePort)]);
  await alice.waitFor(/RemoteAddress: /);
  const reply = await roundTrip(remotePort, new TextEncoder().encode("still serving"));
  assertEquals(new TextDecoder().decode(reply), "still serving");
});

Deno.test("ssh gateway: bad commands get a clear message on the ssh session", async () => {
  const keys = await makeKeys();
  using echo = echoServer();
  await using server = await gatewayServer(keys);
  const cases: Array<[string[], RegExp]> = [
    [["bogus"], /invalid proxy type: bogus, support types: \[tcp http https tcpmux stcp\]/],
    [["tcp", "--no_such_flag"], /unknown flag: --no-such-flag/],
    [["tcp", "-r", "many"], /--remote_port: "many" is not a number/],
    [["http"], /subdomain and customDomains must not both be empty/],
  ];
  for (const [command, message] of cases) {
    await using session = aliceForwards(server.sshPort, keys, echo.port, [...command]);
    const status = await session.exited;
    assertMatch(session.output, message);
    assertEquals(status.code, 1, session.output);
  }
  await using help = ssh(server.sshPort, keys.alice, ["v0@127.0.0.1", "tcp", "--help"]);
  assertEquals((await help.exited).code, 0);
  assertMatch(help.output, /-r, --remote_port int/);
  await server.waitFor(/refused: invalid proxy type: bogus/);
});

Deno.test("ssh gateway: without authorizedKeysFile the server's token is required", async () => {
  using echo = echoServer();
  await using server = await gatewayServer(null, `auth.token = "s3cret"`);
  const remotePort = freePort();
  const forward = ["-R", `:80:127.0.0.1:${echo.port}`, "v0@127.0.0.1", "tcp", "-r"];
  await using wrong = ssh(server.sshPort, null, [...forward, String(remotePort), "-t", "nope"]);
  assertEquals((await wrong.exited).code, 1);
  assertMatch(wrong.output, /token in login doesn't match token from configuration/);
  await using right = ssh(server.sshPort, null, [...forward, String(remotePort), "-t", "s3cret"]);
  await right.waitFor(/RemoteAddress: :\d+/);
  const reply = await roundTrip(remotePort, new TextEncoder().encode("token ok"));
  assertEquals(new TextDecoder().decode(reply), "token ok");
});

Deno.test("ssh gateway: the admin API lists the tunnel's proxy and client, and can disconnect it", async () => {
  const keys = await makeKeys();
  using echo = echoServer();
  const webPort = freePort();
  await using server = await gatewayServer(keys, `webServer.port = ${webPort}`);
  await using tunnel = aliceForwards(server.sshPort, keys, echo.port, ["tcp", "-n", "admin-seen"]);
  const port = Number((await tunnel.waitFor(/RemoteAddress: :(\d+)/))[1]);
  await roundTrip(port, new TextEncoder().encode("count me"));
  const api = async (path: string, method = "GET") => {
    const res = await fetch(`http://127.0.0.1:${webPort}/api${path}`, { method });
    return { status: res.status, body: await res.json() };
  };
  const proxy = (await api("/proxies/alice.admin-seen")).body;
  assertEquals(proxy.status, "online");
  assertEquals(proxy.user, "alice");
  assertEquals(proxy.todayTrafficIn, "count me".length);
  const clients = (await api("/clients?status=online")).body as Array<Record<string, unknown>>;
  const client = clients.find((c) => c.runID === proxy.clientID);
  assert(client, `no client ${proxy.clientID} in ${JSON.stringify(clients)}`);
  assertEquals(client.user, "alice");
  assertEquals((await api(`/clients/${proxy.clientID}`, "DELETE")).status, 200);
  await tunnel.exited;
  // The key's user scopes the name, as for a dfrpc.
  await server.waitFor(/\[alice\.admin-seen\] proxy closed/);
  assertEquals((await api("/proxies/alice.admin-seen")).body.status, "offline");
});

Deno.test("ssh gateway: the generated host key is saved (mode 0600) and reused after a restart", async () => {
  const hostKey = `${await Deno.makeTempDir({ prefix: "dfrp-ssh-host-" })}/host_key`;
  const first = await gatewayServer(null, "", hostKey);
  await first.stop();
  const saved = await Deno.readTextFile(hostKey);
  assertMatch(saved, /BEGIN OPENSSH PRIVATE KEY/);
  assertEquals((await Deno.stat(hostKey)).mode! & 0o777, 0o600);
  await using _second = await gatewayServer(null, "", hostKey);
  assertEquals(await Deno.readTextFile(hostKey), saved);
});

Deno.test("ssh gateway: works from the dfrps.js bundle with least-privilege flags and no npm", async () => {
  const keys = await makeKeys();
  using echo = echoServer();
  const dir = await Deno.makeTempDir({ prefix: "dfrp-ssh-bundle-" });
  const server = PROGRAMS.find((p) => p.name === "dfrps")!;
  const file = await bundle(server, dir);
  // Without --allow-write the host key must exist already.
  const hostKey = `${keys.dir}/host_key`;
  const made = await new Deno.Command("ssh-keygen", {
    args: ["-q", "-t", "ed25519", "-N", "", "-f", hostKey],
  }).output();
  assert(made.success);
  const sshPort = freePort();
  const config = await tempFile(`
bindPort = ${freePort()}
sshTunnelGateway.bindPort = ${sshPort}
sshTunnelGateway.privateKeyFile = "${hostKey}"
sshTunnelGateway.authorizedKeysFile = "${keys.authorized}"
`);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...server.flags, "--no-npm", "--no-remote", file, "-c", config],
    cwd: dir,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  await using proc = new DfrpProcess(child, "dfrps.js");
  await proc.waitFor(/ssh tunnel gateway listen on/);
  const remotePort = freePort();
  await using tunnel = ssh(sshPort, keys.alice, [
    "-R",
    `:80:127.0.0.1:${echo.port}`,
    "v0@127.0.0.1",
    "tcp",
    "-r",
    String(remotePort),
  ]);
  await tunnel.waitFor(/RemoteAddress: /);
  const reply = await roundTrip(remotePort, new TextEncoder().encode("bundled"));
  assertEquals(new TextDecoder().decode(reply), "bundled");
});
