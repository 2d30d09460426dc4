/**
 * Client plugins through real server and client processes, driven by real
 * peers: curl (http_proxy, socks5, static_file, https2http...), socat
 * (unix socket), openssl s_client (tls2raw).
 */

import { assertEquals } from "./_assert.ts";
import { freePort, startClient, startServer } from "./_harness.ts";

const dec = new TextDecoder();

interface CurlResult {
  status: number;
  headers: string;
  body: string;
  stderr: string;
}

/** Runs curl with `-i` and splits the last head from the body. */
async function curl(...args: string[]): Promise<CurlResult> {
  const out = await new Deno.Command("curl", {
    args: ["-s", "-S", "-i", "--max-time", "30", "-w", "\n%{http_code}", ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = dec.decode(out.stdout);
  const nl = text.lastIndexOf("\n");
  const status = Number(text.slice(nl + 1));
  let rest = text.slice(0, nl);
  let headers = "";
  // Skip proxy heads (CONNECT's 200) and interim heads up to the final one.
  while (rest.startsWith("HTTP/")) {
    const end = rest.indexOf("\r\n\r\n");
    if (end < 0) break;
    headers = rest.slice(0, end);
    rest = rest.slice(end + 4);
    if (!rest.startsWith("HTTP/")) break;
  }
  return { status, headers, body: rest, stderr: dec.decode(out.stderr) };
}

/** A local HTTP backend that echoes what it saw as JSON. */
function backend(opts: { cert?: string; key?: string } = {}) {
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen() {},
    ...(opts.cert
      ? { cert: Deno.readTextFileSync(opts.cert), key: Deno.readTextFileSync(opts.key!) }
      : {}),
  }, async (req) => {
    const url = new URL(req.url);
    const body = req.body ? await req.text() : "";
    return Response.json({
      method: req.method,
      path: url.pathname + url.search,
      host: req.headers.get("host"),
      xff: req.headers.get("x-forwarded-for"),
      xfh: req.headers.get("x-forwarded-host"),
      xfp: req.headers.get("x-forwarded-proto"),
      extra: req.headers.get("x-extra"),
      proxyAuth: req.headers.get("proxy-authorization"),
      body,
    });
  });
  return {
    port: server.addr.port,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}

/** A server plus a client with one tcp proxy carrying `plugin`; yields the remote port. */
async function tunnel(plugin: string, extra = "") {
  const server = await startServer(`auth.token = "t"`);
  const remotePort = freePort();
  const client = await startClient(`
serverAddr = "127.0.0.1"
serverPort = ${server.port}
auth.token = "t"

[[proxies]]
name = "plug"
type = "tcp"
remotePort = ${remotePort}
${extra}
[proxies.plugin]
${plugin}
`);
  await client.waitFor(/\[plug\] start proxy success/);
  return {
    server,
    client,
    remotePort,
    async [Symbol.asyncDispose]() {
      await client.stop("SIGKILL");
      await server.stop("SIGKILL");
    },
  };
}

Deno.test("socks5 plugin: curl --socks5-hostname without auth", async () => {
  await using web = backend();
  await using t = await tunnel(`type = "socks5"`);
  const r = await curl(
    "--socks5-hostname",
    `127.0.0.1:${t.remotePort}`,
    `http://localhost:${web.port}/via-socks?x=1`,
  );
  assertEquals(r.status, 200, r.stderr);
  assertEquals(JSON.parse(r.body).path, "/via-socks?x=1");
});

Deno.test("socks5 plugin: user/password required and checked", async () => {
  await using web = backend();
  await using t = await tunnel(`type = "socks5"\nusername = "alice"\npassword = "s3cret"`);
  const url = `http://127.0.0.1:${web.port}/auth`;
  const ok = await curl("--socks5-hostname", `alice:s3cret@127.0.0.1:${t.remotePort}`, url);
  assertEquals(ok.status, 200, ok.stderr);
  assertEquals(JSON.parse(ok.body).path, "/auth");
  const wrong = await curl("--socks5-hostname", `alice:nope@127.0.0.1:${t.remotePort}`, url);
  assertEquals(wrong.status, 0);
  const none = await curl("--socks5-hostname", `127.0.0.1:${t.remotePort}`, url);
  assertEquals(none.status, 0);
  await t.client.waitFor(/authentication failed for user "alice"/);
  // Still serving after the refusals.
  const again = await curl("--socks5", `alice:s3cret@127.0.0.1:${t.remotePort}`, url);
  assertEquals(again.status, 200, again.stderr);
});

Deno.test("unix_domain_socket plugin: socat echo over a unix socket", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dfrp-uds-" });
  const path = `${dir}/echo.sock`;
  const listener = Deno.listen({ transport: "unix", path });
  const serving = (async () => {
    for await (const conn of listener) {
      (async () => {
        const buf = new Uint8Array(16 * 1024);
        for (let n; (n = await conn.read(buf)) !== null;) await conn.write(buf.subarray(0, n));
        await conn.closeWrite();
      })().catch(() => {}).finally(() => conn.close());
    }
  })().catch(() => {});
  try {
    await using t = await tunnel(`type = "unix_domain_socket"\nunixPath = "${path}"`);
    const out = await new Deno.Command("socat", {
      args: ["-t", "5", "-", `TCP:127.0.0.1:${t.remotePort}`],
      stdin: "piped",
      stdout: "piped",
    }).spawn();
    const w = out.stdin.getWriter();
    await w.write(new TextEncoder().encode("hello unix socket\n"));
    await w.close();
    const res = await out.output();
    assertEquals(dec.decode(res.stdout), "hello unix socket\n");
  } finally {
    listener.close();
    await serving;
    await Deno.remove(dir, { recursive: true });
  }
});
