/**
 * The systemd units pass `systemd-analyze verify` without a single warning,
 * and keep their hardening. The units name /usr/local/bin/dfrps; verify
 * insists the binary exists, so copies pointing at stub executables are checked.
 */

import { assert, assertEquals, assertMatch } from "./_assert.ts";

const UNITS = new URL("../packaging/systemd/", import.meta.url).pathname;
const dec = new TextDecoder();

const analyze = await new Deno.Command("systemd-analyze", { args: ["--version"] }).output()
  .then((o) => o.success, () => false);

async function verify(dir: string, unit: string) {
  const out = await new Deno.Command("systemd-analyze", {
    args: ["verify", "--man=no", `${dir}/${unit}`],
    cwd: dir,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { success: out.success, text: (dec.decode(out.stdout) + dec.decode(out.stderr)).trim() };
}

/** Copies the units into a temp folder whose stub dfrps/dfrpc stand in for the binaries. */
async function stage(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "dfrp-systemd-" });
  for (const name of ["dfrps", "dfrpc"]) {
    await Deno.writeTextFile(`${dir}/${name}`, "#!/bin/sh\n", { mode: 0o755 });
  }
  for (const e of Deno.readDirSync(UNITS)) {
    const text = await Deno.readTextFile(`${UNITS}${e.name}`);
    await Deno.writeTextFile(`${dir}/${e.name}`, text.replaceAll("/usr/local/bin/", `${dir}/`));
  }
  // A template is verified through an instance.
  await Deno.copyFile(`${dir}/dfrpc@.service`, `${dir}/dfrpc@office.service`);
  return dir;
}

Deno.test({
  name: "systemd: dfrps.service, dfrpc.service and dfrpc@office.service verify cleanly",
  ignore: !analyze,
  async fn() {
    const dir = await stage();
    try {
      for (const unit of ["dfrps.service", "dfrpc.service", "dfrpc@office.service"]) {
        const { success, text } = await verify(dir, unit);
        assert(success, `${unit}: ${text}`);
        assertEquals(text, "", `${unit} has warnings`);
      }
      // The empty-output check means something: a bad key is reported.
      await Deno.writeTextFile(`${dir}/dfrps.service`, "ProtectSistem=strict\n", { append: true });
      assertMatch((await verify(dir, "dfrps.service")).text, /ProtectSistem/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("systemd: units run as a dynamic user, read-only, capabilities only for the server", async () => {
  const units = ["dfrps.service", "dfrpc.service", "dfrpc@.service"];
  for (const unit of units) {
    const text = await Deno.readTextFile(`${UNITS}${unit}`);
    for (const line of ["DynamicUser=yes", "ProtectSystem=strict", "NoNewPrivileges=yes"]) {
      assert(text.split("\n").includes(line), `${unit} lacks ${line}`);
    }
    const caps = text.split("\n").filter((l) => l.startsWith("CapabilityBoundingSet="));
    assertEquals(
      caps,
      [
        unit === "dfrps.service"
          ? "CapabilityBoundingSet=CAP_NET_BIND_SERVICE"
          : "CapabilityBoundingSet=",
      ],
    );
  }
});
