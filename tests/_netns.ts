/**
 * A small internet on one machine for NAT tests: a "public" network
 * namespace (the server), and two hosts, each behind its own NAT router
 * namespace (iptables MASQUERADE with a stateful filter, like a home router).
 * Only private addresses are used, on veths created here; everything is
 * removed by `close()` (and stale labs of earlier runs at start).
 *
 *     host a 10.99.1.2 ─ 10.99.1.1 router a 100.64.1.2 ─┐
 *                                                     100.64.1.1
 *                                                      public ns (server, forwards)
 *                                                     100.64.2.1
 *     host b 10.99.2.2 ─ 10.99.2.1 router b 100.64.2.2 ─┘
 *
 * Run as a script, it is also the peer the tests drive inside a namespace:
 * `deno run -A tests/_netns.ts echo PORT [HOST]` (TCP echo on HOST:PORT, 127.0.0.1 by default) and
 * `deno run -A tests/_netns.ts send PORT BYTES [HOST]` (sends BYTES pseudo-random
 * bytes, reads the echo, prints `sent=<sha256> got=<sha256> n=<bytes> ms=<ms>`).
 *
 * @example
 * ```ts
 * import { labAvailable, NatLab } from "./_netns.ts";
 * if (await labAvailable()) {
 *   await using lab = await NatLab.create({ hardB: true });
 *   console.log(lab.ns.hostA);
 * }
 * ```
 *
 * @module
 */

import { createHash } from "node:crypto";
import { DfrpProcess, tempFile } from "./_harness.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const PREFIX = "dx";

