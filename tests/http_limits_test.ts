// The vhost ports (http, https SNI, tcpmux) time out slow and idle
// connections and cap how many one address may hold open, so that nobody
// without a token can exhaust the server's file descriptors. Real
// dfrps/dfrpc processes; raw sockets as the attacker, curl as the user.
// Limits are shortened by configuration (1 s); the generous waits below only
// bound how long a broken server could keep the test hanging.
import { curl } from "./_curl.ts";
import { httpProxy, tcpmuxProxy } from "./_config.ts";
import { startHttpVhost } from "./_tunnel.ts";
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { eventually, freePort } from "./_harness.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Far longer than any configured limit here, far shorter than the old "never". */
const GIVE_UP_MS = 8_000;

/** A tiny HTTP backend answering "ok" to every request (keep-alive). */
function okBackend() {
  const ac = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {} },
    () => new Response("ok"),
  );
  return {
    port: server.addr.port,
    async [Symbol.asyncDispose]() {
      ac.abort();
      await server.finished;
    },
  };
}

/**
 * Reads `conn` until the server closes it; resolves to what it sent, or to
 * null when it was still open after {@linkcode GIVE_UP_MS}. `trickle` is
 * written one byte at a time, a byte every 300 ms, meanwhile (slowloris).
 */
async function serverCloses(conn: Deno.Conn, trickle = ""): Promise<string | null> {
  let closed = false;
  let gaveUp = false;
  let text = "";
  const reading = (async () => {
    const buf = new Uint8Array(4096);
    try {
      for (let n; (n = await conn.read(buf)) !== null;) text += dec.decode(buf.subarray(0, n));
    } catch {
      // Reset by the server: closed too (unless we closed it below).
    }
    closed = !gaveUp;
  })();
  const writing = (async () => {
    for (const ch of trickle) {
      if (closed || gaveUp) return;
      try {
        await conn.write(enc.encode(ch));
      } catch {
        return;
      }
      await new Promise((r) => setTimeout(r, 300));
    }
  })();
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([reading, new Promise((r) => timer = setTimeout(r, GIVE_UP_MS))]);
  clearTimeout(timer);
  gaveUp = !closed;
  try {
    conn.close();
  } catch {
    // Already closed.
  }
  await reading;
  await writing;
  return closed ? text : null;
}

const connect = (port: number) => Deno.connect({ hostname: "127.0.0.1", port });

/** An http and a tcpmux proxy to `be`, on a server with an https vhost port too and `limits`. */
async function setup(be: { port: number }, limits: string) {
  const httpsPort = freePort();
  const muxPort = freePort();
  const vh = await startHttpVhost({
    server: `vhostHTTPSPort = ${httpsPort}\ntcpmuxHTTPConnectPort = ${muxPort}\n${limits}`,
    proxies: httpProxy("web", be.port, `customDomains = ["web.example"]`) +
      tcpmuxProxy("mux", be.port, `customDomains = ["mux.example"]`),
    started: ["web", "mux"],
  });
  return Object.assign(vh, { httpsPort, muxPort });
}

/** curl from 127.0.0.2, an address other than the one the test's raw connections use. */
const curlFromOther = (...args: string[]) => curl("--interface", "127.0.0.2", ...args);

Deno.test("vhost limits: slow, silent and idle connections are closed after the configured time", async () => {
  await using be = okBackend();
  await using vh = await setup(
    be,
    "vhostHTTPHeaderTimeout = 1\nvhostHTTPIdleTimeout = 1\nvhostHandshakeTimeout = 1",
  );
  const { vhostPort, httpsPort, muxPort } = vh;

  // Slowloris: a header byte every 300 ms never completes the head: 408, then closed.
  const slow = await serverCloses(
    await connect(vhostPort),
    "GET / HTTP/1.1\r\nHost: web.example\r\nX-Slow: " + "a".repeat(100),
  );
  assert(slow !== null, "a slowloris connection stayed open");
  assertMatch(slow, /^HTTP\/1\.1 408 /);

  // Silent connections on each vhost port: closed without a word.
  for (const port of [vhostPort, httpsPort, muxPort]) {
    assertEquals(await serverCloses(await connect(port)), "", `silent connection on ${port}`);
  }
  // A ClientHello or CONNECT head trickled in too slowly: closed as well.
  const hello = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + "r".repeat(40);
  assert(await serverCloses(await connect(httpsPort), hello) !== null, "slow ClientHello");
  const slowConnect = "CONNECT mux.example:80 HTTP/1.1\r\nHost: mux.example:80\r\nX: " +
    "b".repeat(40);
  assert(await serverCloses(await connect(muxPort), slowConnect) !== null, "slow CONNECT");

  // Keep-alive: a request is answered, then the idle connection is closed.
  const kept = await connect(vhostPort);
  await kept.write(enc.encode("GET / HTTP/1.1\r\nHost: web.example\r\n\r\n"));
  const answer = await serverCloses(kept);
  assert(answer !== null, "an idle kept-alive connection stayed open");
  assertMatch(answer, /^HTTP\/1\.1 200 [^]*\r\n\r\nok$/);

  // A normal request still works, through the vhost and through tcpmux.
  const ok = await curl("-H", "Host: web.example", `http://127.0.0.1:${vhostPort}/`);
  assertEquals([ok.status, ok.body], [200, "ok"]);
  const viaMux = await curl("-p", "-x", `http://127.0.0.1:${muxPort}`, "http://mux.example/");
  assertEquals([viaMux.status, viaMux.body], [200, "ok"]);
});

Deno.test("vhost limits: connections over the per-address cap are refused, other addresses served", async () => {
  await using be = okBackend();
  await using vh = await setup(
    be,
    "vhostMaxConnsPerIP = 3\nvhostHTTPHeaderTimeout = 60\nvhostHandshakeTimeout = 60",
  );
  const { server, vhostPort, httpsPort, muxPort } = vh;

  for (const port of [vhostPort, httpsPort, muxPort]) {
    const held: Deno.Conn[] = [];
    for (let i = 0; i < 3; i++) held.push(await connect(port));
    // The fourth from 127.0.0.1 is closed at once.
    assertEquals(await serverCloses(await connect(port)), "", `fourth connection on ${port}`);
    if (port === vhostPort) {
      // Another address is not affected...
      const other = await curlFromOther(
        "-H",
        "Host: web.example",
        `http://127.0.0.1:${vhostPort}/`,
      );
      assertEquals([other.status, other.body], [200, "ok"]);
    }
    if (port === muxPort) {
      const other = await curlFromOther(
        "-p",
        "-x",
        `http://127.0.0.1:${muxPort}`,
        "http://mux.example/",
      );
      assertEquals([other.status, other.body], [200, "ok"]);
    }
    // ...and a slot freed is a slot for the next connection (once the server saw the close).
    held.pop()!.close();
    if (port === vhostPort) {
      await eventually(async () => {
        const again = await curl("-H", "Host: web.example", `http://127.0.0.1:${vhostPort}/`);
        assertEquals([again.status, again.body], [200, "ok"]);
      });
    }
    for (const conn of held) conn.close();
  }
  await server.waitFor(/refused 1 connection\(s\) over vhostMaxConnsPerIP 3/);
});
