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

import { defaultServerConfig, loadServerConfig } from "../config/mod.ts";
import type { ServerConfig } from "../config/mod.ts";
import { log } from "../log.ts";
import { logFatal } from "../log_file.ts";
import { DfrpServer } from "../server/server.ts";
import "../admin/server/feature.ts"; // the admin API and dashboard, when webServer asks for them
import "../cluster/register.ts"; // cluster mode, loaded only when [cluster] asks for it
import { VERSION } from "../version.ts";
import { onShutdown } from "./signals.ts";
import { normalizeFlags } from "../config/flags.ts";
import { applyServerFlags } from "./server_flags.ts";
import { applyLogAndStateDir, loadConfigReported, parseMainArgs } from "./main_args.ts";

const HELP = `dfrps ${VERSION}: the dfrp server
Reads frps's config files unchanged; speaks dfrp's own wire, so clients must be dfrpc.

Usage:
  server.ts [-c FILE] [flags]     run the server (built-in defaults without -c)
  server.ts verify -c FILE        check a config file and exit

Flags:
  -c, --config FILE      config file (TOML, YAML or JSON, frp v1 keys)
  -p, --bind-port PORT   bindPort (default 7000)
      --bind-addr ADDR   bindAddr (default 0.0.0.0)
  -t, --token TOKEN      auth.token
      --vhost-http-port PORT, --vhost-https-port PORT   vhost listeners (0 = off)
      --subdomain-host HOST  subDomainHost
      --dashboard-addr ADDR, --dashboard-port PORT      webServer address and port
      --dashboard-user USER, --dashboard-pwd PASSWORD   webServer basic auth
      --log-level LEVEL      trace, debug, info, warn, error
      --state-dir DIR        stateDir: where the server keeps its identity (TLS certificate
                             and key); default beside the config file, else
                             $XDG_STATE_HOME/dfrp or ~/.local/state/dfrp
  (frps's underscore spellings, such as --bind_port, work too)
  -h, --help             show this help
  -v, --version          print the version
`;

/** Runs the server CLI; resolves to the exit code (0 ok, 1 bad config or fatal error). */
export async function serverMain(args: string[]): Promise<number> {
  const parsed = parseMainArgs(normalizeFlags(args), {
    config: { type: "string", short: "c" },
    "bind-port": { type: "string", short: "p" },
    "bind-addr": { type: "string" },
    token: { type: "string", short: "t" },
    "vhost-http-port": { type: "string" },
    "vhost-https-port": { type: "string" },
    "subdomain-host": { type: "string" },
    "dashboard-addr": { type: "string" },
    "dashboard-port": { type: "string" },
    "dashboard-user": { type: "string" },
    "dashboard-pwd": { type: "string" },
    "log-level": { type: "string" },
    "state-dir": { type: "string" },
  }, HELP);
  if (typeof parsed === "number") return parsed;
  const { values, positionals } = parsed;
  const command = positionals[0] ?? "";
  if (command && command !== "verify") {
    console.error(`unknown command "${command}"\n\n${HELP}`);
    return 1;
  }

  let config: ServerConfig;
  if (values.config) {
    const loaded = await loadConfigReported(() => loadServerConfig(values.config!));
    if (loaded === null) return 1;
    config = loaded;
  } else if (command === "verify") {
    console.error("verify needs a config file: server.ts verify -c FILE");
    return 1;
  } else {
    config = defaultServerConfig();
  }
  if (command === "verify") {
    console.log(`${values.config}: syntax is ok`);
    return 0;
  }

  const flagError = applyServerFlags(config, values);
  if (flagError) {
    console.error(flagError);
    return 1;
  }
  if (!applyLogAndStateDir(config, values.config ?? null)) return 1;

  const server = new DfrpServer(config);
  try {
    await server.start();
  } catch (err) {
    logFatal(`cannot start the server: ${(err as Error).message}`);
    return 1;
  }
  onShutdown(async () => {
    log.info("shutting down");
    await server.close();
  });
  await new Promise(() => {}); // serve until a signal ends the process
  return 0;
}
