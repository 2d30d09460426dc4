/**
 * Distribution: the single-file bundles run from a folder with no deno.json
 * and no npm resolution, under the permission flags alone, and carry tcp and
 * udp proxies; the release script writes bundles and verifiable checksums and
 * either builds binaries or says in one line why it cannot.
 */

import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { assertEchoesText, echoServer, freePort, spawnDeno } from "./_harness.ts";
import { bundleAll } from "../scripts/bundle.ts";
import { binaryName } from "../scripts/compile.ts";
import { CLIENT_FLAGS, SERVER_FLAGS } from "../scripts/permissions.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const enc = new TextEncoder();
const dec = new TextDecoder();

async function output(cmd: string, args: string[], opts: Deno.CommandOptions = {}) {
  const out = await new Deno.Command(cmd, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    ...opts,
    env: { NO_COLOR: "1", ...opts.env },
  }).output();
  return { success: out.success, text: dec.decode(out.stdout) + dec.decode(out.stderr) };
}

/** Runs a bundle with `deno run --no-npm --no-remote <flags>` in `dir`. */
function runBundle(dir: string, file: string, flags: readonly string[], args: string[]) {
  // --no-npm and --no-remote prove every dependency is inside the file.
  return spawnDeno(["run", "--no-npm", "--no-remote", ...flags, file, ...args], {
    cwd: dir,
    name: file,
  });
}

async function udpRoundTrip(port: number, text: string): Promise<string> {
  const sock = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  try {
    const reply = sock.receive();
    let done = false;
    reply.finally(() => done = true).catch(() => {});
    const to: Deno.NetAddr = { transport: "udp", hostname: "127.0.0.1", port };
    // The first datagram may be dropped while the flow's work connection opens.
    for (let i = 0; i < 50 && !done; i++) {
      await sock.send(enc.encode(text), to);
      await Promise.race([reply, new Promise((r) => setTimeout(r, 200))]);
    }
    return dec.decode((await reply)[0]);
  } finally {
    sock.close();
  }
}

Deno.test("bundle: dfrps.js and dfrpc.js carry tcp and udp proxies from a folder without deno.json", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dfrp-bundle-" });
  try {
    const [server, client] = await bundleAll(dir);
    const code = await Deno.readTextFile(server);
    assert(!/from\s*["']npm:/.test(code), "the bundle still imports from npm:");
    assertMatch(code.split("\n")[0], /^#!\/usr\/bin\/env -S deno run --allow-net/);
    // The shebang line makes the bundle an executable on its own.
    const direct = await output(client, ["--version"], {
      cwd: dir,
      env: { PATH: `${Deno.execPath().replace(/\/[^/]*$/, "")}:${Deno.env.get("PATH") ?? ""}` },
    });
    assertEquals(direct.text.trim(), (await import("../lib/version.ts")).VERSION);

    using echo = echoServer();
    const udp = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
    (async () => {
      for await (const [data, addr] of udp) await udp.send(data, addr);
    })().catch(() => {});
    try {
      const bindPort = freePort();
      await Deno.writeTextFile(`${dir}/frps.toml`, `bindPort = ${bindPort}\nauth.token = "b"\n`);
      await Deno.writeTextFile(
        `${dir}/frpc.toml`,
        `serverAddr = "127.0.0.1"
serverPort = ${bindPort}
auth.token = "b"

[[proxies]]
name = "t"
type = "tcp"
localPort = ${echo.port}
remotePort = 0

[[proxies]]
name = "u"
type = "udp"
localPort = ${(udp.addr as Deno.NetAddr).port}
remotePort = 0
`,
      );
      await using s = runBundle(dir, "./dfrps.js", SERVER_FLAGS, ["-c", "frps.toml"]);
      await s.waitFor(/listen on \S+:\d+/);
      await using c = runBundle(dir, "./dfrpc.js", CLIENT_FLAGS, ["-c", "frpc.toml"]);
      const tcpPort = Number((await s.waitFor(/\[t\] tcp proxy listen at :(\d+) success/))[1]);
      const udpPort = Number((await s.waitFor(/\[u\] udp proxy listen at :(\d+) success/))[1]);
      await c.waitFor(/\[t\] start proxy success/);
      await c.waitFor(/\[u\] start proxy success/);
      await assertEchoesText(tcpPort, "bundled tcp");
      assertEquals(await udpRoundTrip(udpPort, "bundled udp"), "bundled udp");
    } finally {
      udp.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("compile script: bundles and SHA-256 checksums; binaries, or one line saying why not", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dfrp-release-" });
  try {
    const target = Deno.build.target;
    const run = await output(Deno.execPath(), [
      "run",
      "-A",
      `${ROOT}scripts/compile.ts`,
      "--out",
      dir,
      "--target",
      target,
    ]);
    assert(run.success, run.text);
    const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    for (const n of ["dfrps.js", "dfrpc.js", "SHA256SUMS"]) assert(names.includes(n), n);
    const unavailable = run.text.split("\n").filter((l) => /cannot download its runtime/.test(l));
    if (unavailable.length) {
      assertEquals(unavailable.length, 1);
      assert(!names.some((n) => n.startsWith("dfrps-")), "no binary when the runtime is missing");
    } else {
      // The runtime was reachable: the script built and smoke-tested host binaries.
      for (const p of ["dfrps", "dfrpc"]) assert(names.includes(binaryName(p, target)), p);
    }
    const sums = await Deno.readTextFile(`${dir}/SHA256SUMS`);
    const listed = sums.trim().split("\n").map((l) => l.split(/\s+/)[1]).sort();
    assertEquals(listed, names.filter((n) => !n.endsWith(".sha256") && n !== "SHA256SUMS"));
    const check = await output("sha256sum", ["-c", "SHA256SUMS"], { cwd: dir });
    assert(check.success, check.text);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("compile script: a DENORT_BIN that is not a working denort fails the host smoke test", async () => {
  // The deno CLI itself ignores an embedded program, so the built "dfrps"
  // answers --version with deno's version: the smoke test must refuse it.
  const dir = await Deno.makeTempDir({ prefix: "dfrp-release-" });
  try {
    const run = await output(
      Deno.execPath(),
      ["run", "-A", `${ROOT}scripts/compile.ts`, "--out", dir, "--target", Deno.build.target],
      { env: { DENORT_BIN: Deno.execPath() } },
    );
    assertEquals(run.success, false, run.text);
    assertMatch(run.text, /--version printed "deno \d/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
