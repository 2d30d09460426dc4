/**
 * The typed wire on a live server: a message whose fields have the wrong
 * type ends only its sender's session, with the field and the type expected
 * in the log (or, for a Login, in the `LoginResp`); everyone else keeps
 * working.
 */

import { assertEquals, assertMatch } from "./_assert.ts";
import { startEchoProxy } from "./_echo_proxy.ts";
import { assertEchoesText, startServer } from "./_harness.ts";
import { writeAll } from "../lib/net/duplex.ts";
import { wrapTcp } from "../lib/net/tcp_conn.ts";
import { MuxSession } from "../lib/mux/mod.ts";
import { prove, randomHex } from "../lib/protocol/auth.ts";
import { expectMessage, readMessage, writeMessage } from "../lib/protocol/codec.ts";
import { MAGIC } from "../lib/protocol/magic.ts";
import fc from "fast-check";
import {
  fastStartWorkConn,
  parseMessage,
  PROTOCOL_VERSION,
  StartWorkConnSchema,
} from "../lib/protocol/messages.ts";

const enc = new TextEncoder();

function frame(value: unknown): Uint8Array {
  const body = enc.encode(JSON.stringify(value));
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setUint32(0, body.length);
  out.set(body, 4);
  return out;
}

async function dial(port: number) {
  const conn = wrapTcp(await Deno.connect({ hostname: "127.0.0.1", port }));
  await writeAll(conn, MAGIC);
  return { conn, hello: await expectMessage(conn, "ServerHello") };
}

Deno.test("typed wire: a NewProxy whose proxyName is an object ends only that session, logged with the field and type", async () => {
  await using server = await startServer(`auth.token = "t"`);
  await using proxy = await startEchoProxy(server.port, "t", { name: "good" });
  const { client: good, remotePort } = proxy;

  const { conn, hello } = await dial(server.port);
  const clientNonce = randomHex(32);
  await writeMessage(conn, {
    type: "Login",
    version: PROTOCOL_VERSION,
    user: "",
    clientNonce,
    tcpMux: true,
    proof: await prove("t", ["login", hello.nonce, clientNonce, "", "true"]),
  });
  assertEquals((await expectMessage(conn, "LoginResp")).error, "");
  const mux = new MuxSession(conn, { client: true });
  const control = mux.open();
  // A well-typed NewProxy first: answered, the session works.
  await writeMessage(control, { type: "NewProxy", proxyName: "raw-ok", proxyType: "tcp" });
  const resp = await expectMessage(control, "NewProxyResp");
  assertEquals([resp.proxyName, resp.error], ["raw-ok", ""]);
  // Then the bad one.
  await writeAll(
    control,
    frame({ type: "NewProxy", proxyName: { toString: "x" }, proxyType: "tcp" }),
  );
  // The server ends this session: the stream ends or is aborted, the mux closes.
  assertEquals(await readMessage(control).catch(() => null), null);
  const reason = await mux.closed;
  mux.close("done");
  console.log(`raw session closed: ${reason}`);
  await server.waitFor(
    /sent a bad message: invalid NewProxy message: proxyName: expected string, received object/,
  );
  // Its proxy went with it; the other client and the server go on.
  await server.waitFor(/\[raw-ok\] proxy closed/);
  await assertEchoesText(remotePort, "still here");
  assertEquals(good.output.includes("connection to server lost"), false);
});

Deno.test('typed wire: a Login with version "1" is answered with the type expected', async () => {
  await using server = await startServer(`auth.token = "t"`);
  const { conn } = await dial(server.port);
  try {
    await writeAll(
      conn,
      frame({
        type: "Login",
        version: "1",
        user: "",
        clientNonce: "00",
        tcpMux: true,
        proof: "00",
      }),
    );
    const resp = await expectMessage(conn, "LoginResp");
    assertEquals(
      resp.error,
      "invalid Login message: version: expected number, received string",
    );
    assertEquals(await readMessage(conn), null);
  } finally {
    conn.close();
  }
  await server.waitFor(/dropped: invalid Login message: version: expected number/);
});

