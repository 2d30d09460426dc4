/**
 * `deno run -A bench/wire_bench.ts [serverDir]`: what the typed wire costs
 * on the control path.
 *
 * - decode + validate per message, in process: `JSON.parse` plus the old
 *   type-name check against `JSON.parse` plus the schema
 *   (`parseMessage`), for a few messages of different sizes;
 * - proxies registered per second by a live server: one raw login
 *   (tcpMux off), 2,000 pipelined `NewProxy` (stcp: no port to bind, so
 *   the control path dominates), timed until the last `NewProxyResp`.
 *   `serverDir` runs another checkout's `server.ts` (e.g. the commit
 *   before the typed wire, unpacked with `git archive`); each `NewProxy`
 *   also carries the old `config` blob so both understand it.
 *
 * @module
 */

import { writeAll } from "../lib/net/duplex.ts";
import { wrapTcp } from "../lib/net/tcp_conn.ts";
import { prove, randomHex } from "../lib/protocol/auth.ts";
import { encodeMessage, expectMessage, readMessage, writeMessage } from "../lib/protocol/codec.ts";
import { MAGIC } from "../lib/protocol/magic.ts";
import { MESSAGE_TYPES, parseMessage, PROTOCOL_VERSION } from "../lib/protocol/messages.ts";
import { freePort, spawnDfrp, tempFile } from "../tests/_harness.ts";
import { cpuSeconds } from "./_proc_cpu.ts";

const dec = new TextDecoder();

function micro(): void {
  const samples: Record<string, unknown> = {
    Ping: { type: "Ping" },
    StartWorkConn: {
      type: "StartWorkConn",
      proxyName: "web",
      srcAddr: "203.0.113.9",
      srcPort: 51234,
      dstAddr: "0.0.0.0",
      dstPort: 8080,
    },
    "NewProxy (http, full)": {
      type: "NewProxy",
      proxyName: "web",
      proxyType: "http",
      transport: {
        useEncryption: true,
        useCompression: false,
        bandwidthLimit: "1MB",
        bandwidthLimitMode: "server",
      },
      loadBalancer: { group: "g", groupKey: "ab".repeat(32) },
      metadatas: { a: "1" },
      annotations: { team: "core" },
      customDomains: ["a.example.com", "b.example.com"],
      subdomain: "web",
      locations: ["/", "/api"],
      httpUser: "u",
      httpPassword: "p",
      hostHeaderRewrite: "backend",
      requestHeaders: { set: { "x-from": "dfrp" } },
      responseHeaders: { set: {} },
      routeByHTTPUser: "",
    },
  };
  const N = 200_000;
  console.log("decode + validate per message (ns/op, in process):");
  for (const [name, msg] of Object.entries(samples)) {
    const body = dec.decode(encodeMessage(msg as never).subarray(4));
    const time = (fn: () => unknown) => {
      for (let i = 0; i < 10_000; i++) fn(); // warm up
      const t0 = performance.now();
      for (let i = 0; i < N; i++) fn();
      return ((performance.now() - t0) * 1e6) / N;
    };
    const before = time(() => {
      const v = JSON.parse(body);
      if (!MESSAGE_TYPES.has(v.type)) throw new Error("unknown");
      return v;
    });
    const after = time(() => parseMessage(JSON.parse(body)));
    console.log(
      `  ${name.padEnd(22)} ${String(body.length).padStart(4)} B   ` +
        `type check ${before.toFixed(0).padStart(5)}   schema ${after.toFixed(0).padStart(5)}`,
    );
  }
}

// BENCH_CPU_PROF=dir writes the server's V8 CPU profile there (with a serverDir).
function profileFlags(): string[] {
  const dir = Deno.env.get("BENCH_CPU_PROF");
  return dir ? ["--cpu-prof", `--cpu-prof-dir=${dir}`] : [];
}

/** Registrations per second of wall time, and the server's CPU milliseconds per registration. */
async function registrations(
  serverDir: string | undefined,
  count: number,
): Promise<{ perSecond: number; cpuMs: number }> {
  const port = freePort();
  const config = await tempFile(
    `bindPort = ${port}\nauth.token = "t"\ntransport.tcpMux = false\nlog.level = "warn"\n`,
    "frps.toml",
  );
  const proc = serverDir
    ? new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", ...profileFlags(), `${serverDir}/server.ts`, "-c", config],
      cwd: serverDir,
      stdout: "null",
      stderr: "null",
    }).spawn()
    : spawnDfrp("server.ts", ["-c", config]).child;
  try {
    let conn;
    for (let i = 0;; i++) {
      try {
        conn = wrapTcp(await Deno.connect({ hostname: "127.0.0.1", port }));
        break;
      } catch (err) {
        if (i > 100) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    await writeAll(conn, MAGIC);
    const hello = await expectMessage(conn, "ServerHello");
    const clientNonce = randomHex(32);
    await writeMessage(conn, {
      type: "Login",
      version: PROTOCOL_VERSION,
      software: "bench",
      user: "",
      clientNonce,
      tcpMux: false,
      poolCount: 0,
      proof: await prove("t", ["login", hello.nonce, clientNonce, "", "false"]),
    });
    const resp = await expectMessage(conn, "LoginResp");
    if (resp.error) throw new Error(resp.error);
    const frames: Uint8Array[] = [];
    for (let i = 0; i < count; i++) {
      const fields = {
        proxyName: `p${i}`,
        proxyType: "stcp",
        allowUsers: ["*"],
        transport: {
          useEncryption: false,
          useCompression: false,
          bandwidthLimit: "",
          bandwidthLimitMode: "client",
        },
        metadatas: { n: String(i) },
      };
      frames.push(
        encodeMessage(
          { type: "NewProxy", ...fields, config: { name: fields.proxyName, ...fields } } as never,
        ),
      );
    }
    const all = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
    let off = 0;
    for (const f of frames) all.set(f, (off += f.length) - f.length);
    const cpu0 = cpuSeconds(proc.pid);
    const t0 = performance.now();
    await writeAll(conn, all);
    let answered = 0;
    while (answered < count) {
      const msg = await readMessage(conn);
      if (msg === null) throw new Error("server closed");
      if (msg.type !== "NewProxyResp") continue;
      if (msg.error) throw new Error(msg.error);
      answered++;
    }
    const seconds = (performance.now() - t0) / 1000;
    const cpuMs = ((cpuSeconds(proc.pid) - cpu0) * 1000) / count;
    conn.close();
    return { perSecond: count / seconds, cpuMs };
  } finally {
    proc.kill(Deno.env.get("BENCH_CPU_PROF") ? "SIGINT" : "SIGKILL");
    await proc.status;
  }
}

if (import.meta.main) {
  micro();
  const serverDir = Deno.args[0];
  const runs: Array<{ perSecond: number; cpuMs: number }> = [];
  for (let i = 0; i < 5; i++) runs.push(await registrations(serverDir, 2000));
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(
    `proxies registered (${serverDir ?? "this checkout"}, 2,000 pipelined stcp, 5 runs): ` +
      `median ${median(runs.map((r) => r.perSecond)).toFixed(0)}/s wall, ` +
      `server CPU ${median(runs.map((r) => r.cpuMs)).toFixed(3)} ms per registration`,
  );
}
