/**
 * A single node never loads Redis (docs/cluster.md): the cluster layer and
 * ioredis are reached from the entry points only through the dynamic import
 * in `lib/cluster/register.ts`, which runs when a `[cluster]` section asks
 * for it. Read from Deno's own module graph (`deno info --json`): a static
 * import of `lib/cluster/mod.ts`, `redis.ts` or `ioredis` anywhere on the
 * single-node path makes this fail.
 */

import { assert, assertEquals } from "./_assert.ts";

const ROOT = new URL("../", import.meta.url);

interface GraphModule {
  specifier: string;
  dependencies?: { code?: { specifier: string }; isDynamic?: boolean }[];
}

/** The modules `entry` loads when it starts (static imports only), and all it may load. */
async function moduleGraph(entry: string): Promise<{ loaded: string[]; reachable: string[] }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(out.success, new TextDecoder().decode(out.stderr));
  const graph = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    roots: string[];
    modules: GraphModule[];
    redirects: Record<string, string>;
  };
  const bySpecifier = new Map(graph.modules.map((m) => [m.specifier, m]));
  const resolve = (s: string) => graph.redirects[s] ?? s;
  const walk = (followDynamic: boolean) => {
    const seen = new Set<string>();
    const stack = graph.roots.map(resolve);
    while (stack.length > 0) {
      const specifier = stack.pop()!;
      if (seen.has(specifier)) continue;
      seen.add(specifier);
      for (const dep of bySpecifier.get(specifier)?.dependencies ?? []) {
        if (!dep.code || (dep.isDynamic && !followDynamic)) continue;
        stack.push(resolve(dep.code.specifier));
      }
    }
    return [...seen].map((s) => s.replace(ROOT.href, ""));
  };
  return { loaded: walk(false), reachable: walk(true) };
}

const isClusterOnly = (m: string) =>
  m.includes("ioredis") || (m.startsWith("lib/cluster/") && m !== "lib/cluster/register.ts");

for (const entry of ["server.ts", "mod.ts", "client.ts"]) {
  Deno.test(`single node: ${entry} loads neither the cluster layer nor ioredis until [cluster] asks`, async () => {
    const { loaded, reachable } = await moduleGraph(entry);
    assertEquals(loaded.filter(isClusterOnly), [], `${entry} imports them statically`);
    if (entry === "client.ts") return;
    // The graph does see them behind the dynamic import: the walk above is not blind.
    assert(reachable.includes("lib/cluster/mod.ts"), "lib/cluster/mod.ts not in the graph");
    assert(reachable.some((m) => m.includes("ioredis")), "ioredis not in the graph");
  });
}
