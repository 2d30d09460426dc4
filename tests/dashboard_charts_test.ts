import { clientConf, serverConf, tcpProxy } from "./_config.ts";
import { chromium } from "playwright-core";
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import {
  echoServer,
  eventually,
  freePort,
  randomBytes,
  roundTrip,
  startClient,
  startServer,
} from "./_harness.ts";
import { CHROMIUM, hasChromium } from "./_browser.ts";

const GROUP_KEY = "grp-secret-4e1f";
const SECRET_KEY = "stcp-secret-9a7c";
const AUTH = { authorization: `Basic ${btoa("admin:s3cret")}` };

async function startPair() {
  const webPort = freePort();
  const server = await startServer(
    serverConf({ webPort, webUser: "admin", webPassword: "s3cret" }),
  );
  await server.waitFor(/dashboard listen on/);
  return { server, webPort };
}

Deno.test("dashboard API: a proxy's conf never carries its secrets", async () => {
  using echo = echoServer();
  const { server, webPort } = await startPair();
  await using _server = server;
  await using client = await startClient(clientConf({
    serverPort: server.port,
    token: "t",
    extra: `
[[proxies]]
name = "hidden"
type = "stcp"
secretKey = "${SECRET_KEY}"
localPort = ${echo.port}
`,
  }));
  await client.waitFor(/\[hidden\] start proxy success/);
  for (const path of ["/api/proxy/stcp", "/api/proxy/stcp/hidden", "/api/proxies/hidden"]) {
    const text = await (await fetch(`http://127.0.0.1:${webPort}${path}`, { headers: AUTH }))
      .text();
    assert(!text.includes(SECRET_KEY), `${path} shows the secret: ${text}`);
    // The client never sends it (lib/protocol/new_proxy.ts): no field to show at all.
    assert(!text.includes('"secretKey"'), `${path} has a secretKey field: ${text}`);
  }
});

Deno.test("dashboard API: a proxy's recent errors on the server, newest kept", async () => {
  // A NewUserConn plugin that refuses every user connection: the errors the detail view lists.
  const plugin = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => Response.json({ reject: true, reject_reason: "closed for maintenance" }),
  );
  try {
    const webPort = freePort();
    await using server = await startServer(
      serverConf({
        webPort,
        webUser: "admin",
        webPassword: "s3cret",
        extra: `[[httpPlugins]]
name = "gate"
addr = "127.0.0.1:${plugin.addr.port}"
path = "/"
ops = ["NewUserConn"]
`,
      }),
    );
    await server.waitFor(/dashboard listen on/);
    using echo = echoServer();
    const remotePort = freePort();
    await using client = await startClient(
      clientConf({
        serverPort: server.port,
        token: "t",
        extra: tcpProxy("gated", echo.port, remotePort),
      }),
    );
    await client.waitFor(/\[gated\] start proxy success/);
    for (let i = 0; i < 12; i++) await roundTrip(remotePort, new Uint8Array([i]));
    const info = await eventually(async () => {
      const res = await fetch(`http://127.0.0.1:${webPort}/api/proxies/gated`, { headers: AUTH });
      const body = await res.json();
      assertEquals(body.recentErrors.length, 10, "the last ten are kept");
      return body;
    });
    for (const e of info.recentErrors) assertMatch(e.message, /rejected: closed for maintenance/);
  } finally {
    await plugin.shutdown();
  }
});

Deno.test({
  name: "dashboard: 7-day traffic chart, live sparklines and a proxy detail view without secrets",
  ignore: !hasChromium,
  async fn() {
    using echo = echoServer();
    const { server, webPort } = await startPair();
    await using _server = server;
    const remotePort = freePort();
    await using client = await startClient(
      clientConf({
        serverPort: server.port,
        token: "t",
        extra: `user = "alice"

${tcpProxy("web-echo", echo.port, remotePort)}loadBalancer.group = "web"
loadBalancer.groupKey = "${GROUP_KEY}"

[[proxies]]
name = "hidden"
type = "stcp"
secretKey = "${SECRET_KEY}"
localPort = ${echo.port}
`,
      }),
    );
    await client.waitFor(/\[web-echo\] start proxy success/);
    await client.waitFor(/\[hidden\] start proxy success/);
    // The server knows alice's proxies as alice.web-echo and alice.hidden (frp's user prefix).
    const data = randomBytes(200_000);
    assertEquals((await roundTrip(remotePort, data)).length, data.length);

    const dir = await Deno.makeTempDir({ prefix: "dfrp-dashboard-charts-" });
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    });
    try {
      const context = await browser.newContext({
        httpCredentials: { username: "admin", password: "s3cret" },
        viewport: { width: 1280, height: 900 },
      });
      const page = await context.newPage();
      await page.goto(`http://127.0.0.1:${webPort}/`);

      // The detail view opens from the proxy's name.
      await page.locator(`a[data-open="alice.web-echo"]`).click();
      const detail = page.locator(`section[data-detail="alice.web-echo"]`);
      const chart = detail.locator(`svg[data-chart="traffic"]`);
      await chart.waitFor();
      assertEquals(await chart.locator("rect[data-day]").count(), 14, "7 days, in and out");
      for (const dir of ["in", "out"]) {
        const today = chart.locator(`rect[data-day="0"][data-dir="${dir}"]`);
        assert(Number(await today.getAttribute("data-bytes")) >= data.length, `today ${dir}`);
        assert(Number(await today.getAttribute("height")) > 0, `today's ${dir} bar is drawn`);
        const yesterday = chart.locator(`rect[data-day="1"][data-dir="${dir}"]`);
        assertEquals(await yesterday.getAttribute("height"), "0");
      }
      assertMatch(await detail.innerText(), /alice/, "the proxy's client is shown");
      assert(!(await page.content()).includes(GROUP_KEY), "the group key is not on the page");

      // Live sparklines: traffic sent while the page watches shows up as a rate above zero.
      await roundTrip(remotePort, data);
      await eventually(async () => {
        const values = await page.locator(`svg[data-chart="traffic"].spark`).getAttribute(
          "data-values",
        );
        assert(values?.split(",").some((v) => Number(v) > 0), `traffic sparkline: ${values}`);
      }, 15_000);
      const conns = await page.locator(`svg[data-chart="conns"]`).getAttribute("data-values");
      assert((conns ?? "").split(",").length >= 2, `connections sparkline: ${conns}`);
      await page.screenshot({ path: `${dir}/dashboard-detail.png`, fullPage: true });
      console.log(`screenshot: ${dir}/dashboard-detail.png`);

      // The stcp proxy's detail: no secretKey at all (it never left the client).
      await page.locator(`a[data-open="alice.hidden"]`).click();
      const hidden = page.locator(`section[data-detail="alice.hidden"] table[data-conf]`);
      await hidden.waitFor();
      assertEquals(await hidden.locator("tr", { hasText: "secretKey" }).count(), 0);
      assert(!(await page.content()).includes(SECRET_KEY), "the secret key is not on the page");

      await page.locator(`section[data-detail] button`, { hasText: "close" }).click();
      await page.locator(`section[data-detail]`).waitFor({ state: "detached" });
    } finally {
      await browser.close();
    }
  },
});
