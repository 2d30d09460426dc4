/**
 * The node-to-node port (`peerPort`, docs/cluster.md) against strangers:
 * silent, slow and garbage connections are dropped at the handshake
 * deadline (the node's descriptor count returns to where it was), wrong
 * cluster-secret proofs count against their address, and the real peer link
 * works meanwhile and afterwards (and the owner dials a link back).
 *
 * @module
 */

import * as net from "node:net";
import * as tls from "node:tls";
import { assert, assertEquals } from "./_assert.ts";
import { clientConf, tcpProxy } from "./_config.ts";
import {
  DfrpProcess,
  echoServer,
  eventually,
  freePort,
  freePortBlock,
  randomBytes,
  sha256,
  startClient,
  tempFile,
  testStateHome,
} from "./_harness.ts";
import { roundTripTo, startRedis } from "./_cluster.ts";

const ROOT = new URL("../", import.meta.url).pathname;
/** The nodes' handshake deadline (DFRP_HANDSHAKE_TIMEOUT_MS), short so the test is. */
const DEADLINE_MS = 3_000;

/** Open file descriptors of process `pid`. */
function fdCount(pid: number): number {
  let n = 0;
  for (const _ of Deno.readDirSync(`/proc/${pid}/fd`)) n++;
  return n;
}

/** A cluster node on `host` (peerPort = bindPort + 1) with the short handshake deadline. */
async function startNode(host: string, bindPort: number, redisURL: string, name: string) {
  const config = await tempFile(
    `bindAddr = "${host}"\nbindPort = ${bindPort}\nauth.token = "t"\n` +
      `[cluster]\nredisURL = "${redisURL}"\nnodeName = "${name}"\n`,
    "frps.toml",
  );
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--quiet",
      `${ROOT}server.ts`,
      "-c",
      config,
      "--state-dir",
      `${testStateHome()}/dfrp`,
    ],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: {
      NO_COLOR: "1",
      XDG_STATE_HOME: testStateHome(),
      DFRP_HANDSHAKE_TIMEOUT_MS: String(DEADLINE_MS),
    },
  }).spawn();
  const node = new DfrpProcess(child, "server.ts");
  await node.waitFor(new RegExp(`cluster node \\[${name}\\] up`));
  return node;
}

/** A TCP connection from `localAddress` to `port` that sends `data` (if any) and then waits. */
function stranger(port: number, localAddress: string, data?: Uint8Array | string): net.Socket {
  const socket = net.connect({ host: "127.0.0.1", port, localAddress });
  socket.on("error", () => {});
  if (data !== undefined) socket.write(data);
  return socket;
}

/** A TLS connection to `port` that completes its handshake and then says nothing. */
function silentAfterTls(port: number): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect(
      { host: "127.0.0.1", port, rejectUnauthorized: false },
      () => resolve(socket),
    );
    socket.on("error", reject);
  });
}

/** Reads the 2-byte-length JSON header the accepting node sends first. */
function readChallenge(socket: tls.TLSSocket): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let got = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      if (got.length >= 2 && got.length >= 2 + got.readUInt16BE(0)) {
        resolve(JSON.parse(got.subarray(2, 2 + got.readUInt16BE(0)).toString()));
      }
    });
    socket.on("error", reject);
    socket.on("close", () => reject(new Error("closed before the challenge")));
  });
}

/** One dial that answers the challenge with a wrong proof; resolves when the node hangs up. */
async function wrongProof(port: number): Promise<void> {
  const socket = await silentAfterTls(port);
  const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
  await readChallenge(socket);
  const body = Buffer.from(JSON.stringify({ node: "intruder", nonce: "00", proof: "00" }));
  const len = Buffer.alloc(2);
  len.writeUInt16BE(body.length);
  socket.write(Buffer.concat([len, body]));
  await closed;
}

