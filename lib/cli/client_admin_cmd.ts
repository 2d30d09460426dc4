/**
 * `client.ts reload|status|stop -c FILE`: ask a running client's admin API
 * (found through FILE's `webServer.*`), like frpc's commands of the same
 * names.
 *
 * @example
 * ```ts
 * import { adminCommand } from "./client_admin_cmd.ts";
 * Deno.exit(await adminCommand("status", "frpc.toml", false));
 * ```
 *
 * @module
 */

import { type ClientConfig, ConfigError, loadClientConfig } from "../config/mod.ts";
import type { ProxyStatusEntry } from "../admin/client/config_manager.ts";
import { CSRF_HEADER } from "../admin/request_guard.ts";

/** The admin sub-commands. */
export const ADMIN_COMMANDS = ["reload", "status", "stop"] as const;

/** Order frpc prints types in. */
const TYPE_ORDER = ["tcp", "udp", "tcpmux", "http", "https", "stcp", "sudp", "xtcp"];

/** Runs one admin command; resolves to the exit code. */
export async function adminCommand(
  command: typeof ADMIN_COMMANDS[number],
  configPath: string,
  strict: boolean,
): Promise<number> {
  let config: ClientConfig;
  try {
    config = (await loadClientConfig(configPath)).config;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const line of err.errors) console.error(line);
    return 1;
  }
  const web = config.webServer;
  if (web.port <= 0) {
    console.error("web server port should be set if you want to use this feature");
    return 1;
  }
  const host = web.addr.includes(":") ? `[${web.addr}]` : web.addr;
  const base = `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${web.port}`;
  // Reload and stop change state: the admin API wants proof this is no web page.
  const headers: Record<string, string> = { [CSRF_HEADER]: "dfrpc" };
  if (web.user !== "" || web.password !== "") {
    headers.authorization = `Basic ${btoa(`${web.user}:${web.password}`)}`;
  }
  const [method, path] = command === "reload"
    ? ["GET", `/api/reload?strictConfig=${strict}`]
    : command === "stop"
    ? ["POST", "/api/stop"]
    : ["GET", "/api/status"];
  let res: Response;
  try {
    res = await fetch(base + path, { method, headers, signal: AbortSignal.timeout(30_000) });
  } catch (err) {
    console.error(`cannot reach the admin API at ${base}: ${(err as Error).message}`);
    return 1;
  }
  const body = await res.text();
  if (!res.ok) {
    console.error(`${command} failed (HTTP ${res.status}):\n${body}`);
    return 1;
  }
  if (command !== "status") {
    console.log(`${command} success`);
    return 0;
  }
  console.log(statusTables(JSON.parse(body)));
  return 0;
}

/**
 * frpc's `status` output: one table per proxy type.
 *
 * @example
 * ```ts
 * import { statusTables } from "./client_admin_cmd.ts";
 * console.log(statusTables({ tcp: [] }));
 * ```
 */
export function statusTables(status: Record<string, ProxyStatusEntry[]>): string {
  const out = ["Proxy Status...", ""];
  const types = Object.keys(status).sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  for (const type of types) {
    const list = status[type];
    if (!list?.length) continue;
    out.push(type.toUpperCase());
    const rows = [
      ["Name", "Status", "LocalAddr", "Plugin", "RemoteAddr", "Error"],
      ...list.map((p) => [p.name, p.status, p.local_addr, p.plugin, p.remote_addr, p.err]),
    ];
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    for (const row of rows) {
      out.push(row.map((cell, i) => cell.padEnd(widths[i])).join("  ").trimEnd());
    }
    out.push("");
  }
  return out.join("\n");
}

function rank(type: string): number {
  const i = TYPE_ORDER.indexOf(type);
  return i < 0 ? TYPE_ORDER.length : i;
}
