/**
 * Property-based fuzzing of a live server: more than 10,000 generated and
 * mutated frames (fast-check) at the control codec — before login, on visitor
 * streams and on the control channel of real logged-in sessions — and at the
 * mux frame decoder of real logged-in sessions. Throughout, an echo through
 * a real client's tcp proxy must answer, the server must not exit or log an
 * uncaught error, and its RSS must stay bounded.
 */

import fc from "fast-check";
import { assert, assertEquals } from "./_assert.ts";
import { startEchoProxy } from "./_echo_proxy.ts";
import { assertEchoesText, freePortBlock, roundTrip, startServer } from "./_harness.ts";
import { type Duplex, writeAll } from "../lib/net/duplex.ts";
import { wrapTcp } from "../lib/net/tcp_conn.ts";
import { MuxSession } from "../lib/mux/mod.ts";
import { prove, randomHex } from "../lib/protocol/auth.ts";
import { expectMessage, writeMessage } from "../lib/protocol/codec.ts";
import { MAGIC } from "../lib/protocol/magic.ts";
import { MESSAGE_TYPES, PROTOCOL_VERSION } from "../lib/protocol/messages.ts";

const TOKEN = "fuzz-token";
const enc = new TextEncoder();
const dec = new TextDecoder();

// ---------------------------------------------------------------- arbitraries

/** Values of every JSON shape, for fields that expect something else. */
const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string({ maxLength: 8 }), { maxLength: 4 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 4 }),
  fc.jsonValue({ maxDepth: 3 }),
);

/** A well-formed example of each message the fuzzer starts from. */
function templates(port: number): Record<string, Record<string, unknown>> {
  return {
    Login: {
      type: "Login",
      version: PROTOCOL_VERSION,
      user: "",
      clientNonce: "00",
      tcpMux: true,
      proof: "00".repeat(32),
    },
    NewProxy: { type: "NewProxy", proxyName: "p", proxyType: "tcp", remotePort: port },
    CloseProxy: { type: "CloseProxy", proxyName: "p" },
    Ping: { type: "Ping" },
    NewWorkConn: { type: "NewWorkConn", runId: "0123456789abcdef", proof: "00" },
    NewVisitorConn: {
      type: "NewVisitorConn",
      proxyName: "p",
      serverUser: "",
      visitorType: "stcp",
      proof: "00",
    },
    StartWorkConn: { type: "StartWorkConn", proxyName: "p", srcAddr: "", srcPort: 1 },
    NatHoleVisitor: { type: "NatHoleVisitor", sid: "a", addrs: [], natType: "easy", mac: "" },
  };
}

/** A message object: a template with fields replaced, added or removed, or a random one. */
function messageArb(port: number): fc.Arbitrary<unknown> {
  const base = templates(port);
  const fieldNames = [
    ...new Set(Object.values(base).flatMap((t) => Object.keys(t))),
    "transport",
    "loadBalancer",
    "customDomains",
    "locations",
    "allowUsers",
    "metas",
    "requestHeaders",
  ];
  const mutated = fc.record({
    template: fc.constantFrom(...Object.keys(base)),
    changes: fc.array(
      fc.tuple(fc.constantFrom(...fieldNames, "__proto__", "constructor"), anyJson),
      { maxLength: 4 },
    ),
    drop: fc.array(fc.constantFrom(...fieldNames), { maxLength: 2 }),
  }).map(({ template, changes, drop }) => {
    const msg: Record<string, unknown> = { ...base[template] };
    for (const [k, v] of changes) {
      Object.defineProperty(msg, k, {
        value: v,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    for (const k of drop) delete msg[k];
    return msg;
  });
  const random = fc.record({
    type: fc.oneof(fc.constantFrom(...MESSAGE_TYPES), fc.string({ maxLength: 12 }), anyJson),
  }, { requiredKeys: [] }).chain((head) =>
    fc.dictionary(fc.string({ maxLength: 10 }), anyJson, { maxKeys: 6 }).map((rest) => ({
      ...rest,
      ...head,
    }))
  );
  return fc.oneof({ weight: 3, arbitrary: mutated }, { weight: 1, arbitrary: random }, {
    weight: 1,
    arbitrary: anyJson,
  });
}

/** A control frame: a length prefix and a body, either or both possibly wrong. */
function frameArb(port: number): fc.Arbitrary<Uint8Array> {
  const body = fc.oneof(
    { weight: 4, arbitrary: messageArb(port).map((m) => enc.encode(JSON.stringify(m) ?? "null")) },
    // JSON text with bytes flipped, cut or inserted.
    {
      weight: 2,
      arbitrary: fc.tuple(
        messageArb(port),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 4,
        }),
      ).map(([m, edits]) => {
        const bytes = [...enc.encode(JSON.stringify(m) ?? "{}")];
        for (const [at, b] of edits) bytes[at % Math.max(bytes.length, 1)] = b;
        return Uint8Array.from(bytes);
      }),
    },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }) },
  );
  return fc.tuple(
    body,
    fc.oneof(
      { weight: 6, arbitrary: fc.constant("exact" as const) },
      { weight: 1, arbitrary: fc.constantFrom("short", "long", "huge" as const) },
    ),
  ).map(([b, length]) => {
    const size = length === "exact"
      ? b.length
      : length === "short"
      ? Math.max(0, b.length - 3)
      : length === "long"
      ? b.length + 7
      : 0x7fff_ffff;
    const frame = new Uint8Array(4 + b.length);
    new DataView(frame.buffer).setUint32(0, size);
    frame.set(b, 4);
    return frame;
  });
}

