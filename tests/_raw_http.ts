/**
 * Reading HTTP by hand off a raw connection, for tests that must see bytes exactly as dfrp
 * forwarded them (an HTTP library would parse and normalise them first).
 *
 * @example
 * ```ts
 * import { readHead } from "./_raw_http.ts";
 * const conn = await Deno.connect({ hostname: "example.com", port: 80 });
 * await conn.write(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"));
 * console.log(await readHead(conn));
 * conn.close();
 * ```
 *
 * @module
 */

const dec = new TextDecoder();

/**
 * Reads from `conn` until a blank line ends a head (or the peer closes); returns all that was
 * read, which may run past the head.
 *
 * @example
 * ```ts
 * import { readHead } from "./_raw_http.ts";
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * for await (const conn of listener) console.log((await readHead(conn)).split("\r\n")[0]);
 * ```
 */
export async function readHead(conn: Deno.Conn): Promise<string> {
  const buf = new Uint8Array(16384);
  let head = "";
  while (!head.includes("\r\n\r\n")) {
    const n = await conn.read(buf);
    if (n === null) break;
    head += dec.decode(buf.subarray(0, n));
  }
  return head;
}

/**
 * Reads from `conn` until the peer closes; returns it all as text.
 *
 * @example
 * ```ts
 * import { readToEnd } from "./_raw_http.ts";
 * const conn = await Deno.connect({ hostname: "127.0.0.1", port: 8080 });
 * await conn.write(new TextEncoder().encode("GET / HTTP/1.0\r\n\r\n"));
 * console.log(await readToEnd(conn));
 * ```
 */
export async function readToEnd(conn: Deno.Conn): Promise<string> {
  const buf = new Uint8Array(65536);
  let out = "";
  for (let n; (n = await conn.read(buf)) !== null;) out += dec.decode(buf.subarray(0, n));
  return out;
}

/**
 * A raw TCP backend on a free loopback port: on each connection it reads the request head, writes
 * `answer(head)` byte for byte, and closes. Raw, so a test controls the response's framing and
 * sees the request exactly as forwarded.
 *
 * @example
 * ```ts
 * import { rawHttpBackend } from "./_raw_http.ts";
 * await using be = rawHttpBackend(() => "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
 * console.log(be.port);
 * ```
 */
export function rawHttpBackend(
  answer: (head: string) => string,
): { port: number } & AsyncDisposable {
  const enc = new TextEncoder();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = (async () => {
    for await (const conn of listener) {
      (async () => {
        await conn.write(enc.encode(answer(await readHead(conn))));
        conn.close();
      })().catch(() => {});
    }
  })().catch(() => {});
  return {
    port: listener.addr.port,
    async [Symbol.asyncDispose]() {
      listener.close();
      await serving;
    },
  };
}
