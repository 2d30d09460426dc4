/**
 * The server's log against an attacker: text from the network cannot forge
 * a line (newlines and NULs are escaped, huge values cut), and a flood of bad
 * connections writes a bounded number of lines, not one each.
 */

import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { assertServerStillServes } from "./_echo_proxy.ts";
import { startServer } from "./_harness.ts";
import { concat } from "./_udp.ts";
import { frame, rawLogin, sendAndDrain } from "./_wire.ts";
import { MAGIC } from "../lib/protocol/magic.ts";
import { MuxSession } from "../lib/mux/mod.ts";

const enc = new TextEncoder();

/** A line that would pass for the server's own if written verbatim. */
const FORGED = "\n2026-12-02 02:00:00.000 [I] [FORGED] client login info\u0000";

Deno.test("log: newlines and NULs from the network are escaped, huge values cut", async () => {
  await using server = await startServer(`auth.token = "t"`);
  // A work connection for a run id that carries a whole log line.
  await sendAndDrain(
    server.port,
    concat([MAGIC, frame({ type: "NewWorkConn", runId: `0123${FORGED}`, proof: "00" })]),
  );
  await server.waitFor(/work connection for unknown client/);
  // A real login (right token) whose hostname, os and arch are attacker text.
  const { conn, resp } = await rawLogin(server.port, "t", {
    hostname: `host${FORGED}`,
    os: "o".repeat(60_000),
    arch: "x86\u0000\u001b[31m",
  });
  assertEquals(resp.error, "");
  // The server logs the login once the control stream opens.
  const mux = new MuxSession(conn, { client: true, keepaliveIntervalMs: 0 });
  try {
    mux.open();
    await server.waitFor(/client login info: ip/);
  } finally {
    mux.close();
    await mux.closed;
  }

  const out = server.output;
  assert(!/^2026-12-02 02:00:00\.000 \[I\] \[FORGED\]/m.test(out), `forged line in:\n${out}`);
  assert(!out.includes("\u0000"), "a NUL byte reached the log");
  assert(!out.includes("\u001b"), "an escape sequence reached the log");
  assertMatch(out, /unknown client \[0123\\n2026-12-02 02:00:00\.000 \[I\] \[FORGED\] /);
  assertMatch(out, /hostname \[host\\n2026-12-02 /);
  assertMatch(out, /os \[o{200}… \(60000 chars\)\]/);
  for (const line of out.split("\n")) assert(line.length < 2_500, `a ${line.length}-char line`);
});

Deno.test("log: 10,000 bad connections write a bounded number of lines; the server keeps serving", async () => {
  await using server = await startServer(`auth.token = "t"`);
  const kinds = [
    enc.encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
    concat([MAGIC, new Uint8Array([0x40, 0, 0, 0])]),
    // Refused before any proof check, so the failed-login limiter stays out of it.
    concat([
      MAGIC,
      frame({
        type: "Login",
        version: 99,
        user: "",
        clientNonce: "00",
        tcpMux: true,
        proof: "00",
      }),
    ]),
  ];
  const total = 10_000;
  let next = 0;
  await Promise.all(Array.from({ length: 32 }, async () => {
    while (next < total) {
      const i = next++;
      await sendAndDrain(server.port, kinds[i % kinds.length]);
    }
  }));
  // The suppressed ones are counted, not lost.
  await server.waitFor(/dropped: [^\n]*\(\d+ more in the last 10 s\)/, 30_000);
  await server.waitFor(/refused: [^\n]*\(\d+ more in the last 10 s\)/, 30_000);
  const lines = server.output.split("\n").filter((l) => /dropped|refused/.test(l));
  assert(lines.length < 100, `${lines.length} lines for ${total} bad connections`);

  await assertServerStillServes(server.port, "t");
});
