import { assertEquals } from "./_assert.ts";
import { PortManager } from "../lib/server/ports.ts";
import { parseServerConfig } from "../lib/config/mod.ts";

Deno.test("allowPorts from a config file: ranges and single ports", () => {
  const { config } = parseServerConfig(
    `allowPorts = [{ start = 2000, end = 3000 }, { single = 3001 }]\n`,
    "frps.toml",
  );
  const ports = new PortManager(config.allowPorts, 0);
  assertEquals([1999, 2000, 2500, 3000, 3001, 3002].map((p) => ports.allowed(p)), [
    false,
    true,
    true,
    true,
    true,
    false,
  ]);
});
