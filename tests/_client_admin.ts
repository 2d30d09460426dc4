/**
 * Test helpers for the client's admin API: a client process whose config
 * file the test can rewrite, and an HTTP helper with its credentials.
 *
 * @example
 * ```ts
 * import { startAdminClient } from "./_client_admin.ts";
 * await using client = await startAdminClient(7000, "");
 * const res = await client.api("/api/status");
 * ```
 *
 * @module
 */

import { type DfrpProcess, freePort, spawnDfrp, tempFile } from "./_harness.ts";

/** Admin credentials every helper client uses. */
export const ADMIN_USER = "admin";
/** See {@linkcode ADMIN_USER}. */
export const ADMIN_PASSWORD = "s3cret";

/** A client with its admin API. */
export interface AdminClient extends DfrpProcess {
  /** The config file the client was started with. */
  configPath: string;
  adminPort: number;
  /** `fetch` against the admin API with the credentials (unless `auth` is false). */
  api(path: string, init?: RequestInit & { auth?: boolean }): Promise<Response>;
  /** The common part of the config (server, webServer, store), to build new files from. */
  header: string;
}

/**
 * Starts `client.ts` against 127.0.0.1:`serverPort` with `proxies` (TOML) and
 * the admin API on a free port; `extra` adds common keys (e.g. `store.path`).
 * `api()` sends an `X-Requested-With` header unless the test sets its own.
 */
export async function startAdminClient(
  serverPort: number,
  proxies: string,
  extra = "",
  adminPort = freePort(),
): Promise<AdminClient> {
  const header = `serverAddr = "127.0.0.1"
serverPort = ${serverPort}
loginFailExit = false
webServer.port = ${adminPort}
webServer.user = "${ADMIN_USER}"
webServer.password = "${ADMIN_PASSWORD}"
${extra}
`;
  const configPath = await tempFile(header + proxies, "frpc.toml");
  const proc = spawnDfrp("client.ts", ["-c", configPath]);
  await proc.waitFor(/admin server listen on/);
  const api = (path: string, init: RequestInit & { auth?: boolean } = {}) => {
    const headers = new Headers(init.headers);
    // As client.ts reload/stop do: state changes need it (lib/admin/request_guard.ts).
    if (!headers.has("x-requested-with")) headers.set("x-requested-with", "dfrp-test");
    if (init.auth !== false) {
      headers.set("authorization", `Basic ${btoa(`${ADMIN_USER}:${ADMIN_PASSWORD}`)}`);
    }
    return fetch(`http://127.0.0.1:${adminPort}${path}`, { ...init, headers });
  };
  return Object.assign(proc, { configPath, adminPort, api, header });
}

/** A TOML `[[proxies]]` entry for a tcp proxy. */
export function tcpProxy(name: string, localPort: number, remotePort: number): string {
  return `
[[proxies]]
name = "${name}"
type = "tcp"
localPort = ${localPort}
remotePort = ${remotePort}
`;
}

/** Reads a response body and its status together (so no body is left unread). */
export async function answer(res: Promise<Response>): Promise<{ status: number; text: string }> {
  const r = await res;
  return { status: r.status, text: await r.text() };
}
