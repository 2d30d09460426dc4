/**
 * Speaking the control wire by hand, as an attacker with (or without) the
 * token would: the magic, length-prefixed JSON frames, and a Login whose
 * fields the test chooses freely (newlines, NULs, huge strings).
 *
 * @example
 * ```ts
 * import { rawLogin } from "./_wire.ts";
 * const { conn, resp } = await rawLogin(7000, "token", { hostname: "evil\nline" });
 * console.log(resp.runId);
 * conn.close();
 * ```
 *
 * @module
 */

import { PROTOCOL_VERSION } from "../lib/protocol/messages.ts";
import { MAGIC } from "../lib/protocol/magic.ts";
import { prove } from "../lib/protocol/auth.ts";
import { dialServer, login } from "../lib/client/login.ts";
import { parseClientConfig } from "../lib/config/load.ts";
import { MuxSession } from "../lib/mux/mod.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** One frame: a u32 big-endian length, then the JSON text of `msg`. */
export function frame(msg: Record<string, unknown>): Uint8Array {
  const body = enc.encode(JSON.stringify(msg));
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setUint32(0, body.length);
  out.set(body, 4);
  return out;
}

async function readExactly(conn: Deno.Conn, n: number): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  for (let off = 0; off < n;) {
    const m = await conn.read(out.subarray(off));
    if (m === null) throw new Error(`connection closed after ${off} of ${n} bytes`);
    off += m;
  }
  return out;
}

/** Reads one frame and parses its JSON. */
export async function readFrame(conn: Deno.Conn): Promise<Record<string, unknown>> {
  const head = await readExactly(conn, 4);
  const size = new DataView(head.buffer).getUint32(0);
  return JSON.parse(dec.decode(await readExactly(conn, size)));
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  for (let off = 0; off < data.length;) off += await conn.write(data.subarray(off));
}

/**
 * Dials 127.0.0.1:`port` in plain TCP, sends the magic and a Login proven
 * with `token` (`fields` override or add Login fields; `user` enters the
 * proof), and returns the connection and the server's LoginResp. With
 * tcpMux (the default) the caller wraps `conn` in a client MuxSession next.
 */
export async function rawLogin(
  port: number,
  token: string,
  fields: Record<string, unknown> = {},
): Promise<{ conn: Deno.TcpConn; resp: Record<string, unknown> }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await writeAll(conn, MAGIC);
    const hello = await readFrame(conn);
    const clientNonce = "ab".repeat(32);
    const user = typeof fields.user === "string" ? fields.user : "";
    const tcpMux = fields.tcpMux ?? true;
    const proof = await prove(token, [
      "login",
      String(hello.nonce),
      clientNonce,
      user,
      String(tcpMux),
    ]);
    await writeAll(
      conn,
      frame({
        type: "Login",
        version: PROTOCOL_VERSION,
        software: "test",
        hostname: "test",
        os: "linux",
        arch: "x86_64",
        user,
        runId: "",
        poolCount: 0,
        tcpMux,
        clientNonce,
        proof,
        ...fields,
      }),
    );
    return { conn, resp: await readFrame(conn) };
  } catch (err) {
    conn.close();
    throw err;
  }
}

/**
 * One login to the server on 127.0.0.1:`port` with the real client code, from this process;
 * `lines` are the client TOML lines after `serverAddr`/`serverPort` (`user`, `auth.token`,
 * `transport.tcpMux`...). Resolves to "" when the server let it in, else to the refusal (or the
 * dial error); the connection is closed either way.
 *
 * @example
 * ```ts
 * import { loginRefusal } from "./_wire.ts";
 * const refusal = await loginRefusal(7000, `user = "bob"\nauth.token = "guess"`);
 * console.log(refusal || "logged in");
 * ```
 */
export async function loginRefusal(port: number, lines: string): Promise<string> {
  const { config } = parseClientConfig(
    `serverAddr = "127.0.0.1"\nserverPort = ${port}\n${lines}`,
    "frpc.toml",
  );
  let conn;
  try {
    conn = await dialServer(config);
    await login(conn, config, null);
    return "";
  } catch (err) {
    return (err as Error).message;
  } finally {
    conn?.close();
  }
}

/** Opens a connection to `port`, sends `bytes`, and waits until the server closes it. */
export async function sendAndDrain(port: number, bytes: Uint8Array): Promise<void> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await writeAll(conn, bytes);
    const buf = new Uint8Array(4096);
    while ((await conn.read(buf)) !== null) { /* until the server closes */ }
  } catch {
    // Reset by the server: also a close.
  } finally {
    conn.close();
  }
}

/** A client logged in with the real login code, its mux session up, its control stream open. */
export interface LoggedInMux extends AsyncDisposable {
  /** Opens streams to the server (each starts with the server's `ServerHello`). */
  mux: MuxSession;
  /** Ends the session and the connection. */
  close(): void;
}

/**
 * Logs in to the server on 127.0.0.1:`port` with `token` (TLS, tcpMux on, as
 * a default client does) and opens the control stream, so the test can then
 * open visitor streams and write to them by hand.
 *
 * @example
 * ```ts
 * import { loggedInMux } from "./_wire.ts";
 * await using client = await loggedInMux(7000, "token");
 * const stream = client.mux.open();
 * ```
 */
export async function loggedInMux(port: number, token: string): Promise<LoggedInMux> {
  const cfg = parseClientConfig(
    `serverAddr = "127.0.0.1"\nserverPort = ${port}\nauth.token = "${token}"`,
    "frpc.toml",
  ).config;
  const conn = await dialServer(cfg);
  await login(conn, cfg, null);
  const mux = new MuxSession(conn, { client: true });
  mux.open(); // the control stream
  const close = () => {
    mux.close("done");
    conn.close();
  };
  return { mux, close, [Symbol.asyncDispose]: () => Promise.resolve(close()) };
}
