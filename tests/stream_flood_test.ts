/**
 * A SYN flood of mux streams after a real login: streams over
 * `transport.tcpMuxMaxIncomingStreams` are reset, the flooding session itself
 * lives on, and other clients keep working.
 */

import { assert, assertEquals } from "./_assert.ts";
import { assertServerStillServes } from "./_echo_proxy.ts";
import { eventually, startServer } from "./_harness.ts";
import { frame, rawLogin } from "./_wire.ts";
import { MuxSession } from "../lib/mux/mod.ts";
import { readMessage } from "../lib/protocol/codec.ts";

Deno.test("stream flood: streams over the cap are reset, the session lives, others keep working", async () => {
  const cap = 500;
  await using server = await startServer(
    `auth.token = "t"\ntransport.tcpMuxMaxIncomingStreams = ${cap}`,
  );
  const { conn, resp } = await rawLogin(server.port, "t");
  assertEquals(resp.error, "");
  const mux = new MuxSession(conn, { client: true, keepaliveIntervalMs: 0 });
  try {
    const control = mux.open();
    await server.waitFor(/client login info/);
    // 5,000 streams that never say anything (the server waits for a visitor handshake).
    const flood = Array.from({ length: 5_000 }, () => mux.open());
    // Reset streams are freed at once; the rest stay open: the cap, control stream included.
    await eventually(() => Promise.resolve(assertEquals(mux.streamCount, cap)), 20_000);
    let reset = 0;
    await Promise.all(flood.map(async (s) => {
      try {
        await s.read(new Uint8Array(1024)); // the server's hello on an accepted stream
      } catch (err) {
        if (err instanceof Deno.errors.ConnectionReset) reset++;
      }
    }));
    assertEquals(reset, 5_000 - (cap - 1));

    // The flooding session itself still answers.
    assert(!mux.isClosed);
    await control.write(frame({ type: "Ping" }));
    assertEquals((await readMessage(control))?.type, "Pong");
  } finally {
    mux.close();
    await mux.closed;
  }

  await assertServerStillServes(server.port, "t");
});
