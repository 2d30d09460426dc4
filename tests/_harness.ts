/**
 * Test harness: real `server.ts` / `client.ts` processes, real sockets, ports
 * from the OS. Every helper cleans up after itself when its `stop()` (or the
 * `using`/`await using` disposal) runs.
 *
 * @example
 * ```ts
 * import { startServer } from "./_harness.ts";
 * await using server = await startServer(`auth.token = "t"`);
 * console.log(server.port);
 * ```
 *
 * @module
 */

import { assertEquals } from "./_assert.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/**
 * Where {@linkcode freePort} picks: below Linux's ephemeral range (read from
 * `/proc`, 32768-60999 by default), from 10000 up. A port the OS hands out for `port: 0` or
 * an outgoing connection never lands there, so between the check and the
 * test binding it, only another pick can take it. A port from `port: 0`
 * itself could be handed to a parallel test's listener in that gap, which
 * failed CI once ("port ... is already in use").
 */
const PICK_RANGE: [number, number] = (() => {
  try {
    const low = Number(
      Deno.readTextFileSync("/proc/sys/net/ipv4/ip_local_port_range").split(/\s+/)[0],
    );
    if (low > 12_000) return [10_000, low];
  } catch {
    // Not Linux: below every common default (Linux 32768, BSDs and macOS 49152).
  }
  return [10_000, 32_768];
})();

/**
 * Blocks of consecutive ports come from the first {@linkcode BLOCK_SHARE} of the range and single
 * ports from the rest. A block is checked port by port and then held by nobody until its test
 * binds it, which can take a minute for a 2,001-port block; a parallel test's single pick landing
 * inside it in that gap failed `port_range_test` once (one proxy of 1,000 never started).
 */
const BLOCK_SHARE = 0.4;

/** A free TCP port on 127.0.0.1 (checked by binding it; released before returning). */
export function freePort(): number {
  const [low, top] = PICK_RANGE;
  return pickBlock(1, Math.floor(low + (top - low) * BLOCK_SHARE), top);
}

/** The first of `n` consecutive TCP ports free on 127.0.0.1, from the block part of the range. */
export function freePortBlock(n: number): number {
  const [low, top] = PICK_RANGE;
  return pickBlock(n, low, Math.floor(low + (top - low) * BLOCK_SHARE));
}

function pickBlock(n: number, low: number, top: number): number {
  const high = top - n;
  for (let attempt = 0; attempt < 100; attempt++) {
    let start = low + Math.floor(Math.random() * (high - low));
    let ok = 0;
    for (let port = start; port < start + n; port++) {
      if (isFree(port)) {
        ok++;
      } else {
        start = port + 1; // restart the block after the taken port
        ok = 0;
        if (start + n > top) break;
      }
    }
    if (ok === n && reserve(start, n)) return start;
  }
  throw new Error(`no ${n} consecutive free ports found`);
}

function isFree(port: number): boolean {
  try {
    Deno.listen({ hostname: "127.0.0.1", port }).close();
    return true;
  } catch {
    return false;
  }
}

/**
 * Picked ports are reserved for two to four minutes in a directory every test process of this user
 * shares: a port passes the bind check until its test binds it, so without this two picks in
 * that gap (one test's `vhostHTTPPort` and `vhostHTTPSPort`, or two parallel test files) could
 * get the same port, which failed CI once ("Address already in use"). A reservation is a file
 * named after the port and the two-minute window it was made in; a port is taken while its
 * file exists for this window or the one before.
 */
const RESERVATION_MS = 120_000;
const RESERVATIONS = `${Deno.env.get("TMPDIR") ?? "/tmp"}/dfrp-test-ports-${Deno.uid() ?? "any"}`;
let reservationsSwept = false;

function reserve(start: number, n: number): boolean {
  const window = Math.floor(Date.now() / RESERVATION_MS);
  Deno.mkdirSync(RESERVATIONS, { recursive: true });
  if (!reservationsSwept) sweepReservations(window);
  const made: string[] = [];
  for (let port = start; port < start + n; port++) {
    const name = `${RESERVATIONS}/${port}.${window}`;
    try {
      Deno.statSync(`${RESERVATIONS}/${port}.${window - 1}`);
      break; // reserved in the window before
    } catch {
      // Not reserved then.
    }
    try {
      Deno.openSync(name, { write: true, createNew: true }).close();
      made.push(name);
    } catch {
      break; // someone else's reservation in this window
    }
  }
  if (made.length === n) return true;
  for (const name of made) Deno.removeSync(name);
  return false;
}

/** Once per process: removes reservations older than the window before, so the directory stays small. */
function sweepReservations(window: number): void {
  reservationsSwept = true;
  for (const entry of Deno.readDirSync(RESERVATIONS)) {
    if (Number(entry.name.split(".")[1]) >= window - 1) continue;
    try {
      Deno.removeSync(`${RESERVATIONS}/${entry.name}`);
    } catch {
      // Another process swept it first.
    }
  }
}

