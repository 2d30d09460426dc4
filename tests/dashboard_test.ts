import { serverConf } from "./_config.ts";
import { chromium } from "playwright-core";
import { assert, assertMatch } from "./_assert.ts";
import { echoServer, freePort, startClient, startServer } from "./_harness.ts";
import { CHROMIUM, hasChromium } from "./_browser.ts";

/** Keeps one connection through the proxy busy: 16 KiB every 100 ms, echoes drained. */
function trafficPump(port: number): { stop(): Promise<void> } {
  let running = true;
  const done = (async () => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const chunk = new Uint8Array(16 * 1024).fill(120);
    const draining = (async () => {
      const buf = new Uint8Array(64 * 1024);
      try {
        while ((await conn.read(buf)) !== null) { /* drain */ }
      } catch { /* closed */ }
    })();
    try {
      while (running) {
        let off = 0;
        while (off < chunk.length) off += await conn.write(chunk.subarray(off));
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      conn.close();
      await draining;
    }
  })().catch(() => {
    // Disconnecting the client cuts this connection; that is expected.
  });
  return {
    async stop() {
      running = false;
      await done;
    },
  };
}

Deno.test({
  name:
    "dashboard: a real browser shows the client, its proxy and growing traffic; disconnect works",
  ignore: !hasChromium,
  async fn() {
    using echo = echoServer();
    const webPort = freePort();
    await using server = await startServer(
      serverConf({ webPort, webUser: "admin", webPassword: "s3cret" }),
    );
    await server.waitFor(/dashboard listen on/);
    const remotePort = freePort();
    await using client = await startClient(`
serverAddr = "127.0.0.1"
serverPort = ${server.port}
auth.token = "t"
user = "alice"

[[proxies]]
name = "web-echo"
type = "tcp"
localPort = ${echo.port}
remotePort = ${remotePort}
`);
    await client.waitFor(/\[web-echo\] start proxy success/);
    const runId = (await client.waitFor(/get run id \[([0-9a-f]{16})\]/))[1];
    const pump = trafficPump(remotePort);
    const dir = await Deno.makeTempDir({ prefix: "dfrp-dashboard-" });
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
      ],
    });
    try {
      const context = await browser.newContext({
        httpCredentials: { username: "admin", password: "s3cret" },
        viewport: { width: 1280, height: 720 },
      });
      const page = await context.newPage();
      await page.goto(`http://127.0.0.1:${webPort}/`);

      const clientRow = page.locator(`tr[data-client="${runId}"]`);
      await clientRow.waitFor();
      const clientText = await clientRow.innerText();
      assertMatch(clientText, /online/);
      assertMatch(clientText, /alice/);
      assertMatch(clientText, /web-echo/);

      // The server names a user's proxy `user.name`, as frp does, and shows the user.
      const proxyRow = page.locator(`section[data-type="tcp"] tr[data-proxy="alice.web-echo"]`);
      await proxyRow.waitFor();
      assertMatch(await proxyRow.innerText(), /online/);
      assertMatch(await proxyRow.locator("td[data-user]").innerText(), /^alice$/);
      assertMatch(await proxyRow.innerText(), new RegExp(`:${remotePort}`));

      // The page polls every second: the "in today" figure must rise while the pump runs.
      const toBytes = async () => {
        const text = await proxyRow.locator("td[data-traffic-in]").innerText();
        const m = text.match(/^([\d.]+) (B|KiB|MiB|GiB)$/);
        assert(m, `traffic cell reads "${text}"`);
        return Number(m[1]) * 1024 ** ["B", "KiB", "MiB", "GiB"].indexOf(m[2]);
      };
      const first = await toBytes();
      await page.waitForFunction(
        ([name, before]) => {
          // Runs in the page; the test's own types have no DOM.
          const page = globalThis as unknown as {
            document: { querySelector(s: string): { textContent: string | null } | null };
          };
          const cell = page.document.querySelector(`tr[data-proxy="${name}"] td[data-traffic-in]`);
          const m = cell?.textContent?.match(/^([\d.]+) (B|KiB|MiB|GiB)$/);
          if (!m) return false;
          return Number(m[1]) * 1024 ** ["B", "KiB", "MiB", "GiB"].indexOf(m[2]) > before;
        },
        ["alice.web-echo", first] as const,
        { timeout: 15_000 },
      );
      assert((await toBytes()) > first);
      const shot = `${dir}/dashboard.png`;
      await page.screenshot({ path: shot, fullPage: true });
      console.log(`screenshot: ${shot}`);

      // The row's button kicks the client; the client logs in again.
      await pump.stop();
      await clientRow.locator("button", { hasText: "disconnect" }).click();
      await server.waitFor(/disconnected: disconnected by the admin API/);
      await client.waitFor(/login to server success[\s\S]*login to server success/);
    } finally {
      await browser.close();
      await pump.stop();
    }
  },
});
