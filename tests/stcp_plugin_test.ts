/**
 * A plugin on a secret proxy (stcp with `static_file`, as frp allows, and as
 * frp's VirtualNet uses it). Before, a proxy with a plugin skipped its type's
 * visitor check, so the owner never answered the verdict the server waits
 * for and every visitor timed out: the plugin was unreachable. Now the check
 * runs first and the plugin serves admitted visitors. A visitor with a wrong
 * key that sends its request without waiting for the verdict still gets
 * nothing from the plugin.
 */
import { clientConf, visitorTable } from "./_config.ts";
import { startTunnel } from "./_tunnel.ts";
import { visitorStream } from "./_visitor_wire.ts";
import { assert, assertEquals } from "./_assert.ts";
import { freePort, startClient } from "./_harness.ts";
import { loggedInMux } from "./_wire.ts";
import type { Duplex } from "../lib/net/duplex.ts";

const SECRET = "the owner's private notes";

/** Everything `conn` sends until it ends. */
async function readToEnd(conn: Duplex): Promise<string> {
  const decoder = new TextDecoder();
  const buf = new Uint8Array(16 * 1024);
  let text = "";
  for (let n; (n = await conn.read(buf)) !== null;) text += decoder.decode(buf.subarray(0, n));
  return text;
}

Deno.test("stcp with a plugin: the right key reaches the plugin, a wrong one never does", async () => {
  const root = await Deno.makeTempDir({ prefix: "dfrp-stcp-plugin-" });
  await Deno.writeTextFile(`${root}/notes.txt`, SECRET);
  await using tunnel = await startTunnel({
    server: `auth.token = "t"`,
    token: "t",
    proxies: `
[[proxies]]
name = "files"
type = "stcp"
secretKey = "right-key"
[proxies.plugin]
type = "static_file"
localPath = "${root}"
`,
    started: ["files"],
  });
  const { server, client: owner } = tunnel;

  // The attacker: a logged-in client speaking the wire by hand.
  {
    await using attacker = await loggedInMux(server.port, "t");
    const stream = await visitorStream(attacker.mux, {
      proxyName: "files",
      proof: "00".repeat(32),
    });
    // No waiting for the verdict: the request follows at once.
    await stream.write(new TextEncoder().encode("GET /notes.txt HTTP/1.0\r\n\r\n"));
    const answer = await readToEnd(stream);
    assert(!answer.includes(SECRET), `the plugin answered an unchecked visitor: ${answer}`);
    await owner.waitFor(/refused: wrong secret key/);
  }

  // A visitor with the right key gets the file through the plugin.
  const bindPort = freePort();
  const filesVisitor = visitorTable({
    type: "stcp",
    name: "files-visitor",
    serverName: "files",
    secretKey: "right-key",
    bindPort,
    extra: `bindAddr = "127.0.0.1"`,
  });
  await using visitor = await startClient(
    clientConf({ serverPort: server.port, token: "t", extra: filesVisitor }),
  );
  await visitor.waitFor(/start stcp visitor success/);
  const res = await fetch(`http://127.0.0.1:${bindPort}/notes.txt`);
  assertEquals(await res.text(), SECRET);
  await Deno.remove(root, { recursive: true });
});
