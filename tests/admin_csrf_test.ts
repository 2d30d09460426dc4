/**
 * Web pages against the admin APIs (lib/admin/request_guard.ts): forged
 * `Host` (DNS rebinding), foreign `Origin`, form posts and simple GETs that
 * change state, sent by curl and by a real headless Chromium.
 */

import { serverConf } from "./_config.ts";
import { curl } from "./_curl.ts";
import { chromium } from "playwright-core";
import { assert, assertEquals, assertMatch, assertNotMatch } from "./_assert.ts";
import { freePort, startClient, startServer } from "./_harness.ts";
import { CHROMIUM, hasChromium } from "./_browser.ts";

const TOKEN = "csrf-test-token-1234567890";

async function serverAndClient(webServer: string) {
  const server = await startServer(`auth.token = "${TOKEN}"\n`);
  const adminPort = freePort();
  const client = await startClient(`
serverAddr = "127.0.0.1"
serverPort = ${server.port}
auth.token = "${TOKEN}"
webServer.port = ${adminPort}
${webServer}
`);
  await client.waitFor(/admin server listen on/);
  return { server, client, adminPort, base: `http://127.0.0.1:${adminPort}` };
}

Deno.test("admin csrf: the client's API refuses forged Host, foreign Origin and simple state changes", async () => {
  const { server, client, adminPort, base } = await serverAndClient(
    `webServer.allowedHosts = ["admin.example.test"]`,
  );
  await using _s = server;
  await using _c = client;

  // DNS rebinding: the page's own name arrives as Host.
  const rebound = await curl("-H", "Host: evil.attacker.example", `${base}/api/config`);
  assertEquals(rebound.status, 421);
  assertNotMatch(rebound.body, new RegExp(TOKEN));
  const rebound2 = await curl(
    "-H",
    `Host: evil.attacker.example:${adminPort}`,
    `${base}/api/status`,
  );
  assertEquals(rebound2.status, 421);
  // Loopback names, the address itself and allowed names still work.
  for (const host of [`localhost:${adminPort}`, `127.0.0.1:${adminPort}`, "admin.example.test"]) {
    const ok = await curl("-H", `Host: ${host}`, `${base}/api/config`);
    assertEquals(ok.status, 200, host);
    assertMatch(ok.body, new RegExp(TOKEN));
  }

  // A cross-site form post to /api/stop (no custom header possible).
  const form = await curl(
    "-X",
    "POST",
    "-H",
    "Origin: http://evil.attacker.example",
    "-H",
    "Content-Type: application/x-www-form-urlencoded",
    "-d",
    "x=1",
    `${base}/api/stop`,
  );
  assertEquals(form.status, 403);
  assertMatch(form.body, /cross-origin/);
  // Even with a matching Origin a form-encoded post is not enough...
  const simple = await curl(
    "-X",
    "POST",
    "-H",
    "Content-Type: text/plain",
    `${base}/api/stop`,
  );
  assertEquals(simple.status, 403);
  assertMatch(simple.body, /X-Requested-With/);
  // ... and a custom header does not help a cross-site request.
  const crossSite = await curl(
    "-X",
    "POST",
    "-H",
    "X-Requested-With: x",
    "-H",
    "Sec-Fetch-Site: cross-site",
    `${base}/api/stop`,
  );
  assertEquals(crossSite.status, 403);
  const nullOrigin = await curl(
    "-X",
    "POST",
    "-H",
    "Origin: null",
    "-H",
    "Content-Type: application/json",
    `${base}/api/stop`,
  );
  assertEquals(nullOrigin.status, 403);

  // GET /api/reload changes state: an <img> cannot send the header.
  assertEquals((await curl(`${base}/api/reload`)).status, 403);
  assertEquals((await curl("-I", `${base}/api/reload`)).status, 403); // HEAD runs GET's handler
  assertEquals((await curl(`${base}/api/%72eload`)).status, 403);
  assertNotMatch(client.output, /reloaded/);
  assertEquals((await curl("-H", "X-Requested-With: curl", `${base}/api/reload`)).status, 200);
  // PUT from another origin.
  const put = await curl(
    "-X",
    "PUT",
    "-H",
    "Origin: http://evil.attacker.example",
    "--data-binary",
    "serverPort = 1\n",
    `${base}/api/config`,
  );
  assertEquals(put.status, 403);

  // The client survived all of it, and a same-origin request with the header works.
  assertEquals((await curl(`${base}/api/status`)).status, 200);
  const stop = await curl(
    "-X",
    "POST",
    "-H",
    `Origin: http://127.0.0.1:${adminPort}`,
    "-H",
    "X-Requested-With: curl",
    `${base}/api/stop`,
  );
  assertEquals(stop.status, 200);
  assertEquals((await client.exited).code, 0);
});