async function sh(cmd: string[], allowFail = false): Promise<string> {
  const out = await new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success && !allowFail) {
    throw new Error(`${cmd.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return text;
}

/**
 * Whether the lab can be built here: root, `ip netns` and iptables present.
 *
 * @example
 * ```ts
 * import { labAvailable } from "./_netns.ts";
 * Deno.test({ name: "x", ignore: !(await labAvailable()), fn() {} });
 * ```
 */
export async function labAvailable(): Promise<boolean> {
  if (Deno.uid?.() !== 0) return false;
  try {
    await sh(["ip", "netns", "list"]);
    await sh(["iptables", "--version"]);
    return true;
  } catch {
    return false;
  }
}

/** Options of {@linkcode NatLab.create}. */
export interface LabOptions {
  /** Router b maps every flow to a random port (`MASQUERADE --random-fully`): a "hard" NAT. */
  hardB?: boolean;
  /** The same for router a. */
  hardA?: boolean;
  /** Both routers drop this fraction of forwarded UDP packets, each direction. */
  udpLoss?: number;
}

/** Names of the lab's namespaces. */
export interface LabNamespaces {
  pub: string;
  routerA: string;
  routerB: string;
  hostA: string;
  hostB: string;
}

/** The server's addresses as each side sees them. */
export const PUBLIC_A = "100.64.1.1";
/** See {@linkcode PUBLIC_A}. */
export const PUBLIC_B = "100.64.2.1";

/**
 * The lab: namespaces, veths, routes and NAT rules.
 *
 * @example
 * ```ts
 * import { NatLab } from "./_netns.ts";
 * await using lab = await NatLab.create();
 * const out = await lab.exec(lab.ns.hostA, ["ip", "addr"]);
 * ```
 */
export class NatLab implements AsyncDisposable {
  #procs = new Set<DfrpProcess>();

  private constructor(readonly id: string, readonly ns: LabNamespaces) {}

  /**
   * Removes labs a crashed earlier run left behind: those whose creating
   * process (its pid is in the name) is gone. Labs of tests running in
   * parallel are left alone.
   */
  static async cleanStale(): Promise<void> {
    const list = await sh(["ip", "netns", "list"], true);
    for (const line of list.split("\n")) {
      const name = line.split(" ")[0];
      const m = new RegExp(`^${PREFIX}[0-9a-f]{4}-(?:(\\d+)-)?(?:pub|ra|rb|ha|hb)$`).exec(name);
      if (!m) continue;
      // Names without a pid come from before pids were recorded: stale.
      let alive = m[1] !== undefined;
      try {
        if (alive) await Deno.stat(`/proc/${m[1]}`);
      } catch {
        alive = false;
      }
      if (!alive) await sh(["ip", "netns", "del", name], true);
    }
  }

  /** Builds a fresh lab with a unique name prefix. */
  static async create(opts: LabOptions = {}): Promise<NatLab> {
    await NatLab.cleanStale();
    const id = `${PREFIX}${
      crypto.getRandomValues(new Uint16Array(1))[0].toString(16).padStart(4, "0")
    }`;
    const tag = `${id}-${Deno.pid}`;
    const ns = {
      pub: `${tag}-pub`,
      routerA: `${tag}-ra`,
      routerB: `${tag}-rb`,
      hostA: `${tag}-ha`,
      hostB: `${tag}-hb`,
    };
    const lab = new NatLab(id, ns);
    try {
      await lab.#build(opts);
    } catch (err) {
      await lab.close();
      throw err;
    }
    return lab;
  }

  async #build(opts: LabOptions): Promise<void> {
    const { ns, id } = this;
    for (const name of Object.values(ns)) {
      await sh(["ip", "netns", "add", name]);
      await sh(["ip", "-n", name, "link", "set", "lo", "up"]);
    }
    // veth names are at most 15 bytes: id (6) + 4.
    const link = async (a: string, an: string, b: string, bn: string) => {
      await sh([
        "ip",
        "link",
        "add",
        an,
        "netns",
        a,
        "type",
        "veth",
        "peer",
        "name",
        bn,
        "netns",
        b,
      ]);
      await sh(["ip", "-n", a, "link", "set", an, "up"]);
      await sh(["ip", "-n", b, "link", "set", bn, "up"]);
    };
    const addr = (n: string, dev: string, cidr: string) =>
      sh(["ip", "-n", n, "addr", "add", cidr, "dev", dev]);
    await sh(["ip", "netns", "exec", ns.pub, "sysctl", "-qw", "net.ipv4.ip_forward=1"]);
    for (const side of ["a", "b"] as const) {
      const n = side === "a" ? 1 : 2;
      const router = side === "a" ? ns.routerA : ns.routerB;
      const host = side === "a" ? ns.hostA : ns.hostB;
      await link(ns.pub, `${id}p${side}`, router, `${id}w${side}`);
      await link(router, `${id}l${side}`, host, `${id}h${side}`);
      await addr(ns.pub, `${id}p${side}`, `100.64.${n}.1/24`);
      await addr(router, `${id}w${side}`, `100.64.${n}.2/24`);
      await addr(router, `${id}l${side}`, `10.99.${n}.1/24`);
      await addr(host, `${id}h${side}`, `10.99.${n}.2/24`);
      await sh(["ip", "-n", router, "route", "add", "default", "via", `100.64.${n}.1`]);
      await sh(["ip", "-n", host, "route", "add", "default", "via", `10.99.${n}.1`]);
      await sh(["ip", "netns", "exec", router, "sysctl", "-qw", "net.ipv4.ip_forward=1"]);
      const wan = `${id}w${side}`;
      const ipt = (...args: string[]) => sh(["ip", "netns", "exec", router, "iptables", ...args]);
      const masq = ["-t", "nat", "-A", "POSTROUTING", "-o", wan, "-j", "MASQUERADE"];
      if (side === "b" ? opts.hardB : opts.hardA) masq.push("--random-fully");
      await ipt(...masq);
      if (opts.udpLoss) {
        await ipt(
          "-A",
          "FORWARD",
          "-p",
          "udp",
          "-m",
          "statistic",
          "--mode",
          "random",
          "--probability",
          String(opts.udpLoss),
          "-j",
          "DROP",
        );
      }
      // A home router: replies come in, nothing unsolicited does — neither
      // forwarded nor to the router itself (a dropped packet leaves no
      // conntrack entry that would steal the port a punch needs).
      for (const chain of ["FORWARD", "INPUT"]) {
        const replies = ["-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED"];
        await ipt("-A", chain, "-i", wan, ...replies, "-j", "ACCEPT");
        await ipt("-A", chain, "-i", wan, "-j", "DROP");
      }
    }
    // Bytes delivered to the public namespace's own sockets (the server),
    // not those it forwards between the routers.
    await sh(["ip", "netns", "exec", ns.pub, "iptables", "-A", "INPUT", "-j", "ACCEPT"]);
    await sh(["ip", "netns", "exec", ns.pub, "iptables", "-A", "OUTPUT", "-j", "ACCEPT"]);
  }

  /** Bytes the public namespace's own sockets received and sent (iptables counters). */
  async serverBytes(): Promise<{ input: number; output: number }> {
    const text = await sh(["ip", "netns", "exec", this.ns.pub, "iptables", "-L", "-v", "-x", "-n"]);
    const first = (chain: string) => {
      const lines = text.split("\n");
      const at = lines.findIndex((l) => l.startsWith(`Chain ${chain}`));
      return Number(lines[at + 2].trim().split(/\s+/)[1]);
    };
    return { input: first("INPUT"), output: first("OUTPUT") };
  }

  /** Runs this file's own command line (`send`, `usend`...) inside `ns`; returns its stdout. */
  #runSelf(ns: string, args: string[]): Promise<string> {
    return this.exec(ns, [
      Deno.execPath(),
      "run",
      "-A",
      "--quiet",
      `${ROOT}tests/_netns.ts`,
      ...args,
    ]);
  }

  /** Runs `cmd` inside namespace `ns` and returns its stdout. */
  exec(ns: string, cmd: string[]): Promise<string> {
    return sh(["ip", "netns", "exec", ns, ...cmd]);
  }

  /** Spawns `deno run -A <file> ...args` inside `ns`, killed by `close()`. */
  spawn(ns: string, file: string, args: string[], name = file): DfrpProcess {
    const child = new Deno.Command("ip", {
      args: [
        "netns",
        "exec",
        ns,
        Deno.execPath(),
        "run",
        "-A",
        "--quiet",
        `${ROOT}${file}`,
        ...args,
      ],
      cwd: ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    const proc = new DfrpProcess(child, `${name}@${ns}`);
    this.#procs.add(proc);
    return proc;
  }

  /** Starts `server.ts` in the public namespace with `config` (TOML). */
  async server(config: string): Promise<DfrpProcess> {
    const proc = this.spawn(this.ns.pub, "server.ts", ["-c", await tempFile(config, "frps.toml")]);
    await proc.waitFor(/listen on \S+:(\d+)/);
    return proc;
  }

  /** Starts `client.ts` in `ns` with `config` (TOML) and waits for its login. */
  async client(ns: string, config: string): Promise<DfrpProcess> {
    const proc = this.spawn(ns, "client.ts", ["-c", await tempFile(config, "frpc.toml")]);
    await proc.waitFor(/login to server success/, 20_000);
    return proc;
  }

  /** A TCP (or UDP) echo on 127.0.0.1:`port` (TCP: or `host`) inside `ns`. */
  async echo(ns: string, port: number, udp = false, host?: string): Promise<DfrpProcess> {
    const args = [udp ? "uecho" : "echo", String(port), ...(host ? [host] : [])];
    const proc = this.spawn(ns, "tests/_netns.ts", args, "echo");
    await proc.waitFor(/echo listening/);
    return proc;
  }

  /**
   * Sends `bytes` pseudo-random bytes to 127.0.0.1:`port` (or `host`) inside
   * `ns` and reads the echo back; resolves to both hashes, the count and the time.
   */
  async send(
    ns: string,
    port: number,
    bytes: number,
    host = "127.0.0.1",
  ): Promise<{ sent: string; got: string; n: number; ms: number }> {
    const out = await this.#runSelf(ns, ["send", String(port), String(bytes), host]);
    const m = out.match(/sent=(\w+) got=(\w+) n=(\d+) ms=(\d+)/);
    if (!m) throw new Error(`send printed: ${out}`);
    return { sent: m[1], got: m[2], n: Number(m[3]), ms: Number(m[4]) };
  }

  /** Sends `count` numbered datagrams to 127.0.0.1:`port` in `ns`; resolves to how many came back. */
  async udpSend(ns: string, port: number, count: number): Promise<number> {
    const out = await this.#runSelf(ns, ["usend", String(port), String(count)]);
    return Number(out.match(/ok=(\d+)/)?.[1] ?? -1);
  }

  /** Kills every process spawned here and deletes the namespaces (and their veths). */
  async close(): Promise<void> {
    await Promise.all([...this.#procs].map((p) => p.stop("SIGKILL")));
    this.#procs.clear();
    for (const name of Object.values(this.ns)) await sh(["ip", "netns", "del", name], true);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** Deterministic bytes, fast: xorshift over 32-bit words. */
function fill(buf: Uint8Array, state: { s: number }): void {
  const words = new Uint32Array(buf.buffer, buf.byteOffset, buf.length >> 2);
  let s = state.s;
  for (let i = 0; i < words.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    words[i] = s;
  }
  state.s = s;
}

async function echoMain(port: number, hostname = "127.0.0.1"): Promise<void> {
  const listener = Deno.listen({ hostname, port });
  console.log("echo listening");
  for await (const conn of listener) {
    (async () => {
      const buf = new Uint8Array(64 * 1024);
      try {
        for (let n; (n = await conn.read(buf)) !== null;) {
          let off = 0;
          while (off < n) off += await conn.write(buf.subarray(off, n));
        }
        await conn.closeWrite();
      } catch { /* peer gone */ }
      try {
        conn.close();
      } catch { /* closed */ }
    })();
  }
}

async function sendMain(port: number, total: number, hostname = "127.0.0.1"): Promise<void> {
  const start = performance.now();
  const conn = await Deno.connect({ hostname, port });
  const sent = createHash("sha256");
  const got = createHash("sha256");
  const writing = (async () => {
    const buf = new Uint8Array(64 * 1024);
    const state = { s: 0x9e3779b9 };
    for (let off = 0; off < total; off += buf.length) {
      const chunk = buf.subarray(0, Math.min(buf.length, total - off));
      fill(buf, state);
      sent.update(chunk);
      let w = 0;
      while (w < chunk.length) w += await conn.write(chunk.subarray(w));
    }
    await conn.closeWrite();
  })();
  const buf = new Uint8Array(64 * 1024);
  let n = 0;
  for (let r; (r = await conn.read(buf)) !== null;) {
    got.update(buf.subarray(0, r));
    n += r;
  }
  await writing;
  conn.close();
  const ms = Math.round(performance.now() - start);
  console.log(`sent=${sent.digest("hex")} got=${got.digest("hex")} n=${n} ms=${ms}`);
}

async function udpEchoMain(port: number): Promise<void> {
  const sock = Deno.listenDatagram({ hostname: "127.0.0.1", port, transport: "udp" });
  console.log("echo listening");
  for (;;) {
    const [data, from] = await sock.receive();
    await sock.send(data, from);
  }
}

/** Sends `count` numbered datagrams one at a time; each is resent until echoed (10 tries). */
async function udpSendMain(port: number, count: number): Promise<void> {
  const sock = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const to: Deno.NetAddr = { transport: "udp", hostname: "127.0.0.1", port };
  let next = sock.receive();
  let ok = 0;
  for (let i = 0; i < count; i++) {
    const payload = new Uint8Array(1000);
    new DataView(payload.buffer).setUint32(0, i);
    for (let tries = 0; tries < 10; tries++) {
      await sock.send(payload, to);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const quiet = new Promise<null>((r) => timer = setTimeout(() => r(null), 700));
      const got = await Promise.race([next, quiet]);
      clearTimeout(timer);
      if (got === null) continue;
      next = sock.receive();
      if (new DataView(got[0].buffer, got[0].byteOffset).getUint32(0) === i) {
        ok++;
        break;
      }
    }
  }
  console.log(`ok=${ok}`);
  Deno.exit(0);
}

if (import.meta.main) {
  const [mode, port, bytes, host] = Deno.args;
  if (mode === "echo") await echoMain(Number(port), bytes);
  else if (mode === "send") await sendMain(Number(port), Number(bytes), host);
  else if (mode === "uecho") await udpEchoMain(Number(port));
  else if (mode === "usend") await udpSendMain(Number(port), Number(bytes));
  else {
    throw new Error(
      "usage: _netns.ts echo PORT [HOST] | uecho PORT | send PORT BYTES [HOST] | usend PORT COUNT",
    );
  }
}
