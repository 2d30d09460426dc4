import { type Browser, chromium, type Page } from "playwright-core";
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { ADMIN_PASSWORD, ADMIN_USER, answer, startAdminClient, tcpProxy } from "./_client_admin.ts";
import { echoServer, eventually, freePort, roundTrip, startServer } from "./_harness.ts";
import { CHROMIUM, hasChromium } from "./_browser.ts";

function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
}

async function openUI(browser: Browser, port: number): Promise<Page> {
  const context = await browser.newContext({
    httpCredentials: { username: ADMIN_USER, password: ADMIN_PASSWORD },
    viewport: { width: 1280, height: 900 },
  });
  const page = await context.newPage();
  page.on("dialog", (d) => d.accept()); // "remove from the store?"
  await page.goto(`http://127.0.0.1:${port}/`);
  return page;
}

async function screenshot(page: Page, name: string): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "dfrp-client-ui-" });
  await page.screenshot({ path: `${dir}/${name}.png`, fullPage: true });
  console.log(`screenshot: ${dir}/${name}.png`);
}

Deno.test({
  name: "client UI: proxies with status and remote address; config checked inline, saved, reloaded",
  ignore: !hasChromium,
  async fn() {
    using echo = echoServer();
    const [okPort, newPort] = [freePort(), freePort()];
    // One port the server allows, one it refuses: a running and a failed proxy.
    await using server = await startServer(
      `allowPorts = [{ single = ${okPort} }, { single = ${newPort} }]`,
    );
    await using client = await startAdminClient(
      server.port,
      tcpProxy("good", echo.port, okPort) + tcpProxy("refused", echo.port, 1),
    );
    await client.waitFor(/\[good\] start proxy success/);
    await client.waitFor(/\[refused\] start error/);
    const browser = await launch();
    try {
      const page = await openUI(browser, client.adminPort);
      const good = page.locator(`tr[data-proxy="good"]`);
      await good.locator(`td[data-status="running"]`).waitFor();
      assertEquals(await good.locator("td[data-remote]").innerText(), `127.0.0.1:${okPort}`);
      const refused = page.locator(`tr[data-proxy="refused"]`);
      await refused.locator(`td[data-status="start error"]`).waitFor();
      assertMatch(await refused.innerText(), /port/i, "the server's reason is shown");

      // The editor holds the file; an invalid edit is flagged on its line and cannot be saved.
      const original = await Deno.readTextFile(client.configPath);
      const editor = page.locator("#config-text");
      await eventually(async () => assertEquals(await editor.inputValue(), original));
      const bad = original.replace(`localPort = ${echo.port}`, `localPort = "not a port"`);
      const badLine = bad.split("\n").findIndex((l) => l.includes("not a port")) + 1;
      await editor.fill(bad);
      const error = page.locator(`#config-problems li.error[data-line="${badLine}"]`);
      await error.waitFor();
      assertMatch(await error.innerText(), /localPort/);
      assertEquals(await page.locator("#gutter span.bad").innerText(), String(badLine));
      assert(await page.locator("#config-save").isDisabled(), "save is disabled while invalid");
      await screenshot(page, "client-ui-invalid");
      assertEquals(await Deno.readTextFile(client.configPath), original, "nothing was saved");

      // A valid edit adds a proxy: saved to the file, reloaded, listed as running.
      await editor.fill(original + tcpProxy("added", echo.port, newPort));
      await page.locator("#config-problems li.error").waitFor({ state: "detached" });
      await page.locator("#config-save:not([disabled])").click();
      await page.locator("#config-msg", { hasText: "added: added" }).waitFor();
      assertMatch(await Deno.readTextFile(client.configPath), /name = "added"/);
      await page.locator(`tr[data-proxy="added"] td[data-status="running"]`).waitFor();
      assertEquals(
        await roundTrip(newPort, new TextEncoder().encode("hi")),
        new TextEncoder().encode("hi"),
      );
      await screenshot(page, "client-ui");
    } finally {
      await browser.close();
    }
  },
});

