/**
 * Connections on `bindPort` before and at login, from someone without the
 * token: they end cleanly (no descriptor left behind on any layer), the
 * internal TLS terminator leaves no port for strays, and wrong proofs (of
 * logins, work and visitor connections) are counted per address but never
 * lock the real client out.
 *
 * @module
 */

import * as tls from "node:tls";
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { dialServer } from "../lib/client/login.ts";
import { parseClientConfig } from "../lib/config/load.ts";
import { writeMessage } from "../lib/protocol/codec.ts";
import type { Message } from "../lib/protocol/messages.ts";
import { clientConf } from "./_config.ts";
import { startEchoProxy } from "./_echo_proxy.ts";
import { assertEchoesText, eventually, startClient, startServer } from "./_harness.ts";
import { loginRefusal } from "./_wire.ts";

/** Open file descriptors of process `pid`. */
function fdCount(pid: number): number {
  let n = 0;
  for (const _ of Deno.readDirSync(`/proc/${pid}/fd`)) n++;
  return n;
}

/** TCP ports process `pid` listens on at 127.0.0.1 (from /proc, no tools needed). */
function listeningPorts(pid: number): number[] {
  const inodes = new Set<string>();
  for (const entry of Deno.readDirSync(`/proc/${pid}/fd`)) {
    try {
      const m = Deno.readLinkSync(`/proc/${pid}/fd/${entry.name}`).match(/^socket:\[(\d+)\]$/);
      if (m) inodes.add(m[1]);
    } catch {
      // Closed meanwhile.
    }
  }
  const ports: number[] = [];
  for (const line of Deno.readTextFileSync(`/proc/${pid}/net/tcp`).split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || f[3] !== "0A" || !inodes.has(f[9])) continue;
    const [ip, port] = f[1].split(":");
    if (ip === "0100007F") ports.push(parseInt(port, 16));
  }
  return ports;
}

const WS_UPGRADE =
  "GET /~!frp HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

/** What a TLS connection does after its handshake before it ends. */
type Ending = "close" | "garbage" | "bad-frame" | "websocket";

function afterHandshake(ending: Ending): Uint8Array | string | undefined {
  switch (ending) {
    case "close":
      return undefined;
    case "garbage":
      return "garbage garbage\r\n\r\n";
    case "bad-frame":
      // dfrp's magic, then a frame claiming 4 GiB.
      return new Uint8Array([0xdf, 0x52, 0x50, 0x01, 0xff, 0xff, 0xff, 0xff, 1, 2, 3]);
    case "websocket":
      return WS_UPGRADE;
  }
}

/** One TLS connection to `port` that completes the handshake and ends as `ending` says. */
function tlsConnection(port: number, ending: Ending): Promise<void> {
  return new Promise<void>((resolve) => {
    const socket = tls.connect({ host: "127.0.0.1", port, rejectUnauthorized: false }, () => {
      const data = afterHandshake(ending);
      if (data === undefined) socket.end();
      else socket.end(data);
    });
    socket.on("error", () => resolve());
    socket.on("close", () => resolve());
    socket.resume();
  });
}

/** `n` such connections, 50 at a time. */
async function tlsBurst(port: number, n: number, ending: Ending): Promise<void> {
  for (let done = 0; done < n; done += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, n - done) }, () => tlsConnection(port, ending)),
    );
  }
}

/** Resolves once `pid` holds at most `limit` descriptors (else fails after 30 s). */
async function fdsBackTo(pid: number, limit: number): Promise<void> {
  await eventually(
    () => {
      const n = fdCount(pid);
      if (n > limit) return Promise.reject(new Error(`server holds ${n} fds, expected ≤ ${limit}`));
      return Promise.resolve();
    },
    30_000,
    250,
  );
}

Deno.test("TLS connections that end before login leave no descriptor behind", async () => {
  await using server = await startServer(`auth.token = "t"`);
  const pid = server.child.pid;
  // Warm up: the certificate and the internal TLS listener exist from here on.
  await tlsBurst(server.port, 10, "close");
  await new Promise((r) => setTimeout(r, 300));
  const before = fdCount(pid);
  for (const ending of ["close", "garbage", "bad-frame", "websocket"] as const) {
    await tlsBurst(server.port, 300, ending);
  }
  // 1,200 connections: the old code kept one descriptor of each.
  await fdsBackTo(pid, before + 20);
  // And the server still serves a real client.
  await using proxy = await startEchoProxy(server.port, "t");
  await assertEchoesText(proxy.remotePort, "after");
});

Deno.test("TLS termination leaves no loopback port for stray local connections", async () => {
  await using server = await startServer(`auth.token = "t"`);
  const pid = server.child.pid;
  // A real client (TLS, the default) logs in and its proxy works.
  await using proxy = await startEchoProxy(server.port, "t");
  const remotePort = proxy.remotePort;
  await assertEchoesText(remotePort, "real");
  await tlsBurst(server.port, 100, "close");
  // The old code kept an internal TLS listener on 127.0.0.1 open for good:
  // any local process could connect, each stray was kept forever, and one
  // could be handed to a later client whose dial reused its port.
  const open = listeningPorts(pid).filter((p) => p !== server.port && p !== remotePort);
  assertEquals(open, [], "loopback ports the server listens on besides its own");
  await assertEchoesText(remotePort, "still");
});

