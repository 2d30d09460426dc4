/**
 * Server identity (docs/auth.md, "Server identity"): the server keeps one
 * TLS certificate across restarts, the client remembers its fingerprint on
 * first use (or pins it) and refuses a changed one, and the login proof is
 * bound to the certificate the client saw, so a TLS relay with its own
 * certificate (socat here) can neither read a known client's traffic nor
 * pass a first-use client's proof on. Real processes, real socat.
 */

import { X509Certificate } from "node:crypto";
import { assert, assertEquals, assertMatch, assertNotMatch } from "./_assert.ts";
import { selfSignedCert } from "./_certs.ts";
import {
  assertEchoesText,
  DfrpProcess,
  echoServer,
  eventually,
  freePort,
  startClient,
  startServer,
} from "./_harness.ts";

const TOKEN = "identity-test-token-0123456789";
const FINGERPRINT = /SHA-256 fingerprint ((?:[0-9A-F]{2}:){31}[0-9A-F]{2})/;

/** The fingerprint a server printed at start-up. */
async function printedFingerprint(server: DfrpProcess): Promise<string> {
  return (await server.waitFor(FINGERPRINT))[1];
}

function serverToml(stateDir: string, extra = ""): string {
  return `auth.token = "${TOKEN}"\nstateDir = "${stateDir}"\n${extra}`;
}

function clientToml(port: number, stateDir: string, remotePort: number, extra = ""): string {
  return `
serverAddr = "127.0.0.1"
serverPort = ${port}
auth.token = "${TOKEN}"
stateDir = "${stateDir}"
loginFailExit = true
${extra}

[[proxies]]
name = "echo"
type = "tcp"
localPort = 1
remotePort = ${remotePort}
`;
}

/** A client config whose proxy reaches `echoPort`. */
function echoClientToml(
  port: number,
  stateDir: string,
  echoPort: number,
  remotePort: number,
  extra = "",
): string {
  return clientToml(port, stateDir, remotePort, extra).replace(
    "localPort = 1",
    `localPort = ${echoPort}`,
  );
}

/** A self-signed certificate and key for the relay, and the certificate's fingerprint. */
async function relayCert(): Promise<{ cert: string; key: string; fingerprint: string }> {
  const { cert, key } = await selfSignedCert("relay");
  const pem = await Deno.readTextFile(cert);
  return { cert, key, fingerprint: new X509Certificate(pem).fingerprint256.toUpperCase() };
}

/**
 * socat terminating TLS on `port` with its own certificate and relaying to
 * the server on `target`, over TLS (`tlsToServer`) or plain TCP.
 */