Deno.test({
  name: "client UI: a store proxy is added, edited and removed through the page",
  ignore: !hasChromium,
  async fn() {
    using echo = echoServer();
    const [p1, p2] = [freePort(), freePort()];
    await using server = await startServer("");
    const storePath = `${await Deno.makeTempDir({ prefix: "dfrp-ui-store-" })}/store.json`;
    await using client = await startAdminClient(server.port, "", `store.path = "${storePath}"`);
    const browser = await launch();
    try {
      const page = await openUI(browser, client.adminPort);
      await page.locator("#store-list", { hasText: "The store is empty" }).waitFor();

      // A body the schema refuses shows the server's reason and adds nothing.
      await page.fill(`#store-form [name="name"]`, "web");
      await page.selectOption(`#store-form [name="type"]`, "tcp");
      await page.fill(`#store-form [name="keys"]`, `{ "localPort": "x", "remotePort": ${p1} }`);
      await page.click(`#store-form [name="submit"]`);
      assertMatch(await page.locator("#store-problems li.error").innerText(), /localPort/);
      assertEquals(await page.locator(`tr[data-store="web"]`).count(), 0);

      await page.fill(
        `#store-form [name="keys"]`,
        `{ "localPort": ${echo.port}, "remotePort": ${p1} }`,
      );
      await page.click(`#store-form [name="submit"]`);
      await page.locator(`tr[data-store="web"]`).waitFor();
      await page.locator(`tr[data-proxy="web"] td[data-status="running"]`).waitFor();
      assertMatch(await page.locator(`tr[data-proxy="web"]`).innerText(), /store/);
      const ping = new TextEncoder().encode("ping");
      assertEquals(await roundTrip(p1, ping), ping);
      await screenshot(page, "client-ui-store");

      // Edit: move it to another remote port.
      await page.locator(`tr[data-store="web"] button`, { hasText: "edit" }).click();
      assert(await page.locator(`#store-form [name="name"]`).getAttribute("readonly") !== null);
      await page.fill(
        `#store-form [name="keys"]`,
        `{ "localPort": ${echo.port}, "remotePort": ${p2} }`,
      );
      await page.click(`#store-form [name="submit"]`);
      await page.locator(`tr[data-proxy="web"] td[data-remote]`, { hasText: `:${p2}` }).waitFor();
      assertEquals(await roundTrip(p2, ping), ping);
      const stored = JSON.parse(await Deno.readTextFile(storePath));
      assertEquals(stored.proxies[0].remotePort, p2);

      // Remove: gone from the store file, the page, and the server.
      await page.locator(`tr[data-store="web"] button`, { hasText: "remove" }).click();
      await page.locator(`tr[data-store="web"]`).waitFor({ state: "detached" });
      await page.locator(`tr[data-proxy="web"]`).waitFor({ state: "detached" });
      assertEquals(JSON.parse(await Deno.readTextFile(storePath)).proxies, []);
      await eventually(async () => {
        const refused = await Deno.connect({ hostname: "127.0.0.1", port: p2 }).then(
          (c) => (c.close(), false),
          () => true,
        );
        assert(refused, "the server stopped listening");
      });
    } finally {
      await browser.close();
    }
  },
});

Deno.test("client UI: the page needs auth; /api/config/validate checks without saving", async () => {
  await using server = await startServer("");
  const storePath = `${await Deno.makeTempDir({ prefix: "dfrp-ui-validate-" })}/store.json`;
  await using client = await startAdminClient(
    server.port,
    tcpProxy("file", 1, 0),
    `store.path = "${storePath}"`,
  );
  const page = await answer(client.api("/", { auth: false }));
  assertEquals(page.status, 401);
  const ok = await answer(client.api("/"));
  assertEquals(ok.status, 200);
  assertMatch(ok.text, /<title>dfrpc admin<\/title>/);
  const redirect = await client.api("/static/", { redirect: "manual" });
  await redirect.body?.cancel();
  assertEquals([redirect.status, redirect.headers.get("location")], [302, "/"]);

  const original = await Deno.readTextFile(client.configPath);
  const validate = (body: string, headers: Record<string, string> = {}) =>
    answer(client.api("/api/config/validate", { method: "POST", body, headers }));
  const bad = await validate(original.replace("localPort = 1", `localPort = "x"`));
  assertEquals(bad.status, 400);
  assertMatch(bad.text, /frpc\.toml:\d+: proxies\[0\]\.localPort: expected integer/);
  const good = await validate(original + tcpProxy("more", 2, 0));
  assertEquals(good.status, 200, good.text);
  assertEquals(JSON.parse(good.text).warnings, []);
  assertEquals(await Deno.readTextFile(client.configPath), original, "validate never writes");

  // A name the store already holds would make the reload fail: said before saving.
  const store = await answer(client.api("/api/store/proxies", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: "s1", type: "tcp", tcp: { localPort: 3 } }),
  }));
  assertEquals(store.status, 200, store.text);
  const clash = await validate(original + tcpProxy("s1", 2, 0));
  assertEquals(clash.status, 400);
  assertMatch(clash.text, /\[s1\] is also in the store/);
  // A form on another page cannot send it: a text/plain POST needs X-Requested-With.
  const forged = await answer(fetch(`http://127.0.0.1:${client.adminPort}/api/config/validate`, {
    method: "POST",
    body: original,
    headers: { authorization: `Basic ${btoa(`${ADMIN_USER}:${ADMIN_PASSWORD}`)}` },
  }));
  assertEquals(forged.status, 403);
});
