/**
 * frp's server plugins (`[[httpPlugins]]`): for each operation a plugin
 * subscribed to (`ops`), the server POSTs
 * `{version: "0.1.0", op, content}` to `addr` + `path` (with `?version=&op=`
 * in the URL, like frp) and reads `{reject, reject_reason, unchange,
 * content}`. Plugins run in config order; each sees the content the
 * previous one returned. A rejection stops the operation with its reason; a
 * plugin that cannot be reached (or answers non-200 or bad JSON) rejects it
 * too, with `send <op> request to plugin error`. `CloseProxy` is only
 * notified: its answer and failures change nothing.
 *
 * @example
 * ```ts
 * import { HttpPlugins } from "./http_plugins.ts";
 * import { log } from "../../log.ts";
 * const plugins = new HttpPlugins([
 *   { name: "auth", addr: "127.0.0.1:9000", path: "/handler", ops: ["Login"], tlsVerify: false },
 * ], log);
 * const content = await plugins.run("Login", { user: "alice", client_address: "1.2.3.4:5" });
 * ```
 *
 * @module
 */

import type { ServerConfig } from "../../config/mod.ts";
import type { Logger } from "../../log.ts";

/** frp's plugin API version. */
export const PLUGIN_API_VERSION = "0.1.0";
/** How long one plugin may take to answer. */
export const PLUGIN_TIMEOUT_MS = 10_000;

/** An operation a plugin can subscribe to. */
export type PluginOp = ServerConfig["httpPlugins"][number]["ops"][number];

/** A plugin said no; `message` is its `reject_reason` (or why it could not be asked). */
export class PluginRejected extends Error {
  override name = "PluginRejected";
}

interface PluginResponse {
  reject?: boolean;
  reject_reason?: string;
  unchange?: boolean;
  content?: unknown;
}

let requestIds = 0;

/** See the module doc. */
export class HttpPlugins {
  #byOp = new Map<string, ServerConfig["httpPlugins"]>();

  /**
   * @param options the `[[httpPlugins]]` entries
   * @param log where failures are logged
   */
  constructor(options: ServerConfig["httpPlugins"], readonly log: Logger) {
    for (const p of options) {
      for (const op of p.ops) {
        const list = this.#byOp.get(op) ?? [];
        list.push(p);
        this.#byOp.set(op, list);
      }
    }
  }

  /** Whether any plugin subscribed to `op` (so callers can skip building content). */
  has(op: PluginOp): boolean {
    return this.#byOp.has(op);
  }

  /**
   * Runs `op` through its plugins; resolves to the content as the last one
   * left it. Throws {@linkcode PluginRejected}.
   */
  async run<T extends object>(op: PluginOp, content: T): Promise<T> {
    for (const plugin of this.#byOp.get(op) ?? []) {
      let res: PluginResponse;
      try {
        res = await this.#post(plugin, op, content);
      } catch (err) {
        this.log.warn(
          `send ${op} request to plugin [${plugin.name}] error: ${(err as Error).message}`,
        );
        throw new PluginRejected(`send ${op} request to plugin error`);
      }
      if (res.reject) throw new PluginRejected(String(res.reject_reason ?? "rejected by plugin"));
      if (!res.unchange && res.content && typeof res.content === "object") {
        content = res.content as T;
      }
    }
    return content;
  }

  /** Tells every `op` plugin, ignoring answers; failures are logged. Never rejects. */
  async notify(op: PluginOp, content: object): Promise<void> {
    for (const plugin of this.#byOp.get(op) ?? []) {
      try {
        await this.#post(plugin, op, content);
      } catch (err) {
        this.log.warn(
          `send ${op} request to plugin [${plugin.name}] error: ${(err as Error).message}`,
        );
      }
    }
  }

  async #post(
    plugin: ServerConfig["httpPlugins"][number],
    op: string,
    content: unknown,
  ): Promise<PluginResponse> {
    let url = `${plugin.addr}${plugin.path}`;
    if (!/^https?:\/\//.test(url)) url = `http://${url}`;
    const query = new URLSearchParams({ version: PLUGIN_API_VERSION, op });
    const resp = await fetch(`${url}?${query}`, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        "X-Frp-Reqid": `dfrp-${++requestIds}`,
      },
      body: JSON.stringify({ version: PLUGIN_API_VERSION, op, content }),
      signal: AbortSignal.timeout(PLUGIN_TIMEOUT_MS),
    });
    const text = await resp.text();
    if (resp.status !== 200) throw new Error(`do http request error code: ${resp.status}`);
    const body = JSON.parse(text);
    if (!body || typeof body !== "object") throw new Error("the answer is not a JSON object");
    return body as PluginResponse;
  }
}

const instances = new WeakMap<object, HttpPlugins>();

/**
 * The server's plugins, built once per config from `httpPlugins`.
 *
 * @example
 * ```ts
 * import { httpPluginsOf } from "./http_plugins.ts";
 * import type { ServerServices } from "../services.ts";
 * declare const services: ServerServices;
 * if (httpPluginsOf(services).has("NewProxy")) console.log("asking plugins about proxies");
 * ```
 */
export function httpPluginsOf(
  services: { readonly config: ServerConfig; readonly log: Logger },
): HttpPlugins {
  let plugins = instances.get(services.config);
  if (!plugins) {
    plugins = new HttpPlugins(services.config.httpPlugins ?? [], services.log);
    instances.set(services.config, plugins);
  }
  return plugins;
}
