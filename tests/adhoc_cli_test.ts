import { assertEquals, assertMatch } from "./_assert.ts";
import {
  assertEchoesText,
  type DfrpProcess,
  echoServer,
  eventually,
  freePort,
  spawnDfrp,
} from "./_harness.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** `server.ts` from flags only (no file). */
async function flagServer(args: string[]): Promise<DfrpProcess & { port: number }> {
  const port = freePort();
  const proc = spawnDfrp("server.ts", ["-p", String(port), ...args]);
  await proc.waitFor(/dfrps tcp listen on/);
  return Object.assign(proc, { port });
}

Deno.test("adhoc: client.ts tcp -s -P -t -l -r -n against server.ts -p -t", async () => {
  using echo = echoServer();
  await using server = await flagServer(["-t", "tok"]);
  const remotePort = freePort();
  await using client = spawnDfrp("client.ts", [
    "tcp",
    ...["-s", "127.0.0.1", "-P", String(server.port), "-t", "tok"],
    ...["-l", String(echo.port), "-r", String(remotePort), "-n", "ssh"],
  ]);
  await client.waitFor(/\[ssh\] start proxy success/);
  await assertEchoesText(remotePort, "ad hoc");
});

Deno.test("adhoc: a wrong token is refused by the server", async () => {
  await using server = await flagServer(["--token=right"]);
  await using client = spawnDfrp("client.ts", [
    "tcp",
    ...["--server_addr", "127.0.0.1", "--server_port", String(server.port), "--token", "wrong"],
    ...["--local_port", "1", "--remote_port", String(freePort()), "--proxy_name", "x"],
  ]);
  assertEquals((await client.exited).code, 1);
  assertMatch(client.output, /login to the server failed/);
});

Deno.test("adhoc: client.ts udp", async () => {
  const local = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const localPort = (local.addr as Deno.NetAddr).port;
  (async () => {
    for await (const [data, from] of local) await local.send(data, from);
  })().catch(() => {});
  await using server = await flagServer([]);
  const remotePort = freePort();
  await using client = spawnDfrp("client.ts", [
    "udp",
    ...["-P", String(server.port), "-l", String(localPort), "-r", String(remotePort), "-n", "dns"],
  ]);
  await client.waitFor(/\[dns\] start proxy success/);
  try {
    const target = { transport: "udp" as const, hostname: "127.0.0.1", port: remotePort };
    // UDP may drop the first datagram while the tunnel warms up: retry with a fresh socket.
    const reply = await eventually(
      async () => {
        const sock = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
        const timer = setTimeout(() => sock.close(), 2000);
        try {
          await sock.send(enc.encode("ping"), target);
          return dec.decode((await sock.receive())[0]);
        } finally {
          clearTimeout(timer);
          try {
            sock.close();
          } catch { /* closed by the timer */ }
        }
      },
      10_000,
      0,
    );
    assertEquals(reply, "ping");
  } finally {
    local.close();
  }
});

Deno.test("adhoc: client.ts http --custom-domain against server.ts --vhost-http-port", async () => {
  await using web = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req) => new Response(`hello from ${new URL(req.url).pathname} via ${req.headers.get("host")}`),
  );
  const vhostPort = freePort();
  await using server = await flagServer(["--vhost-http-port", String(vhostPort)]);
  await using client = spawnDfrp("client.ts", [
    "http",
    ...["-P", String(server.port), "-l", String(web.addr.port), "-n", "web"],
    ...["--custom-domain", "app.example.test", "--locations", "/api"],
  ]);
  await client.waitFor(/\[web\] start proxy success/);
  const curl = async (path: string) => {
    const out = await new Deno.Command("curl", {
      args: [
        "-s",
        "-H",
        "Host: app.example.test",
        "-w",
        " %{http_code}",
        `http://127.0.0.1:${vhostPort}${path}`,
      ],
    }).output();
    return dec.decode(out.stdout);
  };
  assertMatch(await curl("/api/x"), /^hello from \/api\/x via app\.example\.test 200$/);
  assertMatch(await curl("/other"), / 404$/);
});

Deno.test("adhoc: bad flags are explained and exit 1", async () => {
  const cases: Array<[string[], RegExp]> = [
    [["tcp", "-l", "22", "-r", "6000"], /-n\/--proxy_name is required/],
    [["tcp", "-n", "a", "-l", "twenty"], /--local_port: "twenty" is not a number/],
    [["tcp", "-n", "a", "-l", "22", "--what"], /Unknown option '--what'/],
    [["tcp", "-n", "a", "-l", "70000"], /localPort/],
    [["http", "-n", "a", "-l", "80"], /subdomain and customDomains must not both be empty/],
    [["http", "-n", "a", "-l", "80", "-d", "x.test", "-r", "1"], /remotePort: unknown key/],
    [["tcp", "-n", "a", "-l", "1", "--tls_enable=maybe"], /--tls_enable: "maybe"/],
  ];
  for (const [args, reason] of cases) {
    const proc = spawnDfrp("client.ts", args);
    assertEquals((await proc.exited).code, 1, args.join(" "));
    assertMatch(proc.output, reason);
  }
  for (
    const [args, reason] of [
      [["--vhost-http-port", "x"], /--vhost-http-port: "x" is not a port number/],
      [["--dashboard_port=99999"], /--dashboard-port: "99999" is not a port number/],
      [["--log-level", "loud"], /--log-level: "loud"/],
    ] as Array<[string[], RegExp]>
  ) {
    const proc = spawnDfrp("server.ts", args);
    assertEquals((await proc.exited).code, 1, args.join(" "));
    assertMatch(proc.output, reason);
  }
});