Deno.test("cluster peerPort: silent, slow and garbage strangers are dropped at the deadline", async () => {
  await using redis = await startRedis();
  const bindPort = freePortBlock(2);
  const peerPort = bindPort + 1;
  await using owner = await startNode("127.0.0.1", bindPort, redis.url, "peer-1");
  await using other = await startNode("127.0.0.2", bindPort, redis.url, "peer-2");
  using echo = echoServer();
  const remotePort = freePort();
  await using client = await startClient(
    clientConf({
      serverPort: bindPort,
      token: "t",
      extra: tcpProxy("echo", echo.port, remotePort),
    }),
  );
  await client.waitFor(/\[echo\] start proxy success/);
  const data = randomBytes(256 * 1024);
  const want = await sha256(data);
  // Settle: the owner's own route listener is up before the baseline.
  await eventually(() => roundTripTo("127.0.0.1", remotePort, data), 10_000);
  await new Promise((r) => setTimeout(r, 500));
  const pid = owner.child.pid;
  const baseline = fdCount(pid);

  // 300 silent connections from 30 addresses (10 each: under the per-address
  // cap, so only the deadline can end them), 20 that send garbage, 20 that
  // start a TLS record and stall, 10 that finish TLS and never prove anything,
  // and 100 more silent ones from a single address (over the cap).
  const strangers: { destroy(): void }[] = [];
  for (let i = 0; i < 300; i++) strangers.push(stranger(peerPort, `127.0.1.${1 + i % 30}`));
  for (let i = 0; i < 20; i++) {
    strangers.push(stranger(peerPort, `127.0.2.${1 + i}`, "garbage garbage\r\n\r\n"));
  }
  for (let i = 0; i < 20; i++) {
    strangers.push(
      stranger(peerPort, `127.0.3.${1 + i}`, new Uint8Array([0x16, 0x03, 0x01, 0x02])),
    );
  }
  for (let i = 0; i < 100; i++) strangers.push(stranger(peerPort, "127.0.4.1"));
  for (let i = 0; i < 10; i++) strangers.push(await silentAfterTls(peerPort));
  try {
    await new Promise((r) => setTimeout(r, 1000));
    const during = fdCount(pid);
    assert(
      during > baseline + 200,
      `the flood reached the node (${during} fds, ${baseline} before)`,
    );
    // Meanwhile the other node dials its link and forwards as usual.
    const got = await eventually(() => roundTripTo("127.0.0.2", remotePort, data), 20_000);
    assertEquals(await sha256(got as Uint8Array<ArrayBuffer>), want, "forwarded during the flood");
    // The owner dialed a link back, for the other node's streams to it.
    await owner.waitFor(/peer link to node \[peer-2\] at 127\.0\.0\.2:\d+ up/);
    await other.waitFor(/peer link from node \[peer-1\] up/);
    // After the deadline every stranger is gone, though none of them hung up.
    await eventually(
      () => {
        const n = fdCount(pid);
        return n <= baseline + 20
          ? Promise.resolve()
          : Promise.reject(new Error(`node holds ${n} fds, ${baseline} before the flood`));
      },
      DEADLINE_MS + 20_000,
      250,
    );
  } finally {
    for (const s of strangers) s.destroy();
  }

  // Wrong proofs count against the address like wrong logins; the real node
  // at the same address (127.0.0.1) still gets in.
  for (let i = 0; i < 6; i++) await wrongProof(peerPort);
  await owner.waitFor(/too many wrong proofs from 127\.0\.0\.1: cooling down/);
  assert(/node \[intruder\] failed the cluster secret check/.test(owner.output));
  await other.stop("SIGKILL");
  await using again = await startNode("127.0.0.2", bindPort, redis.url, "peer-2");
  const got = await eventually(() => roundTripTo("127.0.0.2", remotePort, data), 20_000);
  assertEquals(
    await sha256(got as Uint8Array<ArrayBuffer>),
    want,
    "forwarded over a new link after the wrong proofs",
  );
  await again.waitFor(/peer link to node \[peer-1\] at \S+ up/);
});