Deno.test("admin csrf: client.ts reload and stop still work", async () => {
  const { server, client, adminPort } = await serverAndClient(
    `webServer.user = "admin"\nwebServer.password = "pw"`,
  );
  await using _s = server;
  await using _c = client;
  const config = await Deno.makeTempFile({ suffix: ".toml" });
  await Deno.writeTextFile(
    config,
    `webServer.port = ${adminPort}\nwebServer.user = "admin"\nwebServer.password = "pw"\n`,
  );
  for (const cmd of ["reload", "stop"]) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", "client.ts", cmd, "-c", config],
      cwd: new URL("..", import.meta.url).pathname,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
    assertMatch(new TextDecoder().decode(out.stdout), new RegExp(`${cmd} success`));
  }
  assertEquals((await client.exited).code, 0);
});

Deno.test("admin csrf: the server's API refuses forged Host and cross-site DELETE", async () => {
  const webPort = freePort();
  await using server = await startServer(serverConf({ token: TOKEN, webPort }));
  await server.waitFor(/dashboard listen on/);
  const base = `http://127.0.0.1:${webPort}`;
  const rebound = await curl("-H", "Host: evil.attacker.example", `${base}/api/serverinfo`);
  assertEquals(rebound.status, 421);
  assertEquals((await curl(`${base}/api/serverinfo`)).status, 200);
  const del = await curl(
    "-X",
    "DELETE",
    "-H",
    "Origin: http://evil.attacker.example",
    `${base}/api/proxies?status=offline`,
  );
  assertEquals(del.status, 403);
  assertMatch(del.body, /cross-origin/);
  const same = await curl("-X", "DELETE", `${base}/api/proxies?status=offline`);
  assertEquals(same.status, 200);
});

Deno.test({
  name: "admin csrf: a page on another site cannot stop, reload or read the client (real Chromium)",
  ignore: !hasChromium,
  async fn() {
    const open = await serverAndClient("");
    await using _s = open.server;
    await using _c = open.client;
    const authed = await serverAndClient(`webServer.user = "admin"\nwebServer.password = "pw"`);
    await using _s2 = authed.server;
    await using _c2 = authed.client;

    // The attacker's page: a form post to /api/stop of each client (one with
    // basic auth the browser knows), a no-cors fetch, an <img> on /api/reload.
    const attack = (base: string, n: number) => `
<iframe name="f${n}" id="f${n}"></iframe>
<form id="stop${n}" method="POST" action="${base}/api/stop" target="f${n}" enctype="text/plain">
  <input name="a" value="b">
</form>
<script>
  jobs.push(new Promise((r) => { document.getElementById("f${n}").onload = r;
    document.getElementById("stop${n}").submit(); }));
  jobs.push(fetch("${base}/api/stop", { method: "POST", mode: "no-cors", credentials: "include",
    body: "x" }).catch(() => {}));
  jobs.push(new Promise((r) => { const i = new Image(); i.onload = i.onerror = r;
    i.src = "${base}/api/reload"; }));
</script>`;
    const page = `<!doctype html><html><body><script>const jobs = [];</script>
${attack(open.base, 1)}
${attack(authed.base, 2)}
<script>Promise.all(jobs).then(() => { document.title = "done"; });</script>
</body></html>`;
    const evil = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      () => new Response(page, { headers: { "content-type": "text/html" } }),
    );
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        // The attacker's names resolve to loopback, as a rebinding DNS answer would.
        "--host-resolver-rules=MAP *.attacker.example 127.0.0.1",
      ],
    });
    try {
      const context = await browser.newContext({
        httpCredentials: { username: "admin", password: "pw" },
      });
      const tab = await context.newPage();
      await tab.goto(`http://evil.attacker.example:${evil.addr.port}/`);
      await tab.waitForFunction('document.title === "done"', undefined, { timeout: 20_000 });

      // Both clients are still there and never reloaded.
      for (const { base, client } of [open, authed]) {
        const res = await fetch(`${base}/api/status`, {
          headers: { authorization: `Basic ${btoa("admin:pw")}` },
        });
        assertEquals(res.status, 200, `${base} is gone: the page stopped it`);
        await res.body?.cancel();
        assertNotMatch(client.output, /reloaded|shutting down/);
      }
      // DNS rebinding: the attacker's name now points at the admin API.
      const read = await tab.goto(`http://evil.attacker.example:${open.adminPort}/api/config`);
      assertEquals(read?.status(), 421);
      assertNotMatch(await read!.text(), new RegExp(TOKEN));

      const refused = open.client.output.match(/403/g) ?? [];
      assert(refused.length >= 3, `refusals logged: ${open.client.output}`);
    } finally {
      await browser.close();
      await evil.shutdown();
    }
  },
});
