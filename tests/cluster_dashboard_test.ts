/**
 * A cluster node's own dashboard in a real browser (docs/cluster.md): node
 * 2's page lists both nodes with their health, shows the client and proxy
 * held on node 1 with a Node column, and its disconnect button reaches node 1.
 */

import { assertEquals, assertMatch } from "./_assert.ts";
import { echoServer, freePort, startClient } from "./_harness.ts";
import { startAliceNodes, startRedis, TWO_NODE_HOSTS } from "./_cluster.ts";
import { tcpProxy } from "./_config.ts";
import { hasChromium, launchChromium } from "./_browser.ts";

Deno.test({
  name: "cluster dashboard: node 2's page shows the nodes, node 1's client and proxy, and kicks it",
  ignore: !hasChromium,
  async fn() {
    await using redis = await startRedis();
    const webPort = freePort();
    await using cluster = await startAliceNodes(
      redis,
      "",
      `webServer.addr = "HOST"\nwebServer.port = ${webPort}`,
    );
    using echo = echoServer();
    await using client = await startClient(
      `serverAddr = "${TWO_NODE_HOSTS[0]}"\nserverPort = ${cluster.bindPort}\n` +
        `user = "alice"\nauth.token = "alice-token"\n` + tcpProxy("web", echo.port, freePort()),
    );
    await client.waitFor(/\[web\] start proxy success/);
    const runId = (await client.waitFor(/get run id \[([0-9a-f]{16})\]/))[1];
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(`http://${TWO_NODE_HOSTS[1]}:${webPort}/`);
      for (const name of ["node-1", "node-2"]) {
        const row = page.locator(`tr[data-node="${name}"]`);
        await row.waitFor();
        assertMatch(await row.innerText(), /healthy/);
      }
      const clientRow = page.locator(`tr[data-client="${runId}"]`);
      await clientRow.waitFor();
      assertEquals(await clientRow.locator("td[data-node]").innerText(), "node-1");
      const proxyRow = page.locator(`section[data-type="tcp"] tr[data-proxy="alice.web"]`);
      await proxyRow.waitFor();
      assertEquals(await proxyRow.locator("td[data-node]").innerText(), "node-1");
      assertMatch(await proxyRow.innerText(), /online/);

      const deleted = page.waitForResponse((r) => r.request().method() === "DELETE");
      await clientRow.locator("button", { hasText: "disconnect" }).click();
      const answer = await deleted;
      assertEquals(answer.status(), 200, await answer.text());
      await cluster.nodes[0].waitFor(/disconnected at the cluster admin's request/, 20_000);
      await client.waitFor(/connection to server lost/);
    } finally {
      await browser.close();
    }
  },
});
