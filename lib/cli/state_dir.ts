/**
 * Where dfrps keeps its identity and dfrpc its `known_servers` when neither
 * `--state-dir` nor `stateDir` says: beside the config file, like OpenSSH's
 * host keys beside `sshd_config`; without a config file,
 * `$XDG_STATE_HOME/dfrp`, else `~/.local/state/dfrp`, else `./.dfrp`.
 *
 * @example
 * ```ts
 * import { defaultStateDir } from "./state_dir.ts";
 * defaultStateDir("/etc/dfrp/frps.toml"); // "/etc/dfrp"
 * ```
 *
 * @module
 */

import { dirname, resolve } from "node:path";

/**
 * The state directory for a process started with `configPath` (null: none).
 *
 * @example
 * ```ts
 * import { defaultStateDir } from "./state_dir.ts";
 * defaultStateDir(null); // e.g. "/home/me/.local/state/dfrp"
 * ```
 */
export function defaultStateDir(configPath: string | null): string {
  if (configPath) return dirname(resolve(configPath));
  const env = (name: string) => {
    try {
      return Deno.env.get(name) ?? "";
    } catch {
      return ""; // no --allow-env
    }
  };
  const xdg = env("XDG_STATE_HOME");
  if (xdg.startsWith("/")) return `${xdg}/dfrp`;
  const home = env("HOME");
  if (home) return `${home}/.local/state/dfrp`;
  return resolve(".dfrp");
}
