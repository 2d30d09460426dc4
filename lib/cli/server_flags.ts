/**
 * Applies `server.ts` flags (frps's names) on top of the loaded config.
 *
 * @example
 * ```ts
 * import { applyServerFlags } from "./server_flags.ts";
 * import { defaultServerConfig } from "../config/mod.ts";
 * const config = defaultServerConfig();
 * applyServerFlags(config, { "bind-port": "7001", "vhost-http-port": "8080" }); // undefined: ok
 * ```
 *
 * @module
 */

import type { ServerConfig } from "../config/mod.ts";
import { LOG_LEVELS } from "../log.ts";

/** Parsed flag values by long name. */
export type ServerFlags = Record<string, string | boolean | undefined>;

/** Sets the config keys the flags name; returns an error message for a bad value. */
export function applyServerFlags(config: ServerConfig, flags: ServerFlags): string | undefined {
  const ports: Array<[string, (port: number) => void]> = [
    ["bind-port", (p) => config.bindPort = p],
    ["vhost-http-port", (p) => config.vhostHTTPPort = p],
    ["vhost-https-port", (p) => config.vhostHTTPSPort = p],
    ["dashboard-port", (p) => config.webServer.port = p],
  ];
  for (const [flag, set] of ports) {
    const value = flags[flag];
    if (typeof value !== "string") continue;
    const port = Number(value);
    if (value === "" || !Number.isInteger(port) || port < 0 || port > 65535) {
      return `--${flag}: "${value}" is not a port number`;
    }
    set(port);
  }
  const text = (flag: string) =>
    typeof flags[flag] === "string" ? flags[flag] as string : undefined;
  const level = text("log-level");
  if (level !== undefined && !(LOG_LEVELS as readonly string[]).includes(level)) {
    return `--log-level: "${level}" is not one of ${LOG_LEVELS.join(", ")}`;
  }
  if (level !== undefined) config.log.level = level as typeof config.log.level;
  config.bindAddr = text("bind-addr") ?? config.bindAddr;
  config.auth.token = text("token") ?? config.auth.token;
  config.subDomainHost = text("subdomain-host") ?? config.subDomainHost;
  config.webServer.addr = text("dashboard-addr") ?? config.webServer.addr;
  config.webServer.user = text("dashboard-user") ?? config.webServer.user;
  config.webServer.password = text("dashboard-pwd") ?? config.webServer.password;
  config.stateDir = text("state-dir") ?? config.stateDir;
  return undefined;
}
