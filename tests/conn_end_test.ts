/**
 * Connections that end must end everywhere: a backend that stops reading
 * must not keep its connection open after the tunnel died, and a write that
 * makes no progress for `transport.writeTimeout` ends the connection on both
 * sides. Real processes; the client's sockets are read with `ss`.
 */

import { assert, assertEquals } from "./_assert.ts";
import { eventually, freePort, startClient, startServer, within } from "./_harness.ts";

/** A backend that accepts and never reads. */
function stuckBackend(): { port: number } & Disposable {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  (async () => {
    for await (const conn of listener) conns.push(conn);
  })().catch(() => {});
  return {
    port: listener.addr.port,
    [Symbol.dispose]() {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
    },
  };
}

/** Established sockets dialed to `port` (the client's side of its backend connections). */
async function establishedTo(port: number): Promise<number> {
  const out = await new Deno.Command("ss", {
    args: ["-tnH", "state", "established", `( dport = :${port} )`],
    stdout: "piped",
  }).output();
  return new TextDecoder().decode(out.stdout).split("\n").filter((l) => l.trim()).length;
}

/** A user pushing data until its writes stop moving; `ended` settles when the conn dies. */
async function pushUntilBlocked(port: number) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  let written = 0;
  const chunk = new Uint8Array(64 * 1024);
  const ended = (async () => {
    try {
      for (;;) written += await conn.write(chunk);
    } catch (err) {
      return err as Error;
    }
  })();
  // Blocked once nothing moved for a second (flow control reached the user).
  for (let last = -1; last !== written;) {
    last = written;
    await new Promise((r) => setTimeout(r, 1000));
  }
  assert(written > 1024 * 1024, `only ${written} bytes went in before blocking`);
  return { conn, ended };
}

function clientConfig(serverPort: number, backendPort: number, remotePort: number, extra = "") {
  return `serverAddr = "127.0.0.1"\nserverPort = ${serverPort}\nauth.token = "t"\n${extra}\n` +
    `[[proxies]]\nname = "stuck"\ntype = "tcp"\nlocalPort = ${backendPort}\nremotePort = ${remotePort}\n`;
}

Deno.test("server killed: the client closes its connection to a backend that stopped reading", async () => {
  using backend = stuckBackend();
  const server = await startServer(`auth.token = "t"`);
  const remotePort = freePort();
  await using client = await startClient(clientConfig(server.port, backend.port, remotePort));
  await client.waitFor(/\[stuck\] start proxy success/);
  const user = await pushUntilBlocked(remotePort);
  try {
    assertEquals(await establishedTo(backend.port), 1);
    await server.stop("SIGKILL");
    await client.waitFor(/connection to server lost/);
    // Before: still ESTABLISHED with MBs unsent, forever (the relay sat in a blocked write).
    await eventually(async () => assertEquals(await establishedTo(backend.port), 0), 15_000);
  } finally {
    user.conn.close();
    await user.ended;
  }
});

Deno.test("writeTimeout on the server: a stalled user connection is closed, and so is the backend's", async () => {
  using backend = stuckBackend();
  await using server = await startServer(`auth.token = "t"\ntransport.writeTimeout = 2`);
  const remotePort = freePort();
  await using client = await startClient(clientConfig(server.port, backend.port, remotePort));
  await client.waitFor(/\[stuck\] start proxy success/);
  const user = await pushUntilBlocked(remotePort);
  try {
    // The server's write into the tunnel stalls: it ends the user's connection…
    const err = await within(user.ended, 30_000, "the stalled user connection was not closed");
    assert(err instanceof Error, "the user's write should fail once its connection is closed");
    // …and resets the stream, so the client lets go of its backend connection too.
    await eventually(async () => assertEquals(await establishedTo(backend.port), 0), 15_000);
  } finally {
    user.conn.close();
  }
  // The session itself lives on.
  assert(!/connection to server lost/.test(client.output), client.output);
});

Deno.test("writeTimeout on the client: a stalled backend connection is closed, and so is the user's", async () => {
  using backend = stuckBackend();
  await using server = await startServer(`auth.token = "t"`);
  const remotePort = freePort();
  await using client = await startClient(
    clientConfig(server.port, backend.port, remotePort, "transport.writeTimeout = 2"),
  );
  await client.waitFor(/\[stuck\] start proxy success/);
  const user = await pushUntilBlocked(remotePort);
  try {
    await eventually(async () => assertEquals(await establishedTo(backend.port), 0), 30_000);
    await within(user.ended, 30_000, "the user connection was not closed");
  } finally {
    user.conn.close();
  }
});
