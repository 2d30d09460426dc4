import { socketPair } from "./_tcp_pair.ts";
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { randomBytes, sha256 } from "./_harness.ts";
import type { Duplex } from "../lib/net/duplex.ts";
import { writeAll } from "../lib/net/duplex.ts";
import { relay } from "../lib/net/relay.ts";
import { wrapWorkConn } from "../lib/net/work_conn_options.ts";

async function readAll(conn: Duplex): Promise<Uint8Array<ArrayBuffer>> {
  const parts: Uint8Array[] = [];
  const buf = new Uint8Array(32 * 1024);
  for (let n; (n = await conn.read(buf)) !== null;) parts.push(buf.slice(0, n));
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

const combos = [
  { useEncryption: true, useCompression: false },
  { useEncryption: false, useCompression: true },
  { useEncryption: true, useCompression: true },
];

for (const transport of combos) {
  const label = `enc=${transport.useEncryption} comp=${transport.useCompression}`;

  Deno.test(`work conn ${label}: both directions carry every byte, half-close included`, async () => {
    const [rawA, rawB] = await socketPair();
    const a = wrapWorkConn(rawA, { transport }, "tok");
    const b = wrapWorkConn(rawB, { transport }, "tok");
    const up = randomBytes(300_000);
    const down = new TextEncoder().encode("text ".repeat(50_000));
    const [gotUp, gotDown] = await Promise.all([
      readAll(b),
      readAll(a),
      (async () => {
        await writeAll(a, up);
        await a.closeWrite();
      })(),
      (async () => {
        await writeAll(b, down);
        await b.closeWrite();
      })(),
    ]);
    assertEquals(await sha256(gotUp), await sha256(up));
    assertEquals(await sha256(gotDown), await sha256(down));
    a.close();
    b.close();
  });

  Deno.test(`work conn ${label}: 100 small round trips each answered before the next`, async () => {
    const [rawA, rawB] = await socketPair();
    const a = wrapWorkConn(rawA, { transport }, "tok");
    const b = wrapWorkConn(rawB, { transport }, "tok");
    const echoing = (async () => {
      const buf = new Uint8Array(1024);
      for (let n; (n = await b.read(buf)) !== null;) await writeAll(b, buf.subarray(0, n));
      await b.closeWrite();
    })();
    const buf = new Uint8Array(64);
    const started = performance.now();
    for (let i = 0; i < 100; i++) {
      const msg = new TextEncoder().encode(`ping ${String(i).padStart(4, "0")}`);
      await writeAll(a, msg);
      let got = 0;
      while (got < msg.length) got += (await a.read(buf.subarray(got)))!;
      assertEquals(
        new TextDecoder().decode(buf.subarray(0, got)),
        `ping ${String(i).padStart(4, "0")}`,
      );
    }
    console.log(
      `${label}: 100 x 10-byte round trips in ${(performance.now() - started).toFixed(0)} ms`,
    );
    await a.closeWrite();
    assertEquals(await a.read(buf), null);
    await echoing;
    a.close();
    b.close();
  });
}

Deno.test("encrypted conn: a flipped bit in a record drops the connection with a reason", async () => {
  const [rawA, rawMid] = await socketPair();
  const [rawMid2, rawB] = await socketPair();
  // A man in the middle that flips one bit of the 40th byte it forwards
  // (past both 17-byte hellos' worth of bytes, inside the first record).
  let seen = 0;
  const tamper: Duplex = {
    read: async (p) => {
      const n = await rawMid.read(p);
      if (n !== null) {
        if (seen <= 40 && 40 < seen + n) p[40 - seen] ^= 0x01;
        seen += n;
      }
      return n;
    },
    write: (p) => rawMid.write(p),
    closeWrite: () => rawMid.closeWrite(),
    close: () => rawMid.close(),
  };
  const relaying = relay(tamper, rawMid2);
  const reasons: string[] = [];
  const a = wrapWorkConn(rawA, { transport: { useEncryption: true } }, "tok");
  const b = wrapWorkConn(
    rawB,
    { transport: { useEncryption: true } },
    "tok",
    (r) => reasons.push(r),
  );
  await writeAll(a, new TextEncoder().encode("a record that will be tampered with"));
  let error: Error | undefined;
  try {
    await b.read(new Uint8Array(100));
  } catch (err) {
    error = err as Error;
  }
  assert(error, "the tampered record must not be delivered");
  assertMatch(error.message, /record 0 failed authentication/);
  assertEquals(reasons.length, 1);
  assertMatch(reasons[0], /encrypted connection dropped: record 0 failed authentication/);
  a.close();
  b.close();
  await relaying;
});

Deno.test("encrypted conn: a different secret fails the first record", async () => {
  const [rawA, rawB] = await socketPair();
  const reasons: string[] = [];
  const a = wrapWorkConn(rawA, { transport: { useEncryption: true } }, "one");
  const b = wrapWorkConn(
    rawB,
    { transport: { useEncryption: true } },
    "two",
    (r) => reasons.push(r),
  );
  await writeAll(a, new TextEncoder().encode("hello"));
  const err = await b.read(new Uint8Array(10)).then(() => null, (e) => e as Error);
  assert(err);
  assertMatch(reasons[0], /failed authentication/);
  a.close();
  b.close();
});

Deno.test("encrypted conn: a stream cut without its final record is reported truncated", async () => {
  const [rawA, rawB] = await socketPair();
  const reasons: string[] = [];
  const a = wrapWorkConn(rawA, { transport: { useEncryption: true } }, "k");
  const b = wrapWorkConn(rawB, { transport: { useEncryption: true } }, "k", (r) => reasons.push(r));
  await writeAll(a, new TextEncoder().encode("partial"));
  const buf = new Uint8Array(100);
  assertEquals(await b.read(buf), 7);
  await rawA.closeWrite(); // raw end of stream, no final record
  const err = await b.read(buf).then(() => null, (e) => e as Error);
  assert(err);
  assertMatch(reasons[0], /truncated/);
  a.close();
  b.close();
});

Deno.test("compressed conn: compressible data shrinks on the wire", async () => {
  const [rawA, rawB] = await socketPair();
  let wire = 0;
  const counting: Duplex = {
    read: (p) => rawA.read(p),
    write: async (p) => {
      const n = await rawA.write(p);
      wire += n;
      return n;
    },
    closeWrite: () => rawA.closeWrite(),
    close: () => rawA.close(),
  };
  const a = wrapWorkConn(counting, { transport: { useCompression: true } }, "");
  const b = wrapWorkConn(rawB, { transport: { useCompression: true } }, "");
  const text = new TextEncoder().encode(
    "GET /index.html HTTP/1.1\r\nHost: example.com\r\n\r\n".repeat(2000),
  );
  const [got] = await Promise.all([readAll(b), writeAll(a, text).then(() => a.closeWrite())]);
  assertEquals(got.length, text.length);
  console.log(`compression: ${text.length} bytes sent as ${wire} on the wire`);
  assert(wire < text.length / 10, `expected strong compression, got ${wire}`);
  a.close();
  b.close();
});
