import {} from "./_config.ts";
import { assertEquals } from "./_assert.ts";
import { withEchoProxy } from "./_echo.ts";
import { makeCerts, type TestCerts } from "./_certs.ts";
import {
  assertEchoes,
  freePort,
  randomBytes,
  startClient,
  startServer,
  tempFile,
} from "./_harness.ts";

let certsMade: Promise<TestCerts> | undefined;
const certs = () => certsMade ??= makeCerts();

/** Starts a client with `extra` transport settings and checks an echo through a tcp proxy. */
async function echoOver(serverPort: number, extra: string, tcpMux = true): Promise<void> {
  await withEchoProxy(serverPort, `transport.tcpMux = ${tcpMux}\n${extra}`, async (remotePort) => {
    const data = randomBytes(256 * 1024);
    await assertEchoes(remotePort, data);
  });
}

for (const tcpMux of [true, false]) {
  const mode = `tcpMux ${tcpMux ? "on" : "off"}`;
  const cases: Array<[string, string, RegExp]> = [
    ["websocket (TLS inside)", `transport.protocol = "websocket"`, /transport \[websocket\+tls\]/],
    [
      "websocket without TLS",
      `transport.protocol = "websocket"\ntransport.tls.enable = false`,
      /transport \[websocket\]/,
    ],
    ["wss", `transport.protocol = "wss"`, /transport \[tls\+websocket\]/],
  ];
  for (const [name, extra, logged] of cases) {
    Deno.test(`transport: ${name}, ${mode}: echo through a tcp proxy`, async () => {
      await using server = await startServer(`transport.tcpMux = ${tcpMux}`);
      await echoOver(server.port, extra, tcpMux);
      await server.waitFor(logged);
    });
  }

  Deno.test(`transport: quic, ${mode}: echo through a tcp proxy`, async () => {
    const c = await certs();
    const quicPort = freePort();
    await using server = await startServer(`
quicBindPort = ${quicPort}
transport.tcpMux = ${tcpMux}
transport.tls.certFile = "${c.serverCert}"
transport.tls.keyFile = "${c.serverKey}"`);
    await server.waitFor(/quic listen on \S+:(\d+)/);
    await echoOver(
      quicPort,
      `transport.protocol = "quic"\ntransport.tls.trustedCaFile = "${c.ca}"`,
      tcpMux,
    );
    await server.waitFor(/transport \[quic\]/);
  });
}

Deno.test("transport: quic without trustedCaFile says why it cannot verify", async () => {
  await using server = await startServer(`quicBindPort = ${freePort()}`);
  const match = await server.waitFor(/quic listen on \S+:(\d+)/);
  await using client = await startClient(
    `serverAddr = "127.0.0.1"\nserverPort = ${match[1]}\ntransport.protocol = "quic"`,
    false,
  );
  await client.waitFor(/quic" needs transport.tls.trustedCaFile/);
});

/** A tinyproxy (HTTP CONNECT) on a free port, with basic auth alice:s3cret. */
async function tinyproxy(): Promise<{ port: number } & AsyncDisposable> {
  const port = freePort();
  const conf = await tempFile(
    `Port ${port}\nListen 127.0.0.1\nTimeout 600\nAllow 127.0.0.1\nBasicAuth alice s3cret\nLogLevel Connect\n`,
    "tinyproxy.conf",
  );
  return await daemon("tinyproxy", ["-d", "-c", conf], port);
}

/** A dante SOCKS5 server on a free port; `auth` makes it demand a user name. */
async function dante(): Promise<{ port: number } & AsyncDisposable> {
  const port = freePort();
  const conf = await tempFile(
    `logoutput: stderr
internal: 127.0.0.1 port = ${port}
external: 127.0.0.1
socksmethod: none
clientmethod: none
user.privileged: root
user.unprivileged: nobody
client pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }
socks pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }
`,
    "danted.conf",
  );
  return await daemon("danted", ["-f", conf], port);
}

/** Runs `command` (a proxy daemon in the foreground) until disposed, once it listens on `port`. */
async function daemon(
  command: string,
  args: string[],
  port: number,
): Promise<{ port: number } & AsyncDisposable> {
  const child = new Deno.Command(command, { args, stdout: "null", stderr: "null" }).spawn();
  await waitListening(port);
  return {
    port,
    async [Symbol.asyncDispose]() {
      child.kill("SIGKILL");
      await child.status;
    },
  };
}

async function waitListening(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`nothing listens on ${port}`);
}

for (const tcpMux of [true, false]) {
  Deno.test(`transport: proxyURL http (tinyproxy CONNECT, basic auth), tcpMux ${tcpMux}`, async () => {
    await using proxy = await tinyproxy();
    await using server = await startServer(`transport.tcpMux = ${tcpMux}`);
    await echoOver(
      server.port,
      `transport.proxyURL = "http://alice:s3cret@127.0.0.1:${proxy.port}"`,
      tcpMux,
    );
    await server.waitFor(/transport \[tls\]/);
  });
}

Deno.test("transport: proxyURL http with a wrong password is refused with the proxy's answer", async () => {
  await using proxy = await tinyproxy();
  await using server = await startServer("");
  await using client = await startClient(
    `serverAddr = "127.0.0.1"\nserverPort = ${server.port}\n` +
      `transport.proxyURL = "http://alice:wrong@127.0.0.1:${proxy.port}"`,
    false,
  );
  await client.waitFor(/CONNECT 127\.0\.0\.1:\d+ refused: HTTP\/1\.[01] 40[17]/);
});

Deno.test("transport: proxyURL socks5 (dante), websocket over it", async () => {
  await using proxy = await dante();
  await using server = await startServer("");
  await echoOver(server.port, `transport.proxyURL = "socks5://127.0.0.1:${proxy.port}"`);
  await echoOver(
    server.port,
    `transport.proxyURL = "socks5://127.0.0.1:${proxy.port}"\ntransport.protocol = "websocket"`,
  );
  await server.waitFor(/transport \[websocket\+tls\]/);
});

Deno.test("transport: bad WebSocket upgrades and stray HTTP on bindPort are logged; the server keeps serving", async () => {
  await using server = await startServer("");
  const send = async (text: string) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    await conn.write(new TextEncoder().encode(text));
    const buf = new Uint8Array(1024);
    const n = await conn.read(buf).catch(() => null);
    conn.close();
    return n === null ? "" : new TextDecoder().decode(buf.subarray(0, n));
  };
  const answer = await send("GET /~!frp HTTP/1.1\r\nHost: x\r\n\r\n");
  assertEquals(answer.startsWith("HTTP/1.1 400"), true);
  await server.waitFor(/dropped: bad WebSocket upgrade request/);
  await send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  await server.waitFor(/dropped: not a dfrp client \(bad magic\)/);
  await send("\x16\x03\x01\x00\x05hello");
  await server.waitFor(/dropped: TLS handshake failed/);
  await echoOver(server.port, `transport.protocol = "websocket"`);
});
