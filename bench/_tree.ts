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

import { freePort } from "../tests/_harness.ts";
import { type CpuPerRequest, cpuPerRequest } from "./_proc_cpu.ts";
import { waitConnectable } from "./small_bench.ts";

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

/** A server and a client of one tree, from {@linkcode spawnTreeTunnel}. */
export interface TreeTunnel extends AsyncDisposable {
  /** Runs `work`, which returns how many requests it made; CPU µs per request of each side. */
  measure(work: () => Promise<number>): Promise<CpuPerRequest>;
}

/**
 * Starts the tree's server (`bindPort` on a free port, plus `serverExtra`)
 * and a client of it with `proxies` (TOML `[[proxies]]` tables); resolves
 * once every proxy in `names` started and every port in `ports` accepts
 * connections.
 *
 * @example
 * ```ts
 * import { spawnTreeTunnel } from "./_tree.ts";
 * await using tunnel = await spawnTreeTunnel("/tmp/old", "", "[[proxies]]\nname = \"a\"\n", ["a"], []);
 * const cpu = await tunnel.measure(() => Promise.resolve(1));
 * ```
 */
export async function spawnTreeTunnel(
  root: string,
  serverExtra: string,
  proxies: string,
  names: string[],
  ports: number[],
): Promise<TreeTunnel> {
  const bindPort = freePort();
  const server = await spawnTree(
    root,
    "server.ts",
    `bindPort = ${bindPort}\n${serverExtra}`,
    /listen/,
  );
  const started = new RegExp(
    `^${names.map((n) => `(?=[\\s\\S]*\\[${n}\\] start proxy success)`).join("")}`,
  );
  const children = [server];
  const stop = async () => {
    for (const p of children.reverse()) {
      p.kill("SIGKILL");
      await p.status;
    }
  };
  try {
    const client = await spawnTree(
      root,
      "client.ts",
      `serverAddr = "127.0.0.1"\nserverPort = ${bindPort}\n${proxies}`,
      started,
    );
    children.push(client);
    for (const port of ports) await waitConnectable(port);
    return {
      measure: (work) => cpuPerRequest(server.pid, client.pid, work),
      [Symbol.asyncDispose]: stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