/** A mux frame: a header with each field possibly wrong, and a payload. */
const muxFrameArb: fc.Arbitrary<Uint8Array> = fc.record({
  version: fc.oneof({ weight: 8, arbitrary: fc.constant(1) }, {
    weight: 1,
    arbitrary: fc.integer({ min: 0, max: 255 }),
  }),
  type: fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 0, max: 3 }) }, {
    weight: 1,
    arbitrary: fc.integer({ min: 0, max: 255 }),
  }),
  flags: fc.oneof(fc.constantFrom(0, 1, 2, 4, 8, 5, 9, 12), fc.integer({ min: 0, max: 0xffff })),
  streamId: fc.oneof(
    fc.constantFrom(0, 1, 2, 3, 5, 7),
    fc.integer({ min: 0, max: 0xffff_ffff }),
  ),
  payload: fc.uint8Array({ maxLength: 300 }),
  length: fc.oneof(
    { weight: 6, arbitrary: fc.constant(-1) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff_ffff }) },
  ),
}).map((f) => {
  const frame = new Uint8Array(12 + f.payload.length);
  const view = new DataView(frame.buffer);
  view.setUint8(0, f.version);
  view.setUint8(1, f.type);
  view.setUint16(2, f.flags);
  view.setUint32(4, f.streamId);
  view.setUint32(8, f.length === -1 ? f.payload.length : f.length);
  frame.set(f.payload, 12);
  return frame;
});

// ---------------------------------------------------------------- raw peers

/** Reads until the peer closes or `ms` pass; never throws. */
async function drain(conn: Duplex, ms = 3000): Promise<void> {
  const buf = new Uint8Array(16 * 1024);
  const timer = setTimeout(() => conn.close(), ms);
  try {
    while ((await conn.read(buf)) !== null) { /* discard */ }
  } catch {
    // Reset or closed by us: done either way.
  } finally {
    clearTimeout(timer);
    conn.close();
  }
}

async function dial(port: number): Promise<Duplex> {
  const conn = wrapTcp(await Deno.connect({ hostname: "127.0.0.1", port }));
  await writeAll(conn, MAGIC);
  return conn;
}

/** Logs in on a raw connection with a correct proof; the server's answer must accept it. */
async function rawLogin(port: number, tcpMux: boolean): Promise<Duplex> {
  const conn = await dial(port);
  const hello = await expectMessage(conn, "ServerHello");
  const clientNonce = randomHex(32);
  await writeMessage(conn, {
    type: "Login",
    version: PROTOCOL_VERSION,
    software: "fuzz",
    user: "",
    clientNonce,
    tcpMux,
    proof: await prove(TOKEN, ["login", hello.nonce, clientNonce, "", String(tcpMux)]),
  });
  const resp = await expectMessage(conn, "LoginResp");
  assertEquals(resp.error, "");
  return conn;
}

async function inBatches<T>(items: T[], size: number, fn: (item: T) => Promise<void>) {
  for (let i = 0; i < items.length; i += size) {
    await Promise.all(items.slice(i, i + size).map(fn));
  }
}

function rssKiB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(status.match(/VmRSS:\s+(\d+)/)?.[1] ?? 0);
}

// ---------------------------------------------------------------- the test

