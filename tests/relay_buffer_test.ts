/**
 * Relay buffers grow while data moves and go back to a shared pool when the
 * flow stops (`lib/net/relay_buffer.ts`). A buffer a connection gave back is
 * then read into by other connections, so these tests check that connections
 * that went idle after a burst, and their neighbours, still carry every byte.
 */

import { assert, assertEquals } from "./_assert.ts";
import { clientConf, tcpProxy } from "./_config.ts";
import { echoServer, randomBytes, sha256, startClient, startServer } from "./_harness.ts";
import { INITIAL_BUFFER, MAX_BUFFER, RelayBuffer } from "../lib/net/relay_buffer.ts";

Deno.test("relay buffer: a read that drains a big buffer drops it, a full small read restores it", () => {
  const rb = new RelayBuffer();
  while (rb.buf.length < MAX_BUFFER) rb.afterRead(rb.buf.length);
  rb.afterRead(MAX_BUFFER - 1);
  assertEquals(rb.buf.length, INITIAL_BUFFER);
  rb.afterRead(rb.buf.length);
  assertEquals(rb.buf.length, MAX_BUFFER);
  rb.release();
  assertEquals(rb.buf.length, INITIAL_BUFFER);
  // Up to 16 KiB a buffer stays with its connection: request/response sizes.
  const messages = new RelayBuffer();
  for (let i = 0; i < 2; i++) messages.afterRead(messages.buf.length);
  messages.afterRead(100);
  assertEquals(messages.buf.length, 16 * 1024);
});

/** Writes `data` on `conn` while reading as many bytes back; returns them. */
async function echoOnce(conn: Deno.Conn, data: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
  const out = new Uint8Array(data.length);
  const writing = (async () => {
    for (let off = 0; off < data.length;) off += await conn.write(data.subarray(off));
  })();
  for (let got = 0; got < data.length;) {
    const n = await conn.read(out.subarray(got));
    assert(n !== null, "connection closed mid-echo");
    got += n;
  }
  await writing;
  return out;
}

Deno.test("relay buffer: connections that idled after a burst still echo large data, byte for byte", async () => {
  using echo = echoServer();
  await using server = await startServer("");
  await using client = await startClient(
    clientConf({ serverPort: server.port, extra: tcpProxy("echo", echo.port, 0) }),
  );
  const match = await server.waitFor(/\[echo\] tcp proxy listen at :(\d+) success/);
  await client.waitFor(/\[echo\] start proxy success/);
  const port = Number(match[1]);
  const conns = await Promise.all(
    Array.from({ length: 6 }, () => Deno.connect({ hostname: "127.0.0.1", port })),
  );
  try {
    for (let round = 0; round < 3; round++) {
      // Each connection bursts its own bytes (so a mixed-up pooled buffer shows),
      // then sends one byte and waits: its buffers shrink and go back to the pool.
      await Promise.all(conns.map(async (conn) => {
        const data = randomBytes(MAX_BUFFER * 4 + 12345);
        assertEquals(await sha256(await echoOnce(conn, data)), await sha256(data));
        assertEquals([...await echoOnce(conn, new Uint8Array([round]))], [round]);
      }));
      await new Promise((r) => setTimeout(r, 300));
    }
  } finally {
    for (const c of conns) c.close();
  }
});
