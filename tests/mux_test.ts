/**
 * Multiplexer tests over real loopback TCP sockets.
 *
 * @example
 * ```ts
 * // deno test -A tests/mux_test.ts
 * ```
 *
 * @module
 */

import { type MuxOptions, MuxSession, type MuxStream } from "../lib/mux/mod.ts";
import {
  encodeHeader,
  FLAG_SYN,
  HEADER_SIZE,
  INITIAL_WINDOW,
  TYPE_DATA,
  TYPE_WINDOW_UPDATE,
} from "../lib/mux/frame.ts";
import type { Duplex } from "../lib/net/duplex.ts";
import { tcpPair } from "./_tcp_pair.ts";

// No JSR here: tiny local assertions.
function assert(cond: unknown, msg = "assertion failed"): asserts cond {
  if (!cond) throw new Error(msg);
}

function assertEquals(actual: unknown, expected: unknown, msg = ""): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${msg ? msg + ": " : ""}expected ${e}, got ${a}`);
}

async function assertRejects(
  fn: () => Promise<unknown>,
  cls: new (...args: any[]) => Error,
): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof cls) return;
    throw new Error(`expected ${cls.name}, got ${err}`);
  }
  throw new Error(`expected ${cls.name}, nothing was thrown`);
}

async function sessionPair(
  opts: Partial<MuxOptions> = {},
  wrap: (c: Duplex) => Duplex = (c) => c,
): Promise<{ client: MuxSession; server: MuxSession; done: () => Promise<void> }> {
  const [a, b] = await tcpPair({ noDelay: true });
  const client = new MuxSession(wrap(a), { ...opts, client: true });
  const server = new MuxSession(b, { ...opts, client: false });
  return {
    client,
    server,
    done: async () => {
      client.close("test done");
      server.close("test done");
      await Promise.all([client.closed, server.closed]);
    },
  };
}

async function readAll(s: Duplex): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let total = 0;
  const buf = new Uint8Array(64 * 1024);
  for (;;) {
    const n = await s.read(buf);
    if (n === null) break;
    parts.push(buf.slice(0, n));
    total += n;
  }
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

async function readAllChunks(s: MuxStream): Promise<Uint8Array[]> {
  const parts: Uint8Array[] = [];
  for (let c = await s.readChunk(); c; c = await s.readChunk()) parts.push(c);
  return parts;
}

async function sha256(data: Uint8Array | Uint8Array[]): Promise<string> {
  let whole: Uint8Array;
  if (Array.isArray(data)) {
    whole = new Uint8Array(data.reduce((n, c) => n + c.length, 0));
    let off = 0;
    for (const c of data) {
      whole.set(c, off);
      off += c.length;
    }
  } else whole = data;
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", whole as Uint8Array<ArrayBuffer>));
  return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}

function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let off = 0; off < n; off += 65536) {
    crypto.getRandomValues(out.subarray(off, Math.min(n, off + 65536)));
  }
  return out;
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(cond: () => boolean, ms = 2000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error("condition not met in time");
    await delay(5);
  }
}

Deno.test("open/accept both directions, data flows before accept", async () => {
  const { client, server, done } = await sessionPair();
  const c1 = client.open();
  assertEquals(c1.id, 1);
  await c1.write(enc.encode("from client"));
  await c1.closeWrite();
  const s1 = (await server.accept())!;
  assertEquals(s1.id, 1);
  assertEquals(dec.decode(await readAll(s1)), "from client");
  await s1.write(enc.encode("reply"));
  await s1.closeWrite();
  assertEquals(dec.decode(await readAll(c1)), "reply");

  const s2 = server.open();
  assertEquals(s2.id, 2);
  await s2.write(enc.encode("from server"));
  const c2 = (await client.accept())!;
  assertEquals(c2.id, 2);
  const buf = new Uint8Array(100);
  const n = await c2.read(buf);
  assertEquals(dec.decode(buf.subarray(0, n!)), "from server");
  c2.close();
  s2.close();
  await waitFor(() => client.streamCount === 0 && server.streamCount === 0);
  await done();
});

Deno.test("echo 200 concurrent streams with random sizes up to 1 MB, hashes match", async () => {
  const { client, server, done } = await sessionPair();
  const pool = randomBytes(2 << 20);
  const serverSide = (async () => {
    const echoes: Promise<void>[] = [];
    for (let s = await server.accept(); s; s = await server.accept()) {
      const st = s;
      echoes.push((async () => {
        // Echo with a mix of read() and readChunk() paths.
        if (st.id % 4 === 1) {
          for (let c = await st.readChunk(); c; c = await st.readChunk()) await st.write(c);
        } else {
          const buf = new Uint8Array(16 * 1024 + st.id);
          for (let n = await st.read(buf); n !== null; n = await st.read(buf)) {
            await st.write(buf.subarray(0, n));
          }
        }
        await st.closeWrite();
        st.close();
      })());
      if (echoes.length === 200) break;
    }
    await Promise.all(echoes);
  })();
  let total = 0;
  await Promise.all(Array.from({ length: 200 }, async (_, i) => {
    const size = i === 0 ? 0 : Math.floor(Math.random() * (1 << 20)) + 1;
    total += size;
    const off = Math.floor(Math.random() * (pool.length - size));
    const data = pool.subarray(off, off + size);
    const s = client.open();
    const sending = (async () => {
      // Uneven write sizes exercise frame splitting.
      let p = 0;
      while (p < data.length) {
        const n = Math.min(data.length - p, 1 + Math.floor(Math.random() * 300_000));
        await s.write(data.subarray(p, p + n));
        p += n;
      }
      await s.closeWrite();
    })();
    const got = await readAllChunks(s);
    await sending;
    s.close();
    assertEquals(await sha256(got), await sha256(data), `stream ${s.id}, ${size} bytes`);
  }));
  await serverSide;
  assert(total > 0);
  await waitFor(() => client.streamCount === 0 && server.streamCount === 0);
  assertEquals(client.isClosed, false);
  await done();
});

Deno.test("half-close each way independently", async () => {
  const { client, server, done } = await sessionPair();
  // Client finishes its request first, then keeps reading a long reply.
  const c = client.open();
  await c.write(enc.encode("request"));
  await c.closeWrite();
  await assertRejects(() => c.write(enc.encode("x")), Deno.errors.BrokenPipe);
  const s = (await server.accept())!;
  assertEquals(dec.decode(await readAll(s)), "request");
  assertEquals(await s.read(new Uint8Array(10)), null);
  for (let i = 0; i < 5; i++) await s.write(enc.encode(`part${i};`));
  assertEquals(server.streamCount, 1);
  await s.closeWrite();
  assertEquals(dec.decode(await readAll(c)), "part0;part1;part2;part3;part4;");
  await waitFor(() => client.streamCount === 0 && server.streamCount === 0);

  // Server side closes its write half first; client still sends afterwards.
  const c2 = client.open();
  await c2.write(enc.encode("hello"));
  const s2 = (await server.accept())!;
  await s2.write(enc.encode("bye"));
  await s2.closeWrite();
  assertEquals(dec.decode(await readAll(c2)), "bye");
  await c2.write(enc.encode(" world"));
  await c2.closeWrite();
  assertEquals(dec.decode(await readAll(s2)), "hello world");
  await waitFor(() => client.streamCount === 0 && server.streamCount === 0);
  await done();
});

Deno.test("reset aborts both directions and frees the stream", async () => {
  const { client, server, done } = await sessionPair();
  const c = client.open();
  await c.write(enc.encode("x"));
  const s = (await server.accept())!;
  assertEquals(await s.read(new Uint8Array(1)), 1);
  const pendingRead = s.read(new Uint8Array(10));
  c.reset();
  await assertRejects(() => pendingRead, Deno.errors.ConnectionReset);
  await assertRejects(() => s.write(enc.encode("y")), Deno.errors.ConnectionReset);
  await assertRejects(() => c.read(new Uint8Array(1)), Deno.errors.ConnectionReset);
  await assertRejects(() => c.write(enc.encode("y")), Deno.errors.ConnectionReset);
  assertEquals(client.streamCount, 0);
  await waitFor(() => server.streamCount === 0);

  // A writer blocked on the window is released by the peer's reset.
  const c2 = client.open();
  const s2 = (await server.accept())!;
  const blocked = c2.write(new Uint8Array(INITIAL_WINDOW * 3));
  await delay(50);
  s2.reset();
  await assertRejects(() => blocked, Deno.errors.ConnectionReset);
  await waitFor(() => client.streamCount === 0 && server.streamCount === 0);
  assertEquals(client.isClosed, false);
  await done();
});

Deno.test("flow control: an unread stream stalls only its own writer", async () => {
  const { client, server, done } = await sessionPair();
  const stalled = client.open();
  let stalledWritten = 0;
  let stalledDone = false;
  const chunk = new Uint8Array(64 * 1024);
  const stalledWriter = (async () => {
    try {
      for (let i = 0; i < 64; i++) {
        await stalled.write(chunk);
        stalledWritten += chunk.length;
      }
    } catch { /* reset at the end */ }
    stalledDone = true;
  })();
  const sStalled = (await server.accept())!; // accepted, never read

  const busy = client.open();
  const sBusy = (await server.accept())!;
  const data = randomBytes(16 << 20);
  const writer = (async () => {
    for (let off = 0; off < data.length; off += 100_000) {
      await busy.write(data.subarray(off, Math.min(data.length, off + 100_000)));
    }
    await busy.closeWrite();
  })();
  const got = await readAll(sBusy);
  await writer;
  assertEquals(await sha256(got), await sha256(data));
  // The unread stream got no more than its window through.
  assert(!stalledDone, "writer of the unread stream should still be blocked");
  assert(stalledWritten <= INITIAL_WINDOW, `wrote ${stalledWritten} bytes into an unread stream`);
  // Reading it lets its writer go on.
  const reading = readAll(sStalled);
  await stalledWriter;
  assertEquals(stalledWritten, 64 * chunk.length);
  await stalled.closeWrite();
  assertEquals((await reading).length, 64 * chunk.length);
  busy.close();
  stalled.close();
  sBusy.close();
  sStalled.close();
  await waitFor(() => client.streamCount === 0 && server.streamCount === 0);
  await done();
});

Deno.test("larger and smaller stream windows are honoured", async () => {
  for (const streamWindow of [4 << 20, 16 * 1024]) {
    const { client, server, done } = await sessionPair({ streamWindow });
    const c = client.open();
    const s = (await server.accept())!;
    const data = randomBytes(3 << 20);
    const w = (async () => {
      await c.write(data);
      await c.closeWrite();
    })();
    assertEquals(await sha256(await readAll(s)), await sha256(data));
    await w;
    await done();
  }
});

Deno.test("keepalive: a peer that stops answering closes the session in time", async () => {
  const [a, b] = await tcpPair({ noDelay: true }); // b never reads nor writes: a dead peer
  const reasons: string[] = [];
  const t0 = Date.now();
  const s = new MuxSession(a, {
    client: true,
    keepaliveIntervalMs: 50,
    keepaliveTimeoutMs: 300,
    onClose: (r) => reasons.push(r),
  });
  const reason = await s.closed;
  const took = Date.now() - t0;
  assert(reason.startsWith("keepalive timeout"), reason);
  // Not before the timeout; the upper bound only says "closed, not hung": timers on a
  // loaded machine (tests run in parallel on 2 cores) fire late, so it is generous.
  assert(took >= 290 && took < 10_000, `closed after ${took} ms`);
  assertEquals(reasons, [reason]);
  b.close();
});

Deno.test("keepalive: an idle but live peer keeps the session up", async () => {
  const { client, server, done } = await sessionPair({
    keepaliveIntervalMs: 30,
    keepaliveTimeoutMs: 150,
  });
  await delay(500);
  assertEquals(client.isClosed, false);
  assertEquals(server.isClosed, false);
  await done();
});

Deno.test("go-away: no new streams, existing ones finish, then both sides close", async () => {
  const { client, server } = await sessionPair();
  const c = client.open();
  await c.write(enc.encode("before"));
  const s = (await server.accept())!;
  await server.goAway();
  assertEquals(await server.accept(), null);
  // The dialer sees the GO_AWAY and may not open any more.
  await waitFor(() => {
    try {
      client.open().reset();
      return false;
    } catch {
      return true;
    }
  });
  assertEquals(await client.accept(), null);
  // The existing stream still works both ways.
  await s.write(enc.encode("still here"));
  await s.closeWrite();
  assertEquals(dec.decode(await readAll(c)), "still here");
  await c.write(enc.encode(" and more"));
  await c.closeWrite();
  assertEquals(dec.decode(await readAll(s)), "before and more");
  const [rc, rs] = await Promise.all([client.closed, server.closed]);
  assert(rc.startsWith("go away"), rc);
  assert(rs.startsWith("go away"), rs);
});

Deno.test("go-away with no streams closes promptly", async () => {
  const { client, server } = await sessionPair();
  await client.goAway();
  const [rc, rs] = await Promise.all([client.closed, server.closed]);
  assert(rc.startsWith("go away") && rs.startsWith("go away"), `${rc} / ${rs}`);
});

async function rawPeer(
  bytes: Uint8Array,
  client = true,
  hangUp = false,
): Promise<{ reason: string; calls: string[] }> {
  const [a, b] = await tcpPair({ noDelay: true });
  const calls: string[] = [];
  const s = new MuxSession(a, { client, onClose: (r) => calls.push(r) });
  await b.write(bytes).catch(() => {});
  if (hangUp) await b.closeWrite();
  const reason = await s.closed;
  b.close();
  return { reason, calls };
}

function header(type: number, flags: number, id: number, length: number): Uint8Array {
  const h = new Uint8Array(HEADER_SIZE);
  encodeHeader(h, 0, type, flags, id, length);
  return h;
}

Deno.test("malformed input closes the session with a reason, never crashes", async () => {
  const garbage = await rawPeer(enc.encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  assert(garbage.reason.includes("unsupported frame version"), garbage.reason);
  assertEquals(garbage.calls, [garbage.reason]);

  const huge = await rawPeer(header(TYPE_DATA, FLAG_SYN, 2, 0x7fff_ffff));
  assert(huge.reason.includes("exceeds"), huge.reason);

  const unknownType = await rawPeer(header(9, 0, 2, 0));
  assert(unknownType.reason.includes("unknown frame type"), unknownType.reason);

  // The raw peer is the dialer (odd ids) talking to a server session.
  const parity = await rawPeer(header(TYPE_WINDOW_UPDATE, FLAG_SYN, 2, 0), false);
  assert(parity.reason.includes("parity"), parity.reason);

  const over = new Uint8Array(HEADER_SIZE * 3 + 2 * 200_000);
  over.set(header(TYPE_WINDOW_UPDATE, FLAG_SYN, 1, 0), 0);
  over.set(header(TYPE_DATA, 0, 1, 200_000), HEADER_SIZE);
  over.set(header(TYPE_DATA, 0, 1, 200_000), 2 * HEADER_SIZE + 200_000);
  const window = await rawPeer(over, false);
  assert(window.reason.includes("beyond the granted window"), window.reason);

  // Truncated mid-payload: the peer hangs up.
  const eof = await rawPeer(header(TYPE_DATA, FLAG_SYN, 2, 100), true, true);
  assertEquals(eof.reason, "peer closed the connection");
});

Deno.test("close() ends every stream and pending accept", async () => {
  const { client, server, done } = await sessionPair();
  const c = client.open();
  await c.write(enc.encode("data"));
  const s = (await server.accept())!;
  const pendingAccept = server.accept();
  const pendingRead = c.read(new Uint8Array(10));
  const reasons: string[] = [];
  client.closed.then((r) => reasons.push(r));
  client.close("bye");
  await assertRejects(() => pendingRead, Deno.errors.ConnectionAborted);
  await assertRejects(() => c.write(enc.encode("x")), Deno.errors.ConnectionAborted);
  assertEquals(client.streamCount, 0);
  assertEquals(client.isClosed, true);
  // The far side sees the connection go: received data stays readable, then an error.
  const buf = new Uint8Array(10);
  assertEquals(await s.read(buf), 4);
  await assertRejects(() => s.read(buf), Deno.errors.ConnectionAborted);
  assertEquals(await pendingAccept, null);
  assertEquals(await server.closed, "peer closed the connection");
  assertEquals(server.streamCount, 0);
  assertEquals(reasons, ["bye"]);
  assertEquals(await client.accept(), null);
  let threw = false;
  try {
    client.open();
  } catch {
    threw = true;
  }
  assert(threw, "open() on a closed session must throw");
  await done();
});

Deno.test("small frames from many streams coalesce into few conn writes", async () => {
  let writes = 0;
  const counting = (c: Duplex): Duplex => ({
    read: (p) => c.read(p),
    write: (p) => {
      writes++;
      return c.write(p);
    },
    closeWrite: () => c.closeWrite(),
    close: () => c.close(),
  });
  const { client, server, done } = await sessionPair({}, counting);
  const streams = Array.from({ length: 100 }, () => client.open());
  await Promise.all(streams.flatMap((s) => [1, 2, 3, 4, 5].map(() => s.write(enc.encode("tiny")))));
  let got = 0;
  for (let i = 0; i < 100; i++) {
    const s = (await server.accept())!;
    got += (await s.read(new Uint8Array(100)))!;
  }
  assert(got >= 400, `${got}`); // 5 × 4 bytes per stream, maybe over several reads
  assert(writes <= 5, `${writes} conn writes for 600 frames`);
  await done();
});

Deno.test("1,000 idle streams stay cheap", async () => {
  const { client, server, done } = await sessionPair();
  const before = Deno.memoryUsage().heapUsed;
  const mine = Array.from({ length: 1000 }, () => client.open());
  const theirs: MuxStream[] = [];
  for (let i = 0; i < 1000; i++) theirs.push((await server.accept())!);
  const after = Deno.memoryUsage().heapUsed;
  assertEquals(client.streamCount, 1000);
  assertEquals(server.streamCount, 1000);
  // A bound on what 2,000 idle streams may hold (5 KiB each, about 10× what they use), not a
  // measurement: per-connection memory is measured in bench/ (docs/performance.md).
  assert(after - before < 10 << 20, `${after - before} bytes for 2 × 1000 streams`);
  for (const s of mine) s.close();
  for (const s of theirs) s.close();
  await waitFor(() => client.streamCount === 0 && server.streamCount === 0);
  await done();
});

Deno.test("buffer pool recycles only its own blocks", async () => {
  const { BufferPool } = await import("../lib/mux/buffer_pool.ts");
  const pool = new BufferPool();
  const a = pool.take(100_000);
  assertEquals(a.length, 100_000);
  assertEquals(a.buffer.byteLength, 128 * 1024);
  pool.give(a.subarray(5));
  const b = pool.take(70_000);
  assert(b.buffer === a.buffer, "block should be reused");
  pool.give(new Uint8Array(128 * 1024)); // foreign: ignored
  const c = pool.take(128 * 1024);
  assert(c.buffer !== b.buffer, "a block in use must not be handed out twice");
  assertEquals(pool.take(100).length, 100);
});

Deno.test("close() discards unread data but lets the peer finish", async () => {
  const { client, server, done } = await sessionPair();
  const c = client.open();
  await c.write(enc.encode("go"));
  const s = (await server.accept())!;
  c.close(); // never reads the reply
  assertEquals(await s.read(new Uint8Array(10)), 2);
  assertEquals(await s.read(new Uint8Array(10)), null); // our FIN arrived
  await s.write(new Uint8Array(4 * INITIAL_WINDOW)); // more than one window: needs grants
  await s.closeWrite();
  await waitFor(() => client.streamCount === 0 && server.streamCount === 0);
  assertEquals(await c.read(new Uint8Array(10)), null);
  await done();
});

/** A stream that completed both ways (FIN each way), seen from the client. */
async function completedStream(client: MuxSession, server: MuxSession): Promise<MuxStream> {
  const c = client.open();
  await c.closeWrite();
  const d = (await server.accept())!;
  assertEquals(await d.read(new Uint8Array(8)), null);
  await d.closeWrite();
  assertEquals(await c.read(new Uint8Array(8)), null);
  return c;
}

Deno.test("signal: aborts on a reset from either side and on a session end before FIN, not on a clean end", async () => {
  const { client, server, done } = await sessionPair();
  try {
    const a = client.open();
    await a.write(new Uint8Array([1]));
    const b = (await server.accept())!;
    const signalA = a.signal;
    b.reset();
    await new Promise<void>((resolve) => signalA.addEventListener("abort", () => resolve()));
    assert(b.signal.aborted, "the side that reset is aborted too");

    // A stream that completed both ways never aborts, even when the session ends later.
    const c = await completedStream(client, server);
    // One still open in both directions aborts when the session dies.
    const e = client.open();
    await e.write(new Uint8Array([1]));
    await server.accept();
    client.close("test over");
    assert(e.signal.aborted, "open stream: aborted by the session's end");
    assert(!c.signal.aborted, "completed stream: not aborted");
  } finally {
    await done();
  }
});

Deno.test("close() with a write blocked on the peer's window resets the stream; the write rejects", async () => {
  const { client, server, done } = await sessionPair();
  try {
    const a = client.open();
    // The peer never reads: the write blocks once the window is used up.
    const writing = a.write(new Uint8Array(4 * 1024 * 1024));
    const b = (await server.accept())!;
    await new Promise((r) => setTimeout(r, 200));
    a.close();
    await assertRejects(() => writing, Deno.errors.ConnectionReset);
    // The peer sees a reset, not a clean end after truncated data.
    await new Promise<void>((resolve) => {
      if (b.signal.aborted) resolve();
      else b.signal.addEventListener("abort", () => resolve());
    });
    assert(!client.isClosed && !server.isClosed, "the session lives on");
  } finally {
    await done();
  }
});

Deno.test("maxIncomingStreams: SYNs over the cap are reset, the session lives", async () => {
  const { client, server, done } = await sessionPair({ maxIncomingStreams: 3 });
  try {
    const streams = Array.from({ length: 5 }, () => client.open());
    for (const s of streams) await s.write(new Uint8Array([7]));
    for (const s of streams.slice(3)) {
      await assertRejects(() => s.read(new Uint8Array(1)), Deno.errors.ConnectionReset);
    }
    assertEquals(server.streamCount, 3);
    // Freeing one makes room for the next.
    const first = (await server.accept())!;
    first.reset();
    const next = client.open();
    await next.write(new Uint8Array([1]));
    for (let i = 0; i < 2; i++) await server.accept();
    const accepted = await server.accept();
    assertEquals(accepted?.id, next.id);
  } finally {
    await done();
  }
});

Deno.test("importing mod.ts needs no --allow-env", async () => {
  const root = new URL("../", import.meta.url);
  const script = await Deno.makeTempFile({ suffix: ".ts" });
  await Deno.writeTextFile(
    script,
    `import * as m from "${new URL("mod.ts", root)}";\nconsole.log(typeof m.connect);\n`,
  );
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      "--quiet",
      "--config",
      new URL("deno.json", root).pathname,
      script,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  await Deno.remove(script);
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert(out.success, text);
  assertEquals(text.trim(), "function");
});

Deno.test("tryWrite takes a message whole or not at all; mixed with write() across 50 streams and a small window, every byte arrives in order", async () => {
  // The receiver grants only 8 KiB at a time, so after the protocol's initial
  // 256 KiB the writers keep running out of window and tryWrite must refuse.
  const { client, server, done } = await sessionPair({ streamWindow: 8 * 1024 });
  let taken = 0, refused = 0;
  const expected: Uint8Array[] = [];
  const writers = Array.from({ length: 50 }, async (_, i) => {
    const s = client.open();
    const parts: Uint8Array[] = [];
    for (let m = 0; m < 150; m++) {
      const msg = randomBytes(1 + ((i * 977 + m * 131) % 4000));
      parts.push(msg);
      if (s.tryWrite(msg)) taken++;
      else {
        refused++;
        await s.write(msg);
      }
    }
    expected[i] = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let off = 0;
    for (const p of parts) {
      expected[i].set(p, off);
      off += p.length;
    }
    await s.closeWrite();
    assert(!s.tryWrite(enc.encode("late")), "tryWrite after closeWrite");
    await assertRejects(() => s.write(enc.encode("late")), Deno.errors.BrokenPipe);
    return s.id;
  });
  const readers: Promise<[number, string]>[] = [];
  for (let i = 0; i < 50; i++) {
    const s = (await server.accept())!;
    readers.push((async () => {
      // A read buffer smaller than most messages: payloads split across reads.
      const parts: Uint8Array[] = [];
      const buf = new Uint8Array(700);
      for (let n; (n = await s.read(buf)) !== null;) parts.push(buf.slice(0, n));
      return [s.id, await sha256(parts)];
    })());
  }
  const ids = await Promise.all(writers);
  const got = new Map(await Promise.all(readers));
  for (let i = 0; i < 50; i++) {
    assertEquals(got.get(ids[i]), await sha256(expected[i]), `stream ${ids[i]}`);
  }
  assert(taken > 0 && refused > 0, `taken ${taken}, refused ${refused}`);
  await done();
});

Deno.test("a read waiting for data ends cleanly on FIN, rejects on reset, returns null after close()", async () => {
  const { client, server, done } = await sessionPair();
  const a = client.open(), b = client.open(), c = client.open();
  await a.write(enc.encode("x"));
  await b.write(enc.encode("x"));
  await c.write(enc.encode("x"));
  const [sa, sb, sc] = [
    (await server.accept())!,
    (await server.accept())!,
    (await server.accept())!,
  ];
  const buf = new Uint8Array(10);
  for (const s of [sa, sb, sc]) assertEquals(await s.read(buf), 1);
  const fin = sa.read(buf), reset = sb.read(buf), closed = sc.read(buf);
  await a.closeWrite();
  b.reset();
  sc.close();
  assertEquals(await fin, null);
  await assertRejects(() => reset, Deno.errors.ConnectionReset);
  assertEquals(await closed, null);
  await done();
});

Deno.test("onBreak: once on a reset or a session end before FIN, at once when already broken, never after forget or a clean end", async () => {
  const { client, server, done } = await sessionPair();
  try {
    const a = client.open();
    await a.write(new Uint8Array([1]));
    const b = (await server.accept())!;
    let broke = 0, forgotten = 0;
    a.onBreak(() => broke++);
    a.onBreak(() => forgotten++)();
    const reset = Promise.withResolvers<void>();
    a.onBreak(() => reset.resolve());
    b.reset();
    await reset.promise;
    assertEquals([broke, forgotten], [1, 0]);
    let late = 0;
    a.onBreak(() => late++);
    assertEquals(late, 1, "already broken: called at once");

    // Completed both ways: never called, even when the session ends later.
    const c = await completedStream(client, server);
    let cleanCalls = 0;
    c.onBreak(() => cleanCalls++);
    const e = client.open();
    await e.write(new Uint8Array([1]));
    await server.accept();
    let open = 0;
    e.onBreak(() => open++);
    client.close("test over");
    assertEquals([open, cleanCalls], [1, 0]);
  } finally {
    await done();
  }
});

Deno.test("answerAfterFin: a FIN is followed by one PING until the peer sends anything", async () => {
  // The raw peer reads what the session writes: the server's end of TLS holds a
  // small write until the previous one is acknowledged, and the PING's answer is
  // what carries that acknowledgement back.
  const [raw, conn] = await tcpPair({ noDelay: true });
  const session = new MuxSession(conn, { client: true, answerAfterFin: true });
  const PING = 2;
  const ACK = 0x2;
  let pending = new Uint8Array(0);
  /** Frames (type, flags) up to and including the session's answer to our PING `mark`. */
  const framesUntilAnswer = async (mark: number) => {
    await raw.write(header(PING, FLAG_SYN, 0, mark));
    const frames: Array<[number, number]> = [];
    const buf = new Uint8Array(4096);
    for (;;) {
      while (pending.length >= HEADER_SIZE) {
        const view = new DataView(pending.buffer, pending.byteOffset);
        const [type, flags, length] = [pending[1], view.getUint16(2), view.getUint32(8)];
        pending = pending.subarray(HEADER_SIZE + (type === TYPE_DATA ? length : 0));
        if (type === PING && flags === ACK && length === mark) return frames;
        frames.push([type, flags]);
      }
      const n = await raw.read(buf);
      if (n === null) throw new Error("session hung up");
      const next = new Uint8Array(pending.length + n);
      next.set(pending);
      next.set(buf.subarray(0, n), pending.length);
      pending = next;
    }
  };
  const pings = (frames: Array<[number, number]>) =>
    frames.filter(([t, f]) => t === PING && f === FLAG_SYN).length;
  const a = session.open();
  const b = session.open();
  await a.closeWrite();
  await b.closeWrite();
  // SYN a, SYN b, FIN a, PING, FIN b: one PING while it is unanswered.
  const first = await framesUntilAnswer(7);
  assertEquals(pings(first), 1, JSON.stringify(first));
  // Our PING arrived since: the next FIN brings a PING again.
  const c = session.open();
  await c.closeWrite();
  const second = await framesUntilAnswer(8);
  assertEquals(pings(second), 1, JSON.stringify(second));
  session.close("done");
  raw.close();
  await session.closed;
});