async function tlsRelay(
  port: number,
  target: number,
  tlsToServer = true,
): Promise<{ fingerprint: string } & AsyncDisposable> {
  const { cert, key, fingerprint } = await relayCert();
  const child = new Deno.Command("socat", {
    args: [
      `OPENSSL-LISTEN:${port},bind=127.0.0.1,reuseaddr,fork,cert=${cert},key=${key},verify=0`,
      tlsToServer ? `OPENSSL:127.0.0.1:${target},verify=0` : `TCP:127.0.0.1:${target}`,
    ],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  await eventually(async () => (await Deno.connect({ hostname: "127.0.0.1", port })).close());
  return {
    fingerprint,
    async [Symbol.asyncDispose]() {
      try {
        child.kill("SIGKILL");
      } catch { /* exited */ }
      await child.status;
    },
  };
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("identity: a TLS relay with its own certificate cannot pass a first-use client's proof on", async () => {
  const state = await Deno.makeTempDir({ prefix: "dfrp-identity-" });
  await using server = await startServer(serverToml(`${state}/server`));
  const real = await printedFingerprint(server);
  for (const tlsToServer of [true, false]) {
    const relayPort = freePort();
    await using relay = await tlsRelay(relayPort, server.port, tlsToServer);
    assert(relay.fingerprint !== real);
    const clientState = `${state}/client-${tlsToServer}`;
    await using client = await startClient(clientToml(relayPort, clientState, freePort()), false);
    const status = await client.exited;
    assertEquals(
      status.success,
      false,
      `the client logged in through the relay:\n${client.output}`,
    );
    assertNotMatch(client.output, /login to server success/);
    assertMatch(client.output, /authorization failed: the client received TLS certificate/);
    assertMatch(client.output, new RegExp(relay.fingerprint));
    await server.waitFor(
      tlsToServer
        ? new RegExp(`certificate ${relay.fingerprint}, but this server's is ${real}`)
        : /reached this server without TLS/,
    );
    // Nothing is remembered from a login that failed.
    assertEquals(await exists(`${clientState}/known_servers`), false);
  }
});

Deno.test("identity: the server keeps its fingerprint across restarts, the client remembers it, and a changed one is refused with both fingerprints", async () => {
  using echo = echoServer();
  const state = await Deno.makeTempDir({ prefix: "dfrp-identity-" });
  const port = freePort(), remotePort = freePort();
  let first: string;
  {
    await using server = await startServer(serverToml(`${state}/server`), port);
    first = await printedFingerprint(server);
    const client = await startClient(
      echoClientToml(port, `${state}/client`, echo.port, remotePort),
    );
    await using _client = client;
    assertMatch(
      client.output,
      new RegExp(`first connection to 127\\.0\\.0\\.1:${port}: .*fingerprint ${first}`),
    );
    await client.waitFor(/\[echo\] start proxy success/);
    await assertEchoesText(remotePort, "one");
    const known = await Deno.readTextFile(`${state}/client/known_servers`);
    assertEquals(known, `127.0.0.1:${port} ${first}\n`);
    assertEquals((await Deno.stat(`${state}/server/server_key.pem`)).mode! & 0o077, 0);

    // Same state dir after a restart: same identity, the running client logs in again.
    await server.stop();
    await using again = await startServer(serverToml(`${state}/server`), port);
    assertEquals(await printedFingerprint(again), first);
    await client.waitFor(/login to server success[\s\S]*login to server success/, 20_000);
    await eventually(() => assertEchoesText(remotePort, "two"));
    assertEquals(client.output.match(/first connection/g)?.length, 1);
  }
  // A server with another identity on the same address: the client refuses it.
  await using other = await startServer(serverToml(`${state}/other-server`), port);
  const second = await printedFingerprint(other);
  assert(second !== first);
  await using client = await startClient(
    echoClientToml(port, `${state}/client`, echo.port, remotePort),
    false,
  );
  assertEquals((await client.exited).success, false, client.output);
  assertMatch(
    client.output,
    new RegExp(`fingerprint ${second}, but \\S+known_servers remembers ${first}`),
  );
  assertMatch(client.output, /delete the line for 127\.0\.0\.1:\d+ from \S+known_servers/);
  assertNotMatch(other.output, /client login info/);
});

Deno.test("identity: a client that knows the server refuses a TLS relay in its place, naming both fingerprints", async () => {
  const state = await Deno.makeTempDir({ prefix: "dfrp-identity-" });
  const port = freePort();
  let real: string;
  {
    await using server = await startServer(serverToml(`${state}/server`), port);
    real = await printedFingerprint(server);
    await using _client = await startClient(clientToml(port, `${state}/client`, freePort()));
  }
  // The server moves; a relay with its own certificate takes its address.
  await using server = await startServer(serverToml(`${state}/server`));
  await using relay = await tlsRelay(port, server.port);
  await using client = await startClient(clientToml(port, `${state}/client`, freePort()), false);
  assertEquals((await client.exited).success, false, client.output);
  assertMatch(
    client.output,
    new RegExp(`fingerprint ${relay.fingerprint}, but .* remembers ${real}`),
  );
  // The relay never got a proof to pass on.
  assertNotMatch(server.output, /client login info|authorization failed/);
});

Deno.test("identity: transport.tls.serverFingerprint pins the server up front", async () => {
  using echo = echoServer();
  const state = await Deno.makeTempDir({ prefix: "dfrp-identity-" });
  await using server = await startServer(serverToml(`${state}/server`));
  const real = await printedFingerprint(server);
  // Written as a user may paste it: lower case, no colons, with a prefix.
  const pasted = `sha256:${real.replaceAll(":", "").toLowerCase()}`;
  const remotePort = freePort();
  {
    await using client = await startClient(
      echoClientToml(
        server.port,
        `${state}/pinned`,
        echo.port,
        remotePort,
        `transport.tls.serverFingerprint = "${pasted}"`,
      ),
    );
    await client.waitFor(/\[echo\] start proxy success/);
    await assertEchoesText(remotePort, "pinned");
    assertNotMatch(client.output, /first connection/);
    assertEquals(await exists(`${state}/pinned/known_servers`), false);
  }
  const wrong = real.startsWith("00") ? real.replace(/^00/, "11") : `00${real.slice(2)}`;
  await using client = await startClient(
    clientToml(
      server.port,
      `${state}/wrong`,
      freePort(),
      `transport.tls.serverFingerprint = "${wrong}"`,
    ),
    false,
  );
  assertEquals((await client.exited).success, false, client.output);
  assertMatch(
    client.output,
    new RegExp(`fingerprint ${real}, but transport\\.tls\\.serverFingerprint pins ${wrong}`),
  );
});

Deno.test("identity: a trustedCaFile client is not pinned to the fingerprint and still logs in", async () => {
  // trustedCaFile wins over known_servers: a CA vouches for the certificate.
  const state = await Deno.makeTempDir({ prefix: "dfrp-identity-" });
  const { makeCerts } = await import("./_certs.ts");
  const certs = await makeCerts();
  const tlsKeys = `transport.tls.certFile = "${certs.serverCert}"\n` +
    `transport.tls.keyFile = "${certs.serverKey}"\n`;
  await using server = await startServer(serverToml(`${state}/server`, tlsKeys));
  await using client = await startClient(
    clientToml(
      server.port,
      `${state}/client`,
      freePort(),
      `transport.tls.trustedCaFile = "${certs.ca}"\ntransport.tls.serverName = "localhost"\n` +
        `transport.tls.serverFingerprint = "${"00:".repeat(31)}00"`,
    ),
  );
  assertMatch(server.output, /server identity: .* \(transport\.tls\.certFile /);
  assertEquals(await exists(`${state}/client/known_servers`), false);
  assertEquals(await exists(`${state}/server/server_cert.pem`), false);
  await client.stop();
});

Deno.test("identity: start-up warnings for a server without a token and for a short token", async () => {
  const state = await Deno.makeTempDir({ prefix: "dfrp-identity-" });
  const cases: Array<[string, RegExp | null]> = [
    ["", /\[W\] auth\.token is empty: this server accepts every client; set one with auth\.token/],
    [`auth.token = "short-token"`, /\[W\] auth\.token has only 11 characters: .* offline/],
    [`auth.token = "${TOKEN}"`, null],
  ];
  for (const [config, warning] of cases) {
    await using server = await startServer(`stateDir = "${state}"\n${config}`);
    await server.waitFor(/listen on/);
    if (warning) {
      assertMatch(server.output, warning);
      assertEquals(server.output.split("\n").filter((l) => warning.test(l)).length, 1);
    } else {
      assertNotMatch(server.output, /\[W\]/);
    }
  }
});

Deno.test("identity: TLS inside a WebSocket (node:tls) remembers the server and refuses a changed one", async () => {
  const state = await Deno.makeTempDir({ prefix: "dfrp-identity-" });
  const port = freePort();
  const ws = `transport.protocol = "websocket"`;
  let first: string;
  {
    await using server = await startServer(serverToml(`${state}/server`), port);
    first = await printedFingerprint(server);
    await using client = await startClient(clientToml(port, `${state}/client`, freePort(), ws));
    assertMatch(client.output, new RegExp(`first connection .*fingerprint ${first}`));
    await server.waitFor(/transport \[websocket\+tls\]/);
  }
  await using other = await startServer(serverToml(`${state}/other-server`), port);
  const second = await printedFingerprint(other);
  await using client = await startClient(
    clientToml(port, `${state}/client`, freePort(), ws),
    false,
  );
  assertEquals((await client.exited).success, false, client.output);
  assertMatch(client.output, new RegExp(`fingerprint ${second}, but \\S+ remembers ${first}`));
});
