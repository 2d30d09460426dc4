/** The unix_domain_socket plugin, driven by socat. */

import { assertEquals, assertMatch } from "./_assert.ts";
import { tunnel } from "./_plugins.ts";

const dec = new TextDecoder();

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
    const socat = async (port: number) => {
      const child = new Deno.Command("socat", {
        args: ["-t", "5", "-", `TCP:127.0.0.1:${port},bind=127.0.0.2`],
        stdin: "piped",
        stdout: "piped",
      }).spawn();
      const w = child.stdin.getWriter();
      await w.write(new TextEncoder().encode("hello unix socket\n"));
      await w.close();
      return dec.decode((await child.output()).stdout);
    };
    await using t = await tunnel(`type = "unix_domain_socket"\nunixPath = "${path}"`);
    assertEquals(await socat(t.remotePort), "hello unix socket\n");
    // With the PROXY protocol the socket learns the user's address first.
    await using p = await tunnel(
      `type = "unix_domain_socket"\nunixPath = "${path}"`,
      `transport.proxyProtocolVersion = "v1"`,
    );
    assertMatch(
      await socat(p.remotePort),
      /^PROXY TCP4 127\.0\.0\.2 \S+ \d+ \d+\r\nhello unix socket\n$/,
    );
  } finally {
    listener.close();
    await serving;
    await Deno.remove(dir, { recursive: true });
  }
});
