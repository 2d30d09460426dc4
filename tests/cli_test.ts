import { assertEquals, assertMatch } from "./_assert.ts";
import { startEchoProxy } from "./_echo_proxy.ts";
import { assertEchoesText, freePort, spawnDfrp, tempFile } from "./_harness.ts";

const SHARED = new URL("../../shared/frp-conf/", import.meta.url).pathname;
const haveShared = (() => {
  try {
    return Deno.statSync(SHARED).isDirectory;
  } catch {
    return false;
  }
})();

async function runToEnd(entry: "server.ts" | "client.ts", args: string[]) {
  const proc = spawnDfrp(entry, args);
  const status = await proc.exited;
  return { code: status.code, output: proc.output };
}

Deno.test("cli: --version and --help", async () => {
  for (const entry of ["server.ts", "client.ts"] as const) {
    const version = await runToEnd(entry, ["--version"]);
    assertEquals(version.code, 0);
    assertMatch(version.output, /^\d+\.\d+\.\d+\s*$/);
    const help = await runToEnd(entry, ["--help"]);
    assertEquals(help.code, 0);
    assertMatch(help.output, /verify -c FILE/);
  }
});

Deno.test("cli: verify accepts frp's own example configs", { ignore: !haveShared }, async () => {
  for (const [entry, file] of [["server.ts", "frps.toml"], ["client.ts", "frpc.toml"]] as const) {
    const { code, output } = await runToEnd(entry, ["verify", "-c", `${SHARED}${file}`]);
    assertEquals(code, 0, output);
    assertMatch(output, /syntax is ok/);
  }
  for (
    const [entry, file] of [["server.ts", "frps_full_example.toml"], [
      "client.ts",
      "frpc_full_example.toml",
    ]] as const
  ) {
    const { code, output } = await runToEnd(entry, ["verify", "-c", `${SHARED}${file}`]);
    assertEquals(code, 0, output);
    assertMatch(output, /syntax is ok/);
    // What dfrp cannot do is named, not hidden, with what to use instead.
    assertMatch(output, /webServer\.pprofEnable: Go's pprof profiler does not exist .*--inspect/);
  }
});

Deno.test("cli: verify reports every error with file, line and key, and exits 1", async () => {
  const path = await tempFile(
    `serverAddr = "127.0.0.1"
serverPort = 70000

[[proxies]]
name = "ssh"
type = "tcp"
remotPort = 6000

[[proxies]]
name = "ssh"
type = "tcp"
`,
    "frpc.toml",
  );
  const { code, output } = await runToEnd("client.ts", ["verify", "-c", path]);
  assertEquals(code, 1);
  assertMatch(output, /frpc\.toml:2: serverPort: .*65535/);
  assertMatch(
    output,
    /frpc\.toml:7: proxies\[0\]\.remotPort: unknown key \(did you mean remotePort\?\)/,
  );
  assertMatch(output, /duplicate/i);
  const missing = await runToEnd("server.ts", ["verify", "-c", "/nonexistent/frps.toml"]);
  assertEquals(missing.code, 1);
  assertMatch(missing.output, /cannot read file/);
});

Deno.test("cli: a bad config stops start-up with exit 1 and the error", async () => {
  const path = await tempFile(`bindPort = "seven thousand"\n`, "frps.toml");
  const { code, output } = await runToEnd("server.ts", ["-c", path]);
  assertEquals(code, 1);
  assertMatch(output, /frps\.toml:1: bindPort/);
});

Deno.test("cli: server on built-in defaults with -p and -t; SIGTERM exits 0", async () => {
  const port = freePort();
  const server = spawnDfrp("server.ts", ["-p", String(port), "-t", "flag-token"]);
  try {
    await server.waitFor(new RegExp(`listen on 0\\.0\\.0\\.0:${port}`));
    await using proxy = await startEchoProxy(port, "flag-token");
    await assertEchoesText(proxy.remotePort, "hi");
  } finally {
    const status = await server.stop("SIGTERM");
    assertEquals(status.code, 0);
  }
});
