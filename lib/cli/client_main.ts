/**
 * `client.ts` command line: `[verify] -c FILE`, like frpc.
 *
 * @example
 * ```ts
 * import { clientMain } from "./client_main.ts";
 * Deno.exit(await clientMain(["verify", "-c", "frpc.toml"]));
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { ConfigError, loadClientConfig } from "../config/mod.ts";
import type { ClientConfig } from "../config/mod.ts";
import { DfrpClient } from "../client/client.ts";
import { log, type LogLevel, setLogLevel } from "../log.ts";
import { VERSION } from "../version.ts";
import { onShutdown } from "./signals.ts";

const HELP = `dfrpc ${VERSION}: the dfrp client (frpc compatible)

Usage:
  client.ts [-c FILE]             run the client (default file ./frpc.toml)
  client.ts verify -c FILE        check a config file and exit

Flags:
  -c, --config FILE      config file (TOML, YAML or JSON, frp v1 keys)
  -h, --help             show this help
  -v, --version          print the version
`;

/** Runs the client CLI; resolves to the exit code (0 ok, 1 bad config or fatal error). */
export async function clientMain(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        config: { type: "string", short: "c", default: "./frpc.toml" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean", short: "v" },
      },
    });
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${HELP}`);
    return 1;
  }
  const { values, positionals } = parsed;
  if (values.help) return console.log(HELP), 0;
  if (values.version) return console.log(VERSION), 0;
  const command = positionals[0] ?? "";
  if (command && command !== "verify") {
    console.error(`unknown command "${command}"\n\n${HELP}`);
    return 1;
  }

  let config: ClientConfig;
  try {
    const { config: loaded, warnings } = await loadClientConfig(values.config);
    for (const w of warnings) log.warn(w);
    config = loaded;
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const line of err.errors) console.error(line);
      return 1;
    }
    throw err;
  }
  if (command === "verify") {
    console.log(`${values.config}: syntax is ok`);
    return 0;
  }
  setLogLevel(config.log.level as LogLevel);

  const client = new DfrpClient(config);
  try {
    await client.start();
  } catch (err) {
    log.error(`login to the server failed: ${(err as Error).message}`);
    log.error("loginFailExit is true, so dfrpc exits; set it to false to keep retrying");
    return 1;
  }
  onShutdown(async () => {
    log.info("shutting down");
    await client.close();
  });
  await client.done;
  return 0;
}
