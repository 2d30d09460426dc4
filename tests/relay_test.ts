/**
 * `relay()` never outlives its streams: a broken mux stream or a stalled
 * write ends it (and closes both ends) even while a write is blocked on a
 * peer that stopped reading. Real loopback sockets, in one process.
 */

import { assert } from "./_assert.ts";
import { MuxSession } from "../lib/mux/mod.ts";
import { relay } from "../lib/net/relay.ts";
import { within } from "./_harness.ts";
import { tcpPair } from "./_tcp_pair.ts";

/** Writes until `conn`'s writes stop moving; the pending write is left running. */
async function fillUntilBlocked(w: { write(p: Uint8Array): Promise<number> }): Promise<void> {
  let written = 0;
  const chunk = new Uint8Array(64 * 1024);
  (async () => {
    for (;;) written += await w.write(chunk);
  })().catch(() => {});
  for (let last = -1; last !== written;) {
    last = written;
    await new Promise((r) => setTimeout(r, 300));
  }
}

Deno.test("relay: a stream reset ends the relay while its write to a backend is blocked", async () => {
  const [dialed, accepted] = await tcpPair();
  const client = new MuxSession(dialed, { client: true, keepaliveIntervalMs: 0 });
  const server = new MuxSession(accepted, { client: false, keepaliveIntervalMs: 0 });
  const [relaySide, backend] = await tcpPair(); // backend never reads
  try {
    const up = server.open();
    await up.write(new Uint8Array(1));
    const down = (await client.accept())!;
    const relayed = relay(down, relaySide, { writeTimeoutMs: 0 });
    await fillUntilBlocked(up);
    up.reset();
    await within(relayed, 10_000, "the relay did not end after the reset");
    // The backend's end sees its peer gone once it reads (data, then EOF or reset).
    const buf = new Uint8Array(1 << 20);
    let ended = false;
    try {
      while ((await backend.read(buf)) !== null) { /* drain */ }
      ended = true;
    } catch {
      ended = true;
    }
    assert(ended);
  } finally {
    backend.close();
    client.close();
    server.close();
    await Promise.all([client.closed, server.closed]);
  }
});

Deno.test("relay: a write without progress for writeTimeoutMs resets the stream and closes the socket", async () => {
  const [dialed, accepted] = await tcpPair();
  const client = new MuxSession(dialed, { client: true, keepaliveIntervalMs: 0 });
  const server = new MuxSession(accepted, { client: false, keepaliveIntervalMs: 0 });
  const [user, relaySide] = await tcpPair();
  try {
    const up = server.open();
    await up.write(new Uint8Array(1));
    const down = (await client.accept())!; // never read: the window runs out
    const relayed = relay(relaySide, up, { writeTimeoutMs: 1_000 });
    await fillUntilBlocked(user);
    await within(relayed, 15_000, "the stalled relay did not end");
    await within(
      new Promise<void>((resolve) => {
        if (down.signal.aborted) resolve();
        else down.signal.addEventListener("abort", () => resolve());
      }),
      10_000,
      "the peer's stream was not reset",
    );
  } finally {
    user.close();
    client.close();
    server.close();
    await Promise.all([client.closed, server.closed]);
  }
});