/** A spawned dfrp process with its output collected. */
export class DfrpProcess implements AsyncDisposable {
  #output = "";
  #waiters: Array<() => void> = [];
  readonly exited: Promise<Deno.CommandStatus>;

  constructor(readonly child: Deno.ChildProcess, readonly name: string) {
    const pump = async (stream: ReadableStream<Uint8Array>) => {
      const decoder = new TextDecoder();
      for await (const chunk of stream) {
        this.#output += decoder.decode(chunk, { stream: true });
        for (const w of this.#waiters.splice(0)) w();
      }
    };
    const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
    this.exited = pumps.then(() => child.status);
    this.exited.then(() => {
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  /** Everything the process printed so far (stdout and stderr). */
  get output(): string {
    return this.#output;
  }

  /** Waits until the output matches `pattern`; returns the match. */
  async waitFor(pattern: RegExp, timeoutMs = 10_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    let exited = false;
    this.exited.then(() => exited = true);
    for (;;) {
      const match = this.#output.match(pattern);
      if (match) return match;
      if (exited) {
        throw new Error(`${this.name} exited before printing ${pattern}; output:\n${this.#output}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `${this.name} did not print ${pattern} within ${timeoutMs} ms; output:\n${this.#output}`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Sends `signal` and waits for the exit. */
  async stop(signal: Deno.Signal = "SIGTERM"): Promise<Deno.CommandStatus> {
    try {
      this.child.kill(signal);
    } catch {
      // Already exited.
    }
    return await this.exited;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop("SIGKILL");
  }
}

/** Writes `text` to a new temp file and returns its path. */
export async function tempFile(text: string, name = "config.toml"): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "dfrp-test-" });
  const path = `${dir}/${name}`;
  await Deno.writeTextFile(path, text);
  return path;
}

/**
 * One temp state directory per test module (made on first use): servers keep
 * their identity there, so a restarted server keeps its fingerprint, and
 * nothing lands in the repository or in ~/.local/state. Processes without a
 * config file find it as `$XDG_STATE_HOME/dfrp`.
 */
let moduleStateHome: string | undefined;
export function testStateHome(): string {
  return moduleStateHome ??= Deno.makeTempDirSync({ prefix: "dfrp-state-" });
}

/** Where and how {@linkcode spawnDeno} runs. */
export interface SpawnDenoOptions {
  /** The working directory; the repository root by default. */
  cwd?: string;
  /** The name error messages give the process. */
  name: string;
  /** More environment variables (NO_COLOR=1 is always set). */
  env?: Record<string, string>;
}

/**
 * Spawns `deno ...args` (this Deno binary) with no stdin and its output collected, so a test
 * can wait for a line and show all of it when that fails.
 *
 * @example
 * ```ts
 * import { spawnDeno } from "./_harness.ts";
 * await using proc = spawnDeno(["eval", "console.log('up')"], { name: "eval" });
 * await proc.waitFor(/up/);
 * ```
 */
export function spawnDeno(
  args: string[],
  { cwd = ROOT, name, env = {} }: SpawnDenoOptions,
): DfrpProcess {
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...env },
  }).spawn();
  return new DfrpProcess(child, name);
}

/** Spawns `deno run -A <entry> ...args` from the repository root. */
export function spawnDfrp(entry: "server.ts" | "client.ts", args: string[]): DfrpProcess {
  return spawnDeno(["run", "-A", "--quiet", `${ROOT}${entry}`, ...args], {
    name: entry,
    env: { XDG_STATE_HOME: testStateHome(), ...extraEnv() },
  });
}

/** A running server process and the port it listens on. */
export interface ServerHandle extends DfrpProcess {
  port: number;
}

/**
 * Starts `server.ts` with `config` (TOML; `bindPort` is added unless given)
 * and waits until it listens. Unless `config` sets `stateDir`, the server
 * keeps its identity in the module's temp state directory, so every server
 * of a test file (and a restarted one) has the same fingerprint.
 */
export async function startServer(config: string, port = freePort()): Promise<ServerHandle> {
  const text = /^\s*bindPort\s*=/m.test(config) ? config : `bindPort = ${port}\n${config}`;
  const stateDir = /^\s*stateDir\s*=/m.test(config)
    ? []
    : ["--state-dir", `${testStateHome()}/dfrp`];
  const proc = spawnDfrp("server.ts", ["-c", await tempFile(text, "frps.toml"), ...stateDir]);
  const match = await proc.waitFor(/listen on \S+:(\d+)/);
  return Object.assign(proc, { port: Number(match[1]) });
}

/** Starts `client.ts` with `config` (TOML) and waits for it to log in. */
export async function startClient(config: string, waitForLogin = true): Promise<DfrpProcess> {
  const proc = spawnDfrp("client.ts", ["-c", await tempFile(config, "frpc.toml")]);
  if (waitForLogin) await proc.waitFor(/login to server success/);
  return proc;
}

/**
 * An in-process TCP echo service on a free loopback port. With `greeting`,
 * each connection first receives it (tells backends apart).
 */
export function echoServer(greeting?: string): { port: number; close(): void } & Disposable {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  (async () => {
    for await (const conn of listener) {
      conns.add(conn);
      (async () => {
        const buf = new Uint8Array(64 * 1024);
        try {
          if (greeting !== undefined) await conn.write(new TextEncoder().encode(greeting));
          for (let n; (n = await conn.read(buf)) !== null;) {
            let off = 0;
            while (off < n) off += await conn.write(buf.subarray(off, n));
          }
          await conn.closeWrite();
        } catch {
          // The peer went away.
        } finally {
          conns.delete(conn);
          try {
            conn.close();
          } catch { /* closed */ }
        }
      })();
    }
  })().catch(() => {});
  const close = () => {
    try {
      listener.close();
    } catch { /* closed */ }
    for (const c of conns) {
      try {
        c.close();
      } catch { /* closed */ }
    }
  };
  return { port: listener.addr.port, close, [Symbol.dispose]: close };
}

/** Sends `data` to `host`:`port` (127.0.0.1 by default), half-closes, and returns all that comes back. */
export async function roundTrip(
  port: number,
  data: Uint8Array,
  host = "127.0.0.1",
): Promise<Uint8Array> {
  const conn = await Deno.connect({ hostname: host, port });
  try {
    const writing = (async () => {
      let off = 0;
      while (off < data.length) off += await conn.write(data.subarray(off));
      await conn.closeWrite();
    })();
    const chunks: Uint8Array[] = [];
    let total = 0;
    const buf = new Uint8Array(64 * 1024);
    for (let n; (n = await conn.read(buf)) !== null;) {
      chunks.push(buf.slice(0, n));
      total += n;
    }
    await writing;
    const out = new Uint8Array(total);
    let off = 0;
    for (const c of chunks) {
      out.set(c, off);
      off += c.length;
    }
    return out;
  } finally {
    conn.close();
  }
}

/**
 * Sends `data` to `host`:`port` through {@linkcode roundTrip} and asserts that the very same
 * bytes come back (compared by SHA-256, so a failure stays one line however large `data` is).
 *
 * @example
 * ```ts
 * import { assertEchoes, echoServer, randomBytes } from "./_harness.ts";
 * using echo = echoServer();
 * await assertEchoes(echo.port, randomBytes(64 * 1024));
 * ```
 */
export async function assertEchoes(
  port: number,
  data: Uint8Array<ArrayBuffer>,
  host = "127.0.0.1",
  msg?: string,
): Promise<void> {
  const reply = await roundTrip(port, data, host);
  assertEquals(await sha256(reply as Uint8Array<ArrayBuffer>), await sha256(data), msg);
}

/**
 * Sends `text` to `host`:`port` through {@linkcode roundTrip} and asserts that the same text
 * comes back: the one-line check that a proxy to an echo service works.
 *
 * @example
 * ```ts
 * import { assertEchoesText, echoServer } from "./_harness.ts";
 * using echo = echoServer();
 * await assertEchoesText(echo.port, "still serving");
 * ```
 */
export async function assertEchoesText(
  port: number,
  text: string,
  host = "127.0.0.1",
): Promise<void> {
  const reply = await roundTrip(port, new TextEncoder().encode(text), host);
  assertEquals(new TextDecoder().decode(reply), text);
}

/** SHA-256 of `data` as hex. */
export async function sha256(data: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", data);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** `n` random bytes (crypto.getRandomValues fills at most 64 KiB per call). */
export function randomBytes(n: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(n);
  for (let off = 0; off < n; off += 65536) {
    crypto.getRandomValues(out.subarray(off, Math.min(n, off + 65536)));
  }
  return out;
}

/** Retries `fn` until it resolves or `timeoutMs` passes (then rethrows its last error). */
export async function eventually<T>(
  fn: () => Promise<T>,
  timeoutMs = 10_000,
  stepMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, stepMs));
    }
  }
}

/**
 * Settles with `p`, or rejects with "`what` within `ms` ms" after `ms`: for a promise that must
 * settle by itself (a relay that ends, a connection that closes), so that a hang fails the test
 * with a reason instead of timing out the whole run.
 *
 * @example
 * ```ts
 * import { within } from "./_harness.ts";
 * await within(new Promise((r) => setTimeout(r, 10)), 5_000, "the timer did not fire");
 * ```
 */
export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function extraEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of ["MUX_PLAIN_COPY", "GLIBC_TUNABLES", "DFRP_MUX_WINDOW"]) {
    const v = Deno.env.get(k);
    if (v !== undefined) out[k] = v;
  }
  return out;
}
