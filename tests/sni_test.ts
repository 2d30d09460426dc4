import { assert, assertEquals } from "./_assert.ts";
import {
  ClientHelloError,
  MAX_CLIENT_HELLO_BYTES,
  parseClientHello,
  readClientHello,
} from "../lib/server/vhost/sni.ts";

/**
 * Runs `cmd` as a TLS client against a local socket and returns the first
 * TLS record(s) it sent: a real ClientHello, captured without our parser.
 */
async function captureClientHello(cmd: string, args: (port: number) => string[]) {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const child = new Deno.Command(cmd, {
    args: args(listener.addr.port),
    stdin: "piped",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const conn = await listener.accept();
  const buf = new Uint8Array(64 * 1024);
  let filled = 0;
  // Independent of the parser: read until the first record's declared length is in.
  for (;;) {
    const n = await conn.read(buf.subarray(filled));
    if (n === null) break;
    filled += n;
    if (filled >= 5 && filled >= 5 + ((buf[3] << 8) | buf[4])) break;
  }
  conn.close();
  try {
    child.kill("SIGKILL");
  } catch { /* exited */ }
  await child.stdin.close().catch(() => {});
  await child.status;
  return buf.slice(0, filled);
}

const opensslHello = (name: string | null) =>
  captureClientHello("openssl", (port) => [
    "s_client",
    "-connect",
    `127.0.0.1:${port}`,
    ...(name === null ? ["-noservername"] : ["-servername", name]),
  ]);

Deno.test("sni: openssl s_client ClientHello gives its -servername", async () => {
  const hello = await opensslHello("Machine-A.Example.com");
  const parsed = parseClientHello(hello);
  assertEquals(parsed, { kind: "done", serverName: "machine-a.example.com" });
});

Deno.test("sni: curl ClientHello gives the URL's host", async () => {
  const hello = await captureClientHello("curl", (port) => [
    "-sk",
    "--max-time",
    "5",
    "--resolve",
    `web.test.local:${port}:127.0.0.1`,
    `https://web.test.local:${port}/`,
  ]);
  assertEquals(parseClientHello(hello), { kind: "done", serverName: "web.test.local" });
});

Deno.test("sni: a ClientHello without SNI parses to null", async () => {
  const hello = await opensslHello(null);
  assertEquals(parseClientHello(hello), { kind: "done", serverName: null });
});

Deno.test("sni: every truncation asks for more, never throws or guesses", async () => {
  const hello = await opensslHello("trunc.example.com");
  for (let n = 0; n < hello.length; n++) {
    const parsed = parseClientHello(hello.subarray(0, n));
    assertEquals(parsed.kind, "more", `prefix of ${n} bytes`);
  }
});

Deno.test("sni: a ClientHello split across two TLS records is reassembled", async () => {
  const hello = await opensslHello("split.example.com");
  const body = hello.subarray(5);
  const cut = 40;
  const record = (payload: Uint8Array) => {
    const out = new Uint8Array(5 + payload.length);
    out.set([0x16, 3, 1, payload.length >> 8, payload.length & 0xff]);
    out.set(payload, 5);
    return out;
  };
  const a = record(body.subarray(0, cut));
  const b = record(body.subarray(cut));
  const both = new Uint8Array(a.length + b.length);
  both.set(a);
  both.set(b, a.length);
  assertEquals(parseClientHello(both.subarray(0, a.length + 3)).kind, "more");
  assertEquals(parseClientHello(both), { kind: "done", serverName: "split.example.com" });
});

Deno.test("sni: garbage and corrupted ClientHellos are invalid", async () => {
  const enc = new TextEncoder();
  assertEquals(parseClientHello(enc.encode("GET / HTTP/1.1\r\n\r\n")).kind, "invalid");
  assertEquals(parseClientHello(enc.encode("SSH-2.0-OpenSSH_9.6\r\n")).kind, "invalid");
  // A record that is not a handshake (an alert).
  assertEquals(parseClientHello(new Uint8Array([0x15, 3, 3, 0, 2, 2, 40])).kind, "invalid");
  // A handshake record holding a ServerHello (type 2).
  assertEquals(parseClientHello(new Uint8Array([0x16, 3, 3, 0, 4, 2, 0, 0, 0])).kind, "invalid");
  // Zero-length and oversized records.
  assertEquals(parseClientHello(new Uint8Array([0x16, 3, 1, 0, 0])).kind, "invalid");
  assertEquals(parseClientHello(new Uint8Array([0x16, 3, 1, 0x48, 0x01])).kind, "invalid");

  const hello = await opensslHello("corrupt.example.com");
  // Inner lengths that overrun their container: the handshake length says
  // more than the record holds is "more", but an inner length is "invalid".
  const sessionIdLen = 5 + 4 + 2 + 32;
  const bad = hello.slice();
  bad[sessionIdLen] = 200;
  assertEquals(parseClientHello(bad).kind, "invalid");
  // A byte that cannot be in a host name, inside the SNI.
  const at = indexOf(hello, enc.encode("corrupt.example.com"));
  assert(at > 0);
  const nul = hello.slice();
  nul[at + 3] = 0;
  assertEquals(parseClientHello(nul).kind, "invalid");
  // Random bytes after a valid record header never crash the parser.
  for (let i = 0; i < 200; i++) {
    const junk = hello.slice();
    crypto.getRandomValues(junk.subarray(9));
    const kind = parseClientHello(junk).kind;
    assert(kind === "invalid" || kind === "done", `random body parsed as ${kind}`);
  }
});

function indexOf(hay: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** Sends `chunks` over a real loopback connection and runs readClientHello on the far end. */
async function readOverSocket(chunks: Uint8Array[], end = true) {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const server = await listener.accept();
  const writing = (async () => {
    for (const c of chunks) {
      let off = 0;
      while (off < c.length) off += await client.write(c.subarray(off));
      // Separate segments, so the reader sees several short reads.
      await new Promise((r) => setTimeout(r, 2));
    }
    if (end) await client.closeWrite();
  })();
  try {
    return await readClientHello(server, 2000);
  } finally {
    await writing.catch(() => {});
    client.close();
    server.close();
  }
}

Deno.test("sni: readClientHello reads a ClientHello dribbled in pieces and keeps every byte", async () => {
  const hello = await opensslHello("dribble.example.com");
  const chunks = [];
  for (let off = 0; off < hello.length; off += 37) chunks.push(hello.subarray(off, off + 37));
  const got = await readOverSocket(chunks);
  assertEquals(got.serverName, "dribble.example.com");
  assertEquals(got.head, hello);
});

Deno.test("sni: readClientHello rejects garbage, early end, and silence", async () => {
  const hello = await opensslHello("x.example.com");
  let err = await readOverSocket([new TextEncoder().encode("hello there, not TLS")]).catch((e) =>
    e
  );
  assert(err instanceof ClientHelloError, String(err));
  err = await readOverSocket([hello.subarray(0, 50)]).catch((e) => e);
  assert(err instanceof ClientHelloError && /ended/.test(err.message), String(err));
  err = await readOverSocket([hello.subarray(0, 50)], false).catch((e) => e);
  assert(err instanceof Deno.errors.TimedOut, String(err));
});

Deno.test("sni: a ClientHello declaring more than the limit is refused", () => {
  const big = MAX_CLIENT_HELLO_BYTES + 100;
  const head = new Uint8Array([
    0x16,
    3,
    1,
    0x40,
    0x00,
    1,
    big >> 16,
    (big >> 8) & 0xff,
    big & 0xff,
  ]);
  const parsed = parseClientHello(head);
  assertEquals(parsed.kind, "more"); // the first record (16 KiB) is not all here yet
  const full = new Uint8Array(5 + 0x4000);
  full.set(head);
  assertEquals(parseClientHello(full).kind, "invalid");
});
