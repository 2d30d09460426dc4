/**
 * A real OpenSSH server on a free loopback port, with a host key and a
 * client key made for the test. Needs root (sshd's privilege separation) and
 * `openssh-server`; {@linkcode sshdAvailable} tells whether both are here.
 *
 * @example
 * ```ts
 * import { startSshd } from "./_sshd.ts";
 * await using sshd = await startSshd();
 * const out = await sshd.run(sshd.port, "echo hi");
 * ```
 *
 * @module
 */

import { freePort } from "./_harness.ts";

const SSHD = "/usr/sbin/sshd";

/** Whether a real sshd can be started here. */
export function sshdAvailable(): boolean {
  try {
    return Deno.statSync(SSHD).isFile && Deno.uid() === 0;
  } catch {
    return false;
  }
}

async function run(cmd: string, args: string[]): Promise<Deno.CommandOutput> {
  return await new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "piped" })
    .output();
}

/**
 * ssh options for a test's throw-away hosts: no host key check or record, never a prompt, and
 * only errors printed.
 *
 * @example
 * ```ts
 * import { QUIET_SSH } from "./_sshd.ts";
 * const args = [...QUIET_SSH, "-p", "2222", "root@127.0.0.1", "true"];
 * console.log(args.join(" "));
 * ```
 */
export const QUIET_SSH: readonly string[] = [
  "-o",
  "StrictHostKeyChecking=no",
  "-o",
  "UserKnownHostsFile=/dev/null",
  "-o",
  "BatchMode=yes",
  "-o",
  "LogLevel=ERROR",
];

/** A running sshd. */
export interface Sshd extends AsyncDisposable {
  port: number;
  /** Folder holding the keys and config. */
  dir: string;
  /** The client's private key file. */
  identity: string;
  /** Runs `command` over `ssh -p <port> root@127.0.0.1` (extra ssh options first); resolves to stdout. */
  run(port: number, command: string, extra?: string[]): Promise<string>;
  /** ssh options every call needs (key, no host-key prompts, batch mode). */
  sshOptions: string[];
}

/** Starts sshd; stops it when disposed. */
export async function startSshd(): Promise<Sshd> {
  const dir = await Deno.makeTempDir({ prefix: "dfrp-sshd-" });
  await Deno.mkdir("/run/sshd", { recursive: true });
  for (const [file, type] of [["host_key", "ed25519"], ["client_key", "ed25519"]]) {
    const out = await run("ssh-keygen", ["-q", "-t", type, "-N", "", "-f", `${dir}/${file}`]);
    if (!out.success) throw new Error(`ssh-keygen failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  await Deno.copyFile(`${dir}/client_key.pub`, `${dir}/authorized_keys`);
  const port = freePort();
  await Deno.writeTextFile(
    `${dir}/sshd_config`,
    [
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${dir}/host_key`,
      `PidFile ${dir}/sshd.pid`,
      `AuthorizedKeysFile ${dir}/authorized_keys`,
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "PubkeyAuthentication yes",
      "PermitRootLogin prohibit-password",
      "UsePAM no",
      "StrictModes no",
      "",
    ].join("\n"),
  );
  const child = new Deno.Command(SSHD, {
    args: ["-D", "-e", "-f", `${dir}/sshd_config`],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = child.stderr.pipeThrough(new TextDecoderStream());
  let log = "";
  const reader = (async () => {
    for await (const chunk of stderr) log += chunk;
  })();
  // Wait until it accepts connections.
  for (let i = 0;; i++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      break;
    } catch {
      if (i > 100) throw new Error(`sshd did not start:\n${log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const sshOptions = ["-i", `${dir}/client_key`, ...QUIET_SSH, "-o", "ConnectTimeout=10"];
  return {
    port,
    dir,
    identity: `${dir}/client_key`,
    sshOptions,
    async run(target: number, command: string, extra: string[] = []) {
      const out = await run("ssh", [
        ...sshOptions,
        ...extra,
        "-p",
        String(target),
        "root@127.0.0.1",
        command,
      ]);
      if (!out.success) {
        throw new Error(
          `ssh failed (${out.code}): ${new TextDecoder().decode(out.stderr)}\nsshd log:\n${log}`,
        );
      }
      return new TextDecoder().decode(out.stdout);
    },
    async [Symbol.asyncDispose]() {
      try {
        child.kill("SIGTERM");
      } catch { /* exited */ }
      await child.status;
      await reader.catch(() => {});
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/** An `ssh -R` forward: connections to `port` reach the target through OpenSSH. */
export interface ReverseForward extends AsyncDisposable {
  /** The forwarded port on 127.0.0.1. */
  port: number;
}

/**
 * Runs `ssh -N -R <free port>:127.0.0.1:<target>` against `sshd` (with
 * `cipher`, e.g. `aes256-gcm@openssh.com`, when given) and resolves once the
 * forwarded port accepts connections: OpenSSH as the yardstick of the
 * benches. Disposing ends the ssh client.
 *
 * @example
 * ```ts
 * import { reverseForward, startSshd } from "./_sshd.ts";
 * await using sshd = await startSshd();
 * await using forward = await reverseForward(sshd, 5201, "aes128-gcm@openssh.com");
 * console.log(forward.port);
 * ```
 */
export async function reverseForward(
  sshd: Sshd,
  target: number,
  cipher?: string,
): Promise<ReverseForward> {
  const port = freePort();
  const ssh = new Deno.Command("ssh", {
    args: [
      ...sshd.sshOptions,
      "-N",
      ...(cipher ? ["-c", cipher] : []),
      "-o",
      "ExitOnForwardFailure=yes",
      "-R",
      `${port}:127.0.0.1:${target}`,
      "-p",
      String(sshd.port),
      "root@127.0.0.1",
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const stop = async () => {
    ssh.kill("SIGKILL");
    await ssh.status;
  };
  for (let i = 0;; i++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      break;
    } catch {
      if (i === 100) {
        await stop();
        throw new Error(`ssh -R: nothing listens on ${port}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { port, [Symbol.asyncDispose]: stop };
}
