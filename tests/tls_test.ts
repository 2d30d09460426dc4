import { clientConf, tcpProxy } from "./_config.ts";
import { assertEquals } from "./_assert.ts";
import { withEchoProxy } from "./_echo.ts";
import { makeCerts, type TestCerts } from "./_certs.ts";
import { freePort, randomBytes, roundTrip, sha256, startClient, startServer } from "./_harness.ts";

let certsMade: Promise<TestCerts> | undefined;
const certs = () => certsMade ??= makeCerts();

/** A client with `extra` settings and a tcp proxy to a port nobody serves. */
function clientToml(serverPort: number, extra: string): string {
  return clientConf({ serverPort, extra: `${extra}\n${tcpProxy("echo", 1, 0)}` });
}

/** A client with `extra` settings proves the tunnel works by an echo through it. */
async function echoWorks(serverPort: number, extra: string, tcpMux = true): Promise<void> {
  await withEchoProxy(serverPort, `${extra}\ntransport.tcpMux = ${tcpMux}`, async (remotePort) => {
    const reply = await roundTrip(remotePort, new TextEncoder().encode("over tls"));
    assertEquals(new TextDecoder().decode(reply), "over tls");
  });
}

Deno.test("tls: a default client and a default server talk TLS (self-signed cert)", async () => {
  await using server = await startServer("");
  await echoWorks(server.port, "");
  await server.waitFor(/client login info: ip \[[^\]]+\] transport \[tls\]/);
});

Deno.test("tls: transport.tls.enable = false still works, as plain TCP", async () => {
  await using server = await startServer("");
  await echoWorks(server.port, "transport.tls.enable = false");
  await server.waitFor(/transport \[tcp\]/);
});

for (const tcpMux of [true, false]) {
  Deno.test(`tls: 1 MiB each way with half-close, tcpMux ${tcpMux ? "on" : "off"}`, async () => {
    await using server = await startServer(`transport.tcpMux = ${tcpMux}`);
    await withEchoProxy(server.port, `transport.tcpMux = ${tcpMux}`, async (remotePort) => {
      // The echo answers end of stream with its own: half-close crosses TLS both ways.
      const data = randomBytes(1 << 20);
      const reply = await roundTrip(remotePort, data);
      assertEquals(reply.length, data.length);
      assertEquals(await sha256(reply as Uint8Array<ArrayBuffer>), await sha256(data));
    });
  });
}

Deno.test("tls: one-way, the client verifies the server against its CA", async () => {
  const c = await certs();
  await using server = await startServer(`
transport.tls.certFile = "${c.serverCert}"
transport.tls.keyFile = "${c.serverKey}"`);
  await echoWorks(server.port, `transport.tls.trustedCaFile = "${c.ca}"`);
  await echoWorks(
    server.port,
    `transport.tls.trustedCaFile = "${c.ca}"\ntransport.tls.serverName = "localhost"`,
  );
});

Deno.test("tls: a wrong CA is refused as an unknown authority; the server keeps serving", async () => {
  const c = await certs();
  await using server = await startServer(`
transport.tls.certFile = "${c.serverCert}"
transport.tls.keyFile = "${c.serverKey}"`);
  await using bad = await startClient(
    clientToml(server.port, `transport.tls.trustedCaFile = "${c.otherCa}"`),
    false,
  );
  await bad.waitFor(
    /TLS handshake with the server failed: certificate signed by an unknown authority/,
  );
  await echoWorks(server.port, `transport.tls.trustedCaFile = "${c.ca}"`);
});

Deno.test("tls: a server name the certificate does not cover is refused", async () => {
  const c = await certs();
  await using server = await startServer(`
transport.tls.certFile = "${c.serverCert}"
transport.tls.keyFile = "${c.serverKey}"`);
  await using bad = await startClient(
    clientToml(
      server.port,
      `transport.tls.trustedCaFile = "${c.ca}"\ntransport.tls.serverName = "wrong.example.com"`,
    ),
    false,
  );
  await bad.waitFor(
    /TLS handshake with the server failed: certificate is not valid for the server name/,
  );
  await echoWorks(server.port, `transport.tls.trustedCaFile = "${c.ca}"`);
});

Deno.test("tls: mutual TLS requires a client certificate signed by the server's CA", async () => {
  const c = await certs();
  await using server = await startServer(`
transport.tls.certFile = "${c.serverCert}"
transport.tls.keyFile = "${c.serverKey}"
transport.tls.trustedCaFile = "${c.ca}"`);
  // No certificate at all.
  await using anonymous = await startClient(clientToml(server.port, ""), false);
  await anonymous.waitFor(/TLS handshake with the server failed: .*requires a client certificate/);
  await server.waitFor(/dropped: TLS handshake failed: .+/);
  // A certificate from another CA.
  await using stranger = await startClient(
    clientToml(
      server.port,
      `transport.tls.certFile = "${c.strangerCert}"\ntransport.tls.keyFile = "${c.strangerKey}"`,
    ),
    false,
  );
  await stranger.waitFor(/TLS handshake with the server failed: .*refused ours/);
  await server.waitFor(/client certificate refused: signed by an unknown authority/);
  // `trustedCaFile` implies force: a plain client is refused with the reason.
  await using plain = await startClient(
    clientToml(server.port, "transport.tls.enable = false"),
    false,
  );
  await plain.waitFor(/plain \(non-TLS\) client refused: transport.tls.force is set/);
  // And the right certificate works, for both transports of work connections.
  const good =
    `transport.tls.certFile = "${c.clientCert}"\ntransport.tls.keyFile = "${c.clientKey}"\n` +
    `transport.tls.trustedCaFile = "${c.ca}"`;
  await echoWorks(server.port, good);
});

Deno.test("tls: mutual TLS with pooled work connections (tcpMux off)", async () => {
  const c = await certs();
  await using server = await startServer(`
transport.tcpMux = false
transport.tls.certFile = "${c.serverCert}"
transport.tls.keyFile = "${c.serverKey}"
transport.tls.trustedCaFile = "${c.ca}"`);
  const good =
    `transport.tls.certFile = "${c.clientCert}"\ntransport.tls.keyFile = "${c.clientKey}"`;
  await echoWorks(server.port, good, false);
});

Deno.test("tls: force refuses a plain client with a reason it logs", async () => {
  await using server = await startServer("transport.tls.force = true");
  await using plain = await startClient(
    clientToml(server.port, "transport.tls.enable = false"),
    false,
  );
  await plain.waitFor(
    /login to the server failed: plain \(non-TLS\) client refused: transport.tls.force is set/,
  );
  await server.waitFor(/dropped: plain \(non-TLS\) client refused/);
  await echoWorks(server.port, "");
});

Deno.test("tls: a missing certificate file stops the server with its key and path", async () => {
  const { spawnDfrp, tempFile } = await import("./_harness.ts");
  const proc = spawnDfrp("server.ts", [
    "-c",
    await tempFile(
      `bindPort = ${freePort()}\ntransport.tls.certFile = "/nonexistent/c.pem"\ntransport.tls.keyFile = "/nonexistent/k.pem"`,
    ),
  ]);
  const status = await proc.exited;
  assertEquals(status.success, false);
  await proc.waitFor(/transport\.tls\.certFile \/nonexistent\/c\.pem/);
});
