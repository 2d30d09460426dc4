/**
 * `client.ts` command line, like frpc: run from a file, `verify`, the admin
 * commands `reload`/`status`/`stop`, and ad-hoc `tcp`/`udp`/`http`/`https`/`tcpmux`
 * proxies without a file.
 *
 * @example
 * ```ts
 * import { clientMain } from "./client_main.ts";
 * Deno.exit(await clientMain(["verify", "-c", "frpc.toml"]));
 * ```
 *
 * @module
 */

import { ConfigError, loadClientConfig } from "../config/mod.ts";
import { VERSION } from "../version.ts";
import { ADHOC_HELP, ADHOC_TYPES, adhocConfig } from "./client_adhoc.ts";
import { ADMIN_COMMANDS, adminCommand } from "./client_admin_cmd.ts";
import { runClient } from "./client_run.ts";
import { loadConfigReported, parseMainArgs } from "./main_args.ts";

const HELP = `dfrpc ${VERSION}: the dfrp client
Reads frpc's config files unchanged; speaks dfrp's own wire, so the server must be dfrps.

Usage:
  client.ts [-c FILE]             run the client (default file ./frpc.toml)
  client.ts verify -c FILE        check a config file and exit
  client.ts reload -c FILE        hot-reload the running client's proxies (its admin API)
  client.ts status -c FILE        print the running client's proxies
  client.ts stop -c FILE          stop the running client
  client.ts tcp|udp|http|https|tcpmux [flags]   run one proxy without a file

Flags:
  -c, --config FILE      config file (TOML, YAML or JSON, frp v1 keys)
      --strict-config    reload: keys dfrp does not support yet are errors
      --state-dir DIR    stateDir: where known_servers (server fingerprints) is kept;
                         default beside the config file
  -h, --help             show this help
  -v, --version          print the version

${ADHOC_HELP}`;

const COMMANDS = ["", "verify", ...ADMIN_COMMANDS];

/** Runs the client CLI; resolves to the exit code (0 ok, 1 bad config or fatal error). */
export async function clientMain(args: string[]): Promise<number> {
  const adhoc = ADHOC_TYPES.find((t) => t === args[0]);
  if (adhoc) {
    if (args.includes("-h") || args.includes("--help")) return console.log(HELP), 0;
    try {
      return await runClient(adhocConfig(adhoc, args.slice(1)), null);
    } catch (err) {
      if (err instanceof ConfigError) {
        for (const line of err.errors) console.error(line);
      } else if (err instanceof TypeError) {
        console.error(`${err.message}\n\n${ADHOC_HELP}`);
      } else throw err;
      return 1;
    }
  }

  const parsed = parseMainArgs(
    args.map((a) =>
      a === "--strict_config" ? "--strict-config" : a.replace(/^--state_dir\b/, "--state-dir")
    ),
    {
      config: { type: "string", short: "c", default: "./frpc.toml" },
      "strict-config": { type: "boolean" },
      "state-dir": { type: "string" },
    },
    HELP,
  );
  if (typeof parsed === "number") return parsed;
  const { values, positionals } = parsed;
  const command = positionals[0] ?? "";
  if (!COMMANDS.includes(command)) {
    console.error(`unknown command "${command}"\n\n${HELP}`);
    return 1;
  }
  const admin = ADMIN_COMMANDS.find((c) => c === command);
  if (admin) return await adminCommand(admin, values.config, values["strict-config"] ?? false);

  const config = await loadConfigReported(() => loadClientConfig(values.config));
  if (config === null) return 1;
  if (command === "verify") {
    console.log(`${values.config}: syntax is ok`);
    return 0;
  }
  config.stateDir = values["state-dir"] ?? config.stateDir;
  return await runClient(config, values.config);
}
