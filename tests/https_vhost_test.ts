import { clientConf, httpsProxy } from "./_config.ts";
import { makeCerts, type TestCerts } from "./_certs.ts";
import { curl } from "./_curl.ts";
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { freePort, startClient, startServer } from "./_harness.ts";

let certsMade: Promise<TestCerts> | undefined;

/**
 * The test certificate the local HTTPS services present. curl runs with `-k` and dfrp passes
 * TLS through untouched, so the names it covers do not matter.
 */
async function makeCert(): Promise<{ cert: string; key: string }> {
  const c = await (certsMade ??= makeCerts());
  return { cert: await Deno.readTextFile(c.serverCert), key: await Deno.readTextFile(c.serverKey) };
}

/** Starts a client (token "t") of the server at `serverPort` with the `proxies` tables. */
function clientWith(serverPort: number, proxies: string) {
  return startClient(clientConf({ serverPort, token: "t", extra: proxies }));
}

/** A local HTTPS service answering `body` and the SNI-free Host it saw. */
function tlsBackend(tls: { cert: string; key: string }, body: string) {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, ...tls, onListen() {} },
    (req) => new Response(`${body} ${new URL(req.url).hostname}\n`),
  );
  return {
    port: server.addr.port,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}

/** `curl -k --resolve name:port:127.0.0.1 https://name:port/`; resolves to [exit code, body]. */
async function curlTls(name: string, port: number): Promise<[number, string]> {
  const r = await curl(
    "-k",
    "--resolve",
    `${name}:${port}:127.0.0.1`,
    `https://${name}:${port}/`,
  );
  return [r.code, r.body];
}

Deno.test("https: routes by SNI to customDomains and subdomain, TLS untouched", async () => {
  const tls = await makeCert();
  await using backA = tlsBackend(tls, "backend-A");
  await using backB = tlsBackend(tls, "backend-B");
  const httpsPort = freePort();
  await using server = await startServer(
    `auth.token = "t"\nvhostHTTPSPort = ${httpsPort}\nsubDomainHost = "example.test"`,
  );
  await server.waitFor(/https vhost listen on/);
  await using client = await clientWith(
    server.port,
    httpsProxy("web-a", backA.port, `customDomains = ["A.example.com"]`) +
      httpsProxy("web-b", backB.port, `subdomain = "b"`),
  );
  await client.waitFor(/\[web-a\] start proxy success/);
  await client.waitFor(/\[web-b\] start proxy success/);
  assertMatch(server.output, new RegExp(`https proxy listen at a\\.example\\.com:${httpsPort}`));
  assertEquals(await curlTls("a.example.com", httpsPort), [0, "backend-A a.example.com\n"]);
  assertEquals(await curlTls("b.example.test", httpsPort), [0, "backend-B b.example.test\n"]);

  // Unknown SNI: closed during the handshake, logged, and the server goes on.
  const [code] = await curlTls("nobody.example.com", httpsPort);
  assert(code !== 0, "curl to an unknown name must fail");
  await server.waitFor(/no proxy for SNI \[nobody\.example\.com\]/);
  // Not TLS at all.
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: httpsPort });
  await conn.write(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: a.example.com\r\n\r\n"));
  assertEquals(await conn.read(new Uint8Array(16)), null);
  conn.close();
  await server.waitFor(/not a TLS handshake/);
  assertEquals(await curlTls("a.example.com", httpsPort), [0, "backend-A a.example.com\n"]);
});

Deno.test("https: a subdomain without subDomainHost on the server is refused with a reason", async () => {
  const httpsPort = freePort();
  await using server = await startServer(`auth.token = "t"\nvhostHTTPSPort = ${httpsPort}`);
  await using client = await clientWith(server.port, httpsProxy("sub", 1, `subdomain = "x"`));
  await client.waitFor(/\[sub\].*subdomain is not supported/);
});

Deno.test("https: vhostHTTPSPort unset refuses https proxies", async () => {
  await using server = await startServer(`auth.token = "t"`);
  await using client = await clientWith(
    server.port,
    httpsProxy("nope", 1, `customDomains = ["x.example.com"]`),
  );
  await client.waitFor(/\[nope\].*vhostHTTPSPort is not set/);
});

Deno.test("https: vhostHTTPSPort equal to bindPort serves TLS and dfrp clients on one port", async () => {
  const tls = await makeCert();
  await using back = tlsBackend(tls, "shared");
  const port = freePort();
  await using _server = await startServer(
    `bindPort = ${port}\nauth.token = "t"\nvhostHTTPSPort = ${port}`,
  );
  await using client = await clientWith(
    port,
    httpsProxy("web", back.port, `customDomains = ["a.example.com"]`),
  );
  await client.waitFor(/\[web\] start proxy success/);
  assertEquals(await curlTls("a.example.com", port), [0, "shared a.example.com\n"]);
  assertEquals(await curlTls("a.example.com", port), [0, "shared a.example.com\n"]);
});

Deno.test("https: a load-balancing group of two takes turns", async () => {
  const tls = await makeCert();
  await using backA = tlsBackend(tls, "member-1");
  await using backB = tlsBackend(tls, "member-2");
  const httpsPort = freePort();
  await using server = await startServer(`auth.token = "t"\nvhostHTTPSPort = ${httpsPort}`);
  const member = (name: string, port: number) =>
    httpsProxy(
      name,
      port,
      `customDomains = ["lb.example.com"]\nloadBalancer.group = "web"\nloadBalancer.groupKey = "k"`,
    );
  await using c1 = await clientWith(server.port, member("lb-1", backA.port));
  await c1.waitFor(/\[lb-1\] start proxy success/);
  await using c2 = await clientWith(server.port, member("lb-2", backB.port));
  await c2.waitFor(/\[lb-2\] start proxy success/);
  const bodies: string[] = [];
  for (let i = 0; i < 4; i++) {
    const [code, body] = await curlTls("lb.example.com", httpsPort);
    assertEquals(code, 0);
    bodies.push(body.split(" ")[0]);
  }
  assertEquals(bodies.filter((b) => b === "member-1").length, 2, bodies.join(","));
  assertEquals(bodies.filter((b) => b === "member-2").length, 2, bodies.join(","));
  assert(bodies[0] !== bodies[1] && bodies[1] !== bodies[2], `not alternating: ${bodies}`);

  // A third proxy on the same domain without the group key is refused.
  await using c3 = await clientWith(
    server.port,
    member("lb-3", backA.port).replace(`groupKey = "k"`, `groupKey = "x"`),
  );
  await c3.waitFor(/\[lb-3\].*groupKey does not match/);
});