Deno.test("typed wire: errors name the field and the type, and quote network text", () => {
  const fail = (value: unknown) => {
    try {
      parseMessage(value);
    } catch (err) {
      return (err as Error).message;
    }
    throw new Error("parsed");
  };
  assertEquals(
    fail({ type: "NewProxy", proxyName: "a", proxyType: "tcp", remotePort: "80" }),
    "invalid NewProxy message: remotePort: expected number, received string",
  );
  assertEquals(
    fail({ type: "NewProxy", proxyName: "a", proxyType: "tcp", customDomains: ["a", 1] }),
    "invalid NewProxy message: customDomains[1]: expected string, received number",
  );
  assertMatch(
    fail({ type: "Evil\n[I] forged line" }),
    /^frame is not a known message \(type "Evil\\n\[I\] forged line"\)$/,
  );
  assertMatch(fail({ type: "x".repeat(500) }), /"x{64}…" \(500 chars\)\)$/);
  assertEquals(fail([1]), "frame is not a JSON object");
  // Defaults fill what a sender may leave out; unknown fields are dropped.
  const msg = parseMessage({ type: "NewProxy", proxyName: "a", proxyType: "tcp", extra: 1 });
  assertEquals(msg.type === "NewProxy" && msg.remotePort, 0);
  assertEquals("extra" in msg, false);
});

Deno.test("StartWorkConn's hand-written fast path agrees with its schema on every frame", () => {
  // Values of every JSON kind (and near-misses: floats, negatives, big ports),
  // in any StartWorkConn field or an unknown one.
  const value = fc.oneof(
    fc.string({ maxLength: 8 }),
    fc.integer({ min: -2, max: 70_000 }),
    fc.double({ noNaN: true }),
    fc.boolean(),
    fc.constant(null),
    fc.array(fc.integer(), { maxLength: 2 }),
    fc.dictionary(fc.string({ maxLength: 3 }), fc.integer(), { maxKeys: 2 }),
  );
  const field = fc.constantFrom(
    "proxyName",
    "srcAddr",
    "srcPort",
    "dstAddr",
    "dstPort",
    "error",
    "visitorUser",
    "visitorNonce",
    "visitorProof",
    "extra",
  );
  const valid = fc.record({
    proxyName: fc.string({ maxLength: 8 }),
    srcAddr: fc.string({ maxLength: 8 }),
    srcPort: fc.integer({ min: 0, max: 65535 }),
    dstAddr: fc.string({ maxLength: 8 }),
    dstPort: fc.integer({ min: 0, max: 65535 }),
    error: fc.string({ maxLength: 8 }),
    visitorUser: fc.string({ maxLength: 8 }),
  }, { requiredKeys: [] });
  const frame = fc.tuple(valid, fc.dictionary(field, value, { maxKeys: 3 }), fc.boolean())
    .map(([good, mutations, mutate]) => ({
      type: "StartWorkConn",
      ...good,
      ...(mutate ? mutations : {}),
    }));
  fc.assert(
    fc.property(frame, (msg) => {
      // JSON round trip: only what the wire can carry.
      const wire = JSON.parse(JSON.stringify(msg));
      const fast = fastStartWorkConn(wire);
      const schema = StartWorkConnSchema.safeParse(wire);
      if (fast === null) {
        // Only bad frames fall back to zod (which then names the wrong field).
        assertEquals(schema.success, false, `fast path refused ${JSON.stringify(wire)}`);
        return;
      }
      assertEquals(schema.success, true, `fast path accepted ${JSON.stringify(wire)}`);
      assertEquals(fast, schema.data);
      assertEquals(parseMessage(wire), schema.data);
    }),
    { numRuns: 3000 },
  );
});
