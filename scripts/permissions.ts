/**
 * The permission flags dfrps and dfrpc run with, defined once: `deno.json`'s
 * tasks and the README repeat them literally, `scripts/compile.ts` bakes them
 * into the binaries, and `tests/permissions_test.ts` runs real tcp, udp and
 * http proxies under exactly these flags (and checks `deno.json` against them).
 *
 * Why each flag:
 * - `--allow-net`: listeners, the tunnel, dialing local services; ports and
 *   hosts come from the config, so no fixed allow-list is possible.
 * - `--allow-read`: the config file, its `includes` globs, TLS certificates,
 *   custom error pages; all are paths from the config.
 * - `--allow-env`: `{{ .Envs.NAME }}` templates name any variable, the mux
 *   reads its tuning variables, and the `yaml` package reads `LOG_TOKENS`.
 * - `--allow-sys=hostname,networkInterfaces` (client only): the login
 *   message carries the hostname, as frpc's does; xtcp announces the
 *   interface addresses to its peer (assisted addresses, `p2p/assisted_addrs.ts`).
 * - `--allow-write`: the server makes its identity (TLS certificate and key)
 *   in its state directory on first start; the client remembers server
 *   fingerprints there (`known_servers`), and its proxy store (`store.path`)
 *   and the admin API's `PUT /api/config` write files named by the config,
 *   and both sides write and rotate `log.to` files, so no fixed path can be
 *   listed.
 * - `--unstable-net`: `Deno.listenDatagram` for udp proxies; `deno.json` turns
 *   it on inside the repository, a bundle or binary run elsewhere needs it.
 *
 * @example
 * ```ts
 * import { CLIENT_FLAGS, runLine } from "./permissions.ts";
 * console.log(runLine(CLIENT_FLAGS, "client.ts")); // deno run --allow-net ... client.ts
 * ```
 *
 * @module
 */

/**
 * Flags for the server (`server.ts`, `dfrps`).
 *
 * @example
 * ```ts
 * import { SERVER_FLAGS } from "./permissions.ts";
 * new Deno.Command(Deno.execPath(), { args: ["run", ...SERVER_FLAGS, "server.ts"] });
 * ```
 */
export const SERVER_FLAGS: readonly string[] = Object.freeze([
  "--allow-net",
  "--allow-read",
  "--allow-env",
  "--allow-write",
  "--unstable-net",
]);

/**
 * Flags for the client (`client.ts`, `dfrpc`).
 *
 * @example
 * ```ts
 * import { CLIENT_FLAGS } from "./permissions.ts";
 * new Deno.Command(Deno.execPath(), { args: ["run", ...CLIENT_FLAGS, "client.ts"] });
 * ```
 */
export const CLIENT_FLAGS: readonly string[] = Object.freeze([
  "--allow-net",
  "--allow-read",
  "--allow-env",
  "--allow-write",
  "--allow-sys=hostname,networkInterfaces",
  "--unstable-net",
]);

/**
 * The `deno run` line for `entry` under `flags`, as `deno.json` and the README spell it.
 *
 * @example
 * ```ts
 * import { runLine, SERVER_FLAGS } from "./permissions.ts";
 * runLine(SERVER_FLAGS, "server.ts"); // "deno run --allow-net --allow-read --allow-env --allow-write --unstable-net server.ts"
 * ```
 */
export function runLine(flags: readonly string[], entry: string): string {
  return ["deno", "run", ...flags, entry].join(" ");
}
