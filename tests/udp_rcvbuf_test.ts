/**
 * A udp proxy's socket gets the kernel's default receive buffer (Deno cannot
 * set one per socket), so the server tells the operator once when that
 * default is small enough to drop datagrams at moderate rates.
 */

import { assert } from "./_assert.ts";
import { clientConf } from "./_config.ts";
import { startClient, startServer } from "./_harness.ts";
import { freeUdpPort } from "./_udp.ts";
import { kernelUdpRcvbufDefault } from "../lib/net/udp_rcvbuf.ts";

Deno.test("udp proxy: the server hints at net.core.rmem_default once when it is below 1 MiB", async () => {
  await using server = await startServer("");
  await using client = await startClient(
    clientConf({
      serverPort: server.port,
      extra: ["a", "b"].map((name) => `
[[proxies]]
name = "${name}"
type = "udp"
localPort = ${freeUdpPort()}
remotePort = 0
`).join(""),
    }),
  );
  await client.waitFor(/\[a\] start proxy success/);
  await client.waitFor(/\[b\] start proxy success/);
  const hints = server.output.match(/net\.core\.rmem_default=4194304/g)?.length ?? 0;
  const size = kernelUdpRcvbufDefault();
  if (size !== null && size < 1024 * 1024) {
    assert(hints === 1, `expected one hint for rmem_default ${size}, got ${hints}`);
  } else {
    assert(hints === 0, `no hint expected for rmem_default ${size}, got ${hints}`);
  }
});
