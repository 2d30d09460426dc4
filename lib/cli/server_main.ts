/**
 * `server.ts` command line: `[verify] [-c FILE] [-p PORT] [-t TOKEN]`, like frps.
 *
 * @example
 * ```ts
 * import { serverMain } from "./server_main.ts";
 * Deno.exit(await serverMain(["verify", "-c", "frps.toml"]));
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { ConfigError, defaultServerConfig, loadServerConfig } from "../config/mod.ts";
import type { ServerConfig } from "../config/mod.ts";
import { log, type LogLevel, setLogLevel } from "../log.ts";
import { DfrpServer } from "../server/server.ts";
import { VERSION } from "../version.ts";
import { onShutdown } from "./signals.ts";

const HELP = `dfrps ${VERSION}: the dfrp server (frps compatible)

Usage:
  server.ts [-c FILE] [flags]     run the server (built-in defaults without -c)
  server.ts verify -c FILE        check a config file and exit

Flags:
  -c, --config FILE      config file (TOML, YAML or JSON, frp v1 keys)
  -p, --bind-port PORT   bindPort (default 7000)
      --bind-addr ADDR   bindAddr (default 0.0.0.0)
  -t, --token TOKEN      auth.token
  -h, --help             show this help
  -v, --version          print the version
`;

/** Runs the server CLI; resolves to the exit code (0 ok, 1 bad config or fatal error). */
export async function serverMain(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        config: { type: "string", short: "c" },
        "bind-port": { type: "string", short: "p" },
        "bind-addr": { type: "string" },
        token: { type: "string", short: "t" },
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

  let config: ServerConfig;
  try {
    if (values.config) {
      const { config: loaded, warnings } = await loadServerConfig(values.config);
      for (const w of warnings) log.warn(w);
      config = loaded;
    } else if (command === "verify") {
      console.error("verify needs a config file: server.ts verify -c FILE");
      return 1;
    } else {
      config = defaultServerConfig();
    }
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

  if (values["bind-port"] !== undefined) {
    const port = Number(values["bind-port"]);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      console.error(`--bind-port: "${values["bind-port"]}" is not a port number`);
      return 1;
    }
    config.bindPort = port;
  }
  if (values["bind-addr"] !== undefined) config.bindAddr = values["bind-addr"];
  if (values.token !== undefined) config.auth.token = values.token;
  setLogLevel(config.log.level as LogLevel);

  const server = new DfrpServer(config);
  try {
    await server.start();
  } catch (err) {
    log.error(`cannot start the server: ${(err as Error).message}`);
    return 1;
  }
  onShutdown(async () => {
    log.info("shutting down");
    await server.close();
  });
  await new Promise(() => {}); // serve until a signal ends the process
  return 0;
}