Deno.test("fuzz: 10,000+ generated and mutated frames at the codec and mux decoder of a live server", async () => {
  const ports = freePortBlock(4);
  await using server = await startServer(`
auth.token = "${TOKEN}"
auth.maxFailedLogins = 1000000
allowPorts = [{ start = ${ports}, end = ${ports + 3} }]
`);
  await using _witness = await startEchoProxy(server.port, TOKEN, {
    name: "witness",
    remotePort: ports,
  });

  // The witness: an echo through the real proxy, every 200 ms, all along.
  let echoes = 0;
  const failures: string[] = [];
  let fuzzing = true;
  const witness = (async () => {
    while (fuzzing) {
      const text = `ping ${echoes}`;
      try {
        const back = dec.decode(await roundTrip(ports, enc.encode(text)));
        if (back === text) echoes++;
        else failures.push(`echo answered ${JSON.stringify(back)}`);
      } catch (err) {
        failures.push((err as Error).message);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  let exited = false;
  server.exited.then(() => exited = true);
  const pid = server.child.pid;
  const rssBefore = rssKiB(pid);
  let rssMax = rssBefore;
  const sampler = setInterval(() => {
    if (!exited) rssMax = Math.max(rssMax, rssKiB(pid));
  }, 250);

  const seed = Date.now() & 0x7fff_ffff;
  const counts = { preLogin: 0, visitor: 0, control: 0, mux: 0 };
  try {
    // 1. The first frame of a connection (Login, NewWorkConn, NewVisitorConn, or anything).
    const preLogin = fc.sample(frameArb(ports + 1), { numRuns: 3000, seed });
    await inBatches(preLogin, 50, async (frame) => {
      const conn = await dial(server.port);
      try {
        await expectMessage(conn, "ServerHello");
        await writeAll(conn, frame);
        counts.preLogin++;
        await conn.closeWrite();
      } catch {
        // The server may already have closed: that is a pass.
      }
      await drain(conn);
    });

    // 2. Visitor streams of a logged-in mux session: each stream takes one frame.
    await fc.assert(
      fc.asyncProperty(
        fc.array(frameArb(ports + 1), { minLength: 30, maxLength: 30 }),
        async (frames) => {
          const mux = new MuxSession(await rawLogin(server.port, true), { client: true });
          mux.open(); // the control stream
          try {
            await Promise.all(frames.map(async (frame) => {
              const stream = mux.open();
              try {
                await expectMessage(stream, "ServerHello");
                await writeAll(stream, frame);
                counts.visitor++;
                await stream.closeWrite();
              } catch {
                // Refused: a pass.
              }
              await drain(stream);
            }));
          } finally {
            mux.close("done");
          }
          return !exited;
        },
      ),
      { numRuns: 140, seed, endOnFailure: true },
    );

    // 3. The control channel of logged-in sessions: frames until the server
    //    ends the session on a bad one.
    await fc.assert(
      fc.asyncProperty(
        fc.array(frameArb(ports + 1), { minLength: 1, maxLength: 40 }),
        async (frames) => {
          const mux = new MuxSession(await rawLogin(server.port, true), { client: true });
          const control = mux.open();
          try {
            for (const frame of frames) {
              await writeAll(control, frame);
              counts.control++;
            }
            await control.closeWrite();
          } catch {
            // The server ended the session: expected after a bad frame.
          }
          await drain(control);
          mux.close("done");
          return !exited;
        },
      ),
      { numRuns: 450, seed, endOnFailure: true },
    );

    // 4. The mux frame decoder of logged-in sessions.
    await fc.assert(
      fc.asyncProperty(fc.array(muxFrameArb, { minLength: 1, maxLength: 40 }), async (frames) => {
        const conn = await rawLogin(server.port, true);
        try {
          for (const frame of frames) {
            await writeAll(conn, frame);
            counts.mux++;
          }
          await conn.closeWrite();
        } catch {
          // The server ended the session: expected after a bad frame.
        }
        await drain(conn);
        return !exited;
      }),
      { numRuns: 350, seed, endOnFailure: true },
    );
  } finally {
    fuzzing = false;
    await witness;
    clearInterval(sampler);
  }

  const total = counts.preLogin + counts.visitor + counts.control + counts.mux;
  console.log(
    `fuzz seed ${seed}: ${total} frames (${JSON.stringify(counts)}), ${echoes} echoes, ` +
      `RSS ${Math.round(rssBefore / 1024)} -> max ${Math.round(rssMax / 1024)} MiB`,
  );
  assert(!exited, `the server exited:\n${server.output.slice(-3000)}`);
  assert(total >= 10_000, `only ${total} frames were sent`);
  assertEquals(failures, [], "the echo through the real proxy failed during the fuzzing");
  assert(echoes > 0, "the witness never echoed");
  assert(!/Uncaught|unhandled/i.test(server.output), server.output.slice(-3000));
  assert(rssMax - rssBefore < 200 * 1024, `server RSS grew by ${rssMax - rssBefore} KiB`);
  // The real client's proxy still answers after it all.
  await assertEchoesText(ports, "after");
});