/** The client's own handshake code, with `token`, from this process (127.0.0.1). */
function attackerConfig(serverPort: number, token: string, tcpMux = true) {
  return parseClientConfig(
    clientConf({ serverPort, token, extra: `transport.tcpMux = ${tcpMux}` }),
    "frpc.toml",
  ).config;
}

/** One login with a wrong token; resolves to the refusal text ("" if it got in). */
function wrongLogin(serverPort: number): Promise<string> {
  return loginRefusal(serverPort, `auth.token = "guess"\ntransport.tcpMux = true`);
}

Deno.test("wrong logins from the client's address never lock the real client out", async () => {
  await using server = await startServer(`auth.token = "right"`);
  // The attacker: wrong logins in a loop from 127.0.0.1, 4 at a time.
  let stop = false;
  const refusals: string[] = [];
  const attacker = Promise.all(Array.from({ length: 4 }, async () => {
    while (!stop) refusals.push(await wrongLogin(server.port));
  }));
  try {
    await eventually(() =>
      refusals.some((r) => /too many failed logins/.test(r))
        ? Promise.resolve()
        : Promise.reject(new Error("the address is not cooling down yet"))
    );
    // A freshly started client (loginFailExit = true, the default) gets in
    // while the address cools down; the old code refused it and it exited.
    await using proxy = await startEchoProxy(server.port, "right");
    const remotePort = proxy.remotePort;
    await assertEchoesText(remotePort, "in");
    // Restarted under attack: in again.
    await proxy.client.stop();
    await using again = await startEchoProxy(server.port, "right", { remotePort });
    await assertEchoesText(again.remotePort, "again");
  } finally {
    stop = true;
    await attacker;
  }
  assert(refusals.every((r) => /token mismatch/.test(r)), "every wrong login was refused");
});

Deno.test("wrong NewWorkConn and NewVisitorConn proofs feed the login limiter; the real client keeps working", async () => {
  await using server = await startServer(`auth.token = "right"\ntransport.tcpMux = false`);
  await using proxy = await startEchoProxy(server.port, "right", {
    clientExtra: "transport.tcpMux = false\ntransport.poolCount = 1",
  });
  const runId = (await proxy.client.waitFor(/get run id \[([0-9a-f]+)\]/))[1];
  const config = attackerConfig(server.port, "guess", false);
  const attempts = 300;
  for (let i = 0; i < attempts; i += 10) {
    await Promise.all(Array.from({ length: 10 }, async (_, j) => {
      let conn;
      try {
        conn = await dialServer(config);
        const msg = (i + j) % 2 === 0 ? { type: "NewWorkConn", runId, proof: "00".repeat(32) } : {
          type: "NewVisitorConn",
          proxyName: "x",
          serverUser: "",
          visitorType: "stcp",
          proof: "00",
          runId,
          authProof: "00".repeat(32),
        };
        await writeMessage(conn, msg as Message);
        await conn.read(new Uint8Array(256)).catch(() => null);
      } catch {
        // Refused: what is expected.
      } finally {
        conn?.close();
      }
    }));
  }
  // They counted: the address cools down for a wrong login now (the old code
  // never counted them and answered a plain "token mismatch").
  assertMatch(await wrongLogin(server.port), /too many failed logins from 127\.0\.0\.1/);
  // Logged once per interval with a count, not one line per attempt.
  const lines = server.output.split("\n").filter((l) =>
    /work connection authorization failed|visitor connection from .* refused/.test(l)
  );
  assert(lines.length < 30, `${lines.length} log lines for ${attempts} wrong proofs`);
  // The real client's own work connections (right proofs, same address) still get in.
  for (let i = 0; i < 5; i++) {
    await assertEchoesText(proxy.remotePort, `w${i}`);
  }
});

Deno.test("a refusal that names a delay (retryAfter) makes the client wait, not exit", async () => {
  await using server = await startServer(`auth.token = "right"`);
  for (let i = 0; i < 5; i++) await wrongLogin(server.port);
  // loginFailExit = true (the default): a plain refusal ends the client, but
  // one that names a delay is the address's limit, and the client waits it out.
  await using client = await startClient(
    clientConf({ serverPort: server.port, token: "guess" }),
    false,
  );
  const match = await client.waitFor(/the server asks to wait, retrying in (\d+) ms/);
  assert(Number(match[1]) >= 50_000, `waits the cooldown the server named (${match[1]} ms)`);
  const exited = await Promise.race([
    client.exited.then(() => true),
    new Promise<boolean>((r) => setTimeout(() => r(false), 1000)),
  ]);
  assertEquals(exited, false, "the client is still running");
});
