/**
 * frp's port range mapping end to end: a client config whose
 * `parseNumberRangePair` template makes 1,000 tcp proxies, a server whose
 * `allowPorts` covers them, and sampled ports carrying bytes to the matching
 * local port. Prints how long registering and binding took.
 *
 * @module
 */

import { assertEquals, assertMatch } from "./_assert.ts";
import {
  type DfrpProcess,
  freePortBlock,
  roundTrip,
  startClient,
  startServer,
} from "./_harness.ts";

const COUNT = 1000;

/** A local service that answers `<its port>:<what it read>`, so a reply shows which port served it. */
function taggedEcho(port: number): Disposable {
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  (async () => {
    for await (const conn of listener) {
      (async () => {
        const chunks: Uint8Array[] = [];
        const buf = new Uint8Array(4096);
        for (let n; (n = await conn.read(buf)) !== null;) chunks.push(buf.slice(0, n));
        const text = `${port}:` + chunks.map((c) => new TextDecoder().decode(c)).join("");
        await conn.write(new TextEncoder().encode(text));
        conn.close();
      })().catch(() => {});
    }
  })().catch(() => {});
  return { [Symbol.dispose]: () => listener.close() };
}

function count(proc: DfrpProcess, pattern: RegExp): number {
  return proc.output.match(pattern)?.length ?? 0;
}

/** Milliseconds between the log timestamps of the first and last line matching `pattern`. */
function span(output: string, pattern: RegExp): number {
  const times = output.split("\n").filter((l) => pattern.test(l)).map((l) =>
    Date.parse(l.slice(0, 23).replace(" ", "T"))
  );
  return times.length ? times[times.length - 1] - times[0] : NaN;
}

/** Waits until `pattern` (global) has matched `n` times in the output. */
async function waitForCount(proc: DfrpProcess, pattern: RegExp, n: number, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (count(proc, pattern) < n) {
    if (Date.now() > deadline) {
      // The lines that are not the awaited one say why a proxy is missing.
      const others = proc.output.split("\n").filter((line) => !line.match(pattern));
      throw new Error(
        `${count(proc, pattern)} of ${n} matches of ${pattern}; other lines:\n` +
          others.slice(-40).join("\n"),
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

Deno.test(`port range: ${COUNT} proxies from one template, sampled ports carry bytes`, async () => {
  // One block: local ports first, remote ports after, plus one remote port beyond allowPorts.
  const base = freePortBlock(2 * COUNT + 1);
  const local = base;
  const remote = base + COUNT;
  const samples = [0, 1, 499, 998, 999].map((i) => ({ local: local + i, remote: remote + i }));
  const echoes = samples.map((s) => taggedEcho(s.local));
  try {
    // allowPorts written as single ports by a template on the server side too. (A
    // `{ start, end }` entry would be the natural form, but lib/server/ports.ts reads the
    // loader's default `single = 0` as a single port and so refuses every port of a range.)
    await using server = await startServer(`auth.token = "r"
{{- range $_, $p := parseNumberRange "${remote}-${remote + COUNT - 1}" }}
[[allowPorts]]
single = {{ $p }}
{{- end }}
`);
    const t0 = performance.now();
    await using client = await startClient(`
serverAddr = "127.0.0.1"
serverPort = ${server.port}
auth.token = "r"
loginFailExit = true
{{- range $_, $v := parseNumberRangePair "${local}-${local + COUNT}" "${remote}-${
      remote + COUNT
    }" }}
[[proxies]]
name = "range-{{ $v.First }}"
type = "tcp"
localIP = "127.0.0.1"
localPort = {{ $v.First }}
remotePort = {{ $v.Second }}
{{- end }}
`);
    const loggedIn = performance.now() - t0;
    // Every proxy inside allowPorts starts; the one past it is refused by name.
    await waitForCount(client, /\] start proxy success/g, COUNT, 120_000);
    const allStarted = performance.now() - t0;
    await client.waitFor(
      new RegExp(`\\[range-${local + COUNT}\\] start error: .*${remote + COUNT}`),
    );
    assertEquals(count(server, /tcp proxy listen at \S+ success/g), COUNT);
    console.log(
      `${COUNT} proxies: client logged in after ${loggedIn.toFixed(0)} ms, ` +
        `all NewProxyResp received after ${allStarted.toFixed(0)} ms ` +
        `(${(1000 * COUNT / (allStarted - loggedIn)).toFixed(0)} proxies/s registered and bound)`,
    );

    console.log(
      `server: first to last "listen at" ${span(server.output, /listen at \S+ success/)} ms; ` +
        `client: first to last "start proxy success" ${
          span(client.output, /start proxy success/)
        } ms`,
    );

    for (const s of samples) {
      const reply = await roundTrip(s.remote, new TextEncoder().encode(`via ${s.remote}`));
      assertEquals(new TextDecoder().decode(reply), `${s.local}:via ${s.remote}`);
    }
    // An unsampled port in the range is bound and relays; its local port has no service.
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: remote + 500 });
    const n = await conn.read(new Uint8Array(16)).catch(() => null);
    conn.close();
    assertEquals(n, null);
    assertMatch(
      client.output,
      new RegExp(
        `\\[range-${local + 500}\\] connect to local service \\[127\\.0\\.0\\.1:${
          local + 500
        }\\] error`,
      ),
    );
  } finally {
    for (const e of echoes) e[Symbol.dispose]();
  }
});
