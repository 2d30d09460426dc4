// The HTTP vhost reads requests strictly: `locations` match on the
// normalised path (so `//admin` cannot dodge a guarded `/admin`), one Host
// header only, proxy-form targets route by their URL, and chunked framing
// and Transfer-Encoding follow RFC 9112. Real dfrps/dfrpc processes, curl
// and raw sockets as the user.

import { curl } from "./_curl.ts";
import { rawHttpBackend, readToEnd } from "./_raw_http.ts";
import { httpProxy, xTag } from "./_config.ts";
import { startHttpVhost } from "./_tunnel.ts";
import { assert, assertEquals, assertMatch } from "./_assert.ts";

const enc = new TextEncoder();

/**
 * A raw TCP backend: answers each request with its request line and headers
 * as the body, then closes. Raw, so the test sees the request line exactly as
 * forwarded (an HTTP library would resolve `//admin` first).
 */
function echoHeadBackend() {
  return rawHttpBackend((head) => {
    const body = head.slice(0, head.indexOf("\r\n\r\n") + 2);
    return `HTTP/1.1 200 OK\r\nContent-Length: ${enc.encode(body).length}\r\n` +
      `Connection: close\r\n\r\n${body}`;
  });
}

/** Sends `text` on a new connection and reads until the server closes. */
async function raw(port: number, text: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(enc.encode(text));
    return await readToEnd(conn);
  } finally {
    conn.close();
  }
}

/** Four http proxies on one backend, each tagging its requests with its name. */
function setup(be: { port: number }) {
  const guarded = `customDomains = ["d.example.com"]
locations = ["/admin"]
httpUser = "boss"
httpPassword = "s3cret"
${xTag("admin")}`;
  const site = `customDomains = ["d.example.com"]\nlocations = ["/"]\n${xTag("site")}`;
  return startHttpVhost({
    proxies: httpProxy("admin", be.port, guarded) + httpProxy("site", be.port, site) +
      httpProxy("a", be.port, `customDomains = ["a.example"]\n${xTag("a")}`) +
      httpProxy("b", be.port, `customDomains = ["b.example"]\n${xTag("b")}`),
    started: ["admin", "site", "a", "b"],
  });
}

Deno.test("http paths: locations match the normalised path; the request line passes unchanged", async () => {
  await using be = echoHeadBackend();
  await using vh = await setup(be);
  const { vhostPort } = vh;
  const get = (path: string, ...extra: string[]) =>
    curl(
      "--path-as-is",
      "-H",
      "Host: d.example.com",
      ...extra,
      `http://127.0.0.1:${vhostPort}${path}`,
    );

  // The unguarded proxy still serves its own paths.
  const home = await get("/index.html");
  assertEquals(home.status, 200);
  assertMatch(home.body, /x-tag: site/i);

  // Every spelling of /admin reaches the guarded proxy and asks for credentials.
  for (
    const path of [
      "/admin",
      "//admin",
      "/./admin",
      "/%2e/admin",
      "/%2E%2E/admin",
      "/x/../admin",
      "/x/%2e%2e/admin/",
      "///admin/./page",
      "/%61dmin",
      "/public/..//admin?q=1",
    ]
  ) {
    const r = await get(path);
    assertEquals(r.status, 401, `${path} must need credentials, got ${r.status}: ${r.body}`);
  }

  // With credentials the guarded proxy answers, and the backend gets the path as sent.
  const withCreds = await get("//x/../admin", "-u", "boss:s3cret");
  assertEquals(withCreds.status, 200);
  assertMatch(withCreds.body, /^GET \/\/x\/\.\.\/admin HTTP\/1\.1\r\n/);
  assertMatch(withCreds.body, /x-tag: admin/i);

  // An encoded slash that backends split two ways, across two locations: refused.
  assertEquals((await get("/x%2F..%2Fadmin")).status, 400);
  assertEquals((await get("/x\\..\\admin")).status, 400);
  // One that reaches the same proxy either way passes as sent.
  const encoded = await get("/files/a%2Fb");
  assertEquals(encoded.status, 200);
  assertMatch(encoded.body, /^GET \/files\/a%2Fb HTTP\/1\.1\r\n/);
});

Deno.test("http paths: Host header rules and proxy-form requests", async () => {
  await using be = echoHeadBackend();
  await using vh = await setup(be);
  const { vhostPort } = vh;

  const noHost = await raw(vhostPort, "GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
  assertMatch(noHost, /^HTTP\/1\.1 400 /);
  const twoHosts = await raw(
    vhostPort,
    "GET / HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\nConnection: close\r\n\r\n",
  );
  assertMatch(twoHosts, /^HTTP\/1\.1 400 /);
  assertMatch(twoHosts, /more than one Host/);

  // Proxy form: the URL's authority routes, and the backend sees it as Host.
  const proxyForm = await raw(
    vhostPort,
    "GET http://a.example/x HTTP/1.1\r\nHost: b.example\r\nConnection: close\r\n\r\n",
  );
  assertMatch(proxyForm, /^HTTP\/1\.1 200 /);
  assertMatch(proxyForm, /x-tag: a\r\n/i);
  assertMatch(proxyForm, /\r\nHost: a\.example\r\n/);
  assert(!proxyForm.includes("b.example\r\n"), proxyForm);
  // The same with curl as an HTTP proxy.
  const viaCurl = await curl("-x", `http://127.0.0.1:${vhostPort}`, "http://b.example/y");
  assertEquals(viaCurl.status, 200);
  assertMatch(viaCurl.body, /\r\nHost: b\.example\r\n/);
  assertMatch(viaCurl.body, /x-tag: b\r\n/i);
});

Deno.test("http paths: chunked framing and Transfer-Encoding follow RFC 9112", async () => {
  await using be = echoHeadBackend();
  await using vh = await setup(be);
  const { vhostPort } = vh;
  const post = (te: string, body: string) =>
    raw(
      vhostPort,
      `POST /up HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding: ${te}\r\n` +
        `Connection: close\r\n\r\n${body}`,
    );

  // Well-formed chunked passes.
  assertMatch(await post("chunked", "3\r\nabc\r\n0\r\n\r\n"), /^HTTP\/1\.1 200 /);
  // Bare LF anywhere in the framing is refused, not forwarded.
  for (
    const body of [
      "3\nabc\r\n0\r\n\r\n",
      "3\r\nabc\n0\r\n\r\n",
      "3\r\nabc\r\n0\n\r\n",
      "3\r\nabc\r\n0\r\n\n",
      "3;ext=1\nabc\r\n0\r\n\r\n",
      "3\r\nabc\r\n0\r\nX-Trailer: 1\n\r\n",
    ]
  ) {
    const r = await post("chunked", body);
    assertMatch(r, /^HTTP\/1\.1 400 /, JSON.stringify(body));
    assertMatch(r, /bare LF/);
  }
  // Unknown codings before chunked: 501; chunked not last or twice: 400.
  const identity = await post("identity, chunked", "3\r\nabc\r\n0\r\n\r\n");
  assertMatch(identity, /^HTTP\/1\.1 501 /);
  assertMatch(await post("foo, chunked", "0\r\n\r\n"), /^HTTP\/1\.1 501 /);
  assertMatch(await post("chunked, identity", "0\r\n\r\n"), /^HTTP\/1\.1 400 /);
  assertMatch(await post("chunked, chunked", "0\r\n\r\n"), /^HTTP\/1\.1 400 /);
  // A registered coding in front of chunked still passes through.
  assertMatch(await post("gzip, chunked", "3\r\nabc\r\n0\r\n\r\n"), /^HTTP\/1\.1 200 /);
});
