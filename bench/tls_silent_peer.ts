/**
 * Can Deno drop a `Deno.listenTls` connection whose peer never sends a
 * ClientHello? A silent TCP peer (a child process) connects; the listener's
 * side then tries, in turn: `close()` at once, `close()` after 1 s, and
 * `handshake()` raced with a 1 s timer, then `close()`. For each it prints
 * whether the accepted descriptor left `/proc/self/fd`, the kernel's state of
 * the server-side socket (`ss`), and when (if ever, within `WAIT_S`) the peer
 * saw end of stream or a reset. Needs `ss` on PATH.
 *
 * Run: `deno run -A bench/tls_silent_peer.ts`
 *
 * @example
 * ```ts
 * import { tlsSilentPeer } from "./tls_silent_peer.ts";
 * await tlsSilentPeer();
 * ```
 *
 * @module
 */

import { selfSignedCert } from "../lib/transport/self_signed.ts";

const WAIT_S = Number(Deno.env.get("TLS_SILENT_WAIT_S") ?? 15);

/** The silent peer: connects, never writes, reports how its read ends. */
const PEER = `
const c = await Deno.connect({ hostname: "127.0.0.1", port: Number(Deno.args[0]) });
console.log("connected " + c.localAddr.port);
const t0 = performance.now();
const b = new Uint8Array(4096);
let how;
try {
  const n = await c.read(b);
  how = n === null ? "FIN (read returned end of stream)" : "data " + n;
} catch (e) { how = "error " + e.name + ": " + e.message; }
console.log("peer saw " + how + " after " + ((performance.now() - t0) / 1000).toFixed(2) + " s");
`;

function sockets(): Set<string> {
  const out = new Set<string>();
  for (const e of Deno.readDirSync("/proc/self/fd")) {
    try {
      const target = Deno.readLinkSync(`/proc/self/fd/${e.name}`);
      if (target.startsWith("socket:")) out.add(`${e.name}->${target}`);
    } catch {
      // Closed while listing.
    }
  }
  return out;
}

async function ssState(port: number): Promise<string> {
  const out = await new Deno.Command("ss", {
    args: ["-tanH", `( sport = :${port} or dport = :${port} )`],
    stdout: "piped",
  }).output();
  return new TextDecoder().decode(out.stdout).trim().split("\n")
    .map((l) => l.split(/\s+/).slice(0, 1).concat(l.split(/\s+/).slice(3, 5)).join(" "))
    .join(" | ");
}

type Way = (conn: Deno.TlsConn) => Promise<string>;

const WAYS: Record<string, Way> = {
  "close() at once": (conn) => {
    conn.close();
    return Promise.resolve("closed");
  },
  "close() after 1 s": async (conn) => {
    await new Promise((r) => setTimeout(r, 1000));
    conn.close();
    return "closed";
  },
  "handshake() raced with 1 s, then close()": async (conn) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const outcome = await Promise.race([
      conn.handshake().then(() => "handshake done", (e) => `handshake threw ${e.name}`),
      new Promise<string>((r) => timer = setTimeout(() => r("timer won"), 1000)),
    ]);
    clearTimeout(timer);
    conn.close();
    return outcome;
  },
};

async function tryWay(name: string, way: Way, tls: { cert: string; key: string }): Promise<void> {
  const listener = Deno.listenTls({ hostname: "127.0.0.1", port: 0, ...tls });
  const port = listener.addr.port;
  const before = sockets();
  const peer = new Deno.Command(Deno.execPath(), {
    args: ["eval", PEER, String(port)],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const lines = peer.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const conn = await listener.accept();
  const accepted = [...sockets()].filter((s) => !before.has(s));
  if (accepted.length === 0) throw new Error("no new socket descriptor after accept()");
  const t0 = performance.now();
  const outcome = await way(conn);
  const afterMs = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 200));
  const stillOpen = accepted.filter((s) => sockets().has(s));
  const state = await ssState(port);
  listener.close();
  // What the peer saw, within WAIT_S.
  let text = "";
  const deadline = Date.now() + WAIT_S * 1000;
  while (!text.includes("peer saw") && Date.now() < deadline) {
    const r = await Promise.race([
      lines.read(),
      new Promise<null>((r) => setTimeout(() => r(null), deadline - Date.now())),
    ]);
    if (!r || r.done) break;
    text += r.value;
  }
  const seen = text.match(/peer saw .*/)?.[0] ?? `peer saw nothing within ${WAIT_S} s`;
  const stateLater = await ssState(port);
  console.log(
    `${name}: ${outcome} (${afterMs.toFixed(0)} ms); accepted fd ${
      stillOpen.length ? "STILL OPEN" : "released"
    } 200 ms later; ss then: ${state || "(none)"}; ${seen}; ss at end: ${stateLater || "(none)"}`,
  );
  try {
    peer.kill("SIGKILL");
  } catch {
    // Already gone.
  }
  await peer.status;
  await lines.cancel().catch(() => {});
  // The peer's exit sends a FIN: does that release what close() could not?
  await new Promise((r) => setTimeout(r, 500));
  const afterExit = accepted.filter((s) => sockets().has(s));
  console.log(
    `  after the peer exited: accepted fd ${afterExit.length ? "STILL OPEN" : "released"}`,
  );
}

/**
 * Runs the three ways and prints one line each.
 *
 * @example
 * ```ts
 * import { tlsSilentPeer } from "./tls_silent_peer.ts";
 * await tlsSilentPeer();
 * ```
 */
export async function tlsSilentPeer(): Promise<void> {
  const tls = await selfSignedCert("localhost");
  console.log(`Deno ${Deno.version.deno}, silent peer, waiting up to ${WAIT_S} s per way`);
  for (const [name, way] of Object.entries(WAYS)) await tryWay(name, way, tls);
}

if (import.meta.main) await tlsSilentPeer();
