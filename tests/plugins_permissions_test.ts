/** Client plugins under dfrpc's least-privilege Deno flags. */

import { clientConf, proxyTable } from "./_config.ts";
import { curlHead } from "./_curl.ts";
import { assertEquals, assertMatch } from "./_assert.ts";
import { makeCerts } from "./_certs.ts";
import { CLIENT_FLAGS } from "../scripts/permissions.ts";
import { DfrpProcess, freePort, startServer, tempFile } from "./_harness.ts";
import { backend } from "./_plugins.ts";

Deno.test("plugins run under dfrpc's least-privilege flags (TLS both ways, files)", async () => {
  const certs = await makeCerts();
  await using web = backend();
  await using tlsWeb = backend({ cert: certs.serverCert, key: certs.serverKey });
  await using server = await startServer(`auth.token = "t"`);
  const ports = [freePort(), freePort(), freePort()];
  /** A tcp proxy on `ports[i]` served by a plugin. */
  const pluginProxy = (name: string, i: number, plugin: string) =>
    proxyTable("tcp", name, null, `remotePort = ${ports[i]}\n${plugin}`);
  const fromTls = `plugin.type = "https2http"
plugin.localAddr = "127.0.0.1:${web.port}"
plugin.crtPath = "${certs.serverCert}"
plugin.keyPath = "${certs.serverKey}"`;
  const proxies = pluginProxy(
    "to-tls",
    0,
    `plugin.type = "http2https"\nplugin.localAddr = "127.0.0.1:${tlsWeb.port}"`,
  ) + pluginProxy("from-tls", 1, fromTls) +
    pluginProxy("files", 2, `plugin.type = "static_file"\nplugin.localPath = "${certs.dir}"`);
  const config = await tempFile(
    clientConf({ serverPort: server.port, token: "t", extra: proxies }),
    "frpc.toml",
  );
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...CLIENT_FLAGS,
      "--quiet",
      new URL("../client.ts", import.meta.url).pathname,
      "-c",
      config,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  await using client = new DfrpProcess(child, "client.ts");
  await client.waitFor(/\[files\] start proxy success/);
  assertEquals(JSON.parse((await curlHead(`http://127.0.0.1:${ports[0]}/a`)).body).path, "/a");
  assertEquals(
    JSON.parse((await curlHead("-k", `https://127.0.0.1:${ports[1]}/b`)).body).path,
    "/b",
  );
  const pem = await curlHead(`http://127.0.0.1:${ports[2]}/ca.crt`);
  assertEquals(pem.status, 200);
  assertMatch(pem.body, /BEGIN CERTIFICATE/);
});
