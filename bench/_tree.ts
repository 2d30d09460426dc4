/**
 * Running dfrp from a given source tree (this one or an older copy, e.g.
 * `git archive main | tar -x -C /tmp/old`) and reading a process's CPU time,
 * for benches that compare two trees in one run.
 *
 * @example
 * ```ts
 * import { cpuSeconds, spawnTree } from "./_tree.ts";
 * const server = await spawnTree("/tmp/old", "server.ts", "bindPort = 7000\n", /listen/);
 * console.log(cpuSeconds(server.pid));
 * ```
 *
 * @module
 */

export { cpuSeconds } from "./_proc_cpu.ts";

/**
 * Spawns `entry` of the tree at `root` with `config`; resolves once its
 * output matched `ready` (then keeps draining it).
 *
 * @example
 * ```ts
 * import { spawnTree } from "./_tree.ts";
 * const server = await spawnTree("/tmp/old", "server.ts", "bindPort = 7000\n", /listen/);
 * server.kill("SIGKILL");
 * ```
 */
export async function spawnTree(
  root: string,
  entry: string,
  config: string,
  ready: RegExp,
): Promise<Deno.ChildProcess> {
  const path = await Deno.makeTempFile({ suffix: ".toml" });
  await Deno.writeTextFile(path, config);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", `${root}/${entry}`, "-c", path],
    cwd: root,
    stdout: "piped",
    stderr: "null",
    env: { NO_COLOR: "1" },
  }).spawn();
  const reader = child.stdout.getReader();
  const decoder = new TextDecoder();
  let text = "";
  while (!ready.test(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`${entry} exited: ${text}`);
    text += decoder.decode(value);
  }
  (async () => {
    while (!(await reader.read()).done);
  })();
  return child;
}
