/**
 * What the client's admin API acts on: the running {@linkcode DfrpClient},
 * its config file and the proxy store. Proxies from the file and from the
 * store run side by side; every change goes through
 * `DfrpClient.updateProxies`, so proxies that did not change (and their open
 * connections) are left alone. Changes are applied one at a time, and a
 * change that fails is not applied at all.
 *
 * @example
 * ```ts
 * import { ConfigManager } from "./config_manager.ts";
 * import type { DfrpClient } from "../../client/client.ts";
 * declare const client: DfrpClient;
 * const manager = new ConfigManager(client, { configPath: "frpc.toml", store: null });
 * await manager.reload(false);
 * ```
 *
 * @module
 */

import type { DfrpClient } from "../../client/client.ts";
import {
  ConfigError,
  includesRootOf,
  loadClientConfig,
  parseClientConfig,
} from "../../config/mod.ts";
import type { ClientConfig, ProxyConfig } from "../../config/mod.ts";
import { log } from "../../log.ts";
import { type ProxyDefinition, toProxyConfig } from "./proxy_definition.ts";
import type { ProxyStore } from "./store.ts";

/** An error with the HTTP status the API answers it with. */
export class AdminError extends Error {
  /** @param status 400 bad input, 404 unknown, 409 conflict, 500 failed */
  constructor(readonly status: 400 | 404 | 409 | 500, message: string) {
    super(message);
    this.name = "AdminError";
  }
}

/** One proxy in `GET /api/status` (frp's field names). */
export interface ProxyStatusEntry {
  name: string;
  type: string;
  status: string;
  err: string;
  local_addr: string;
  plugin: string;
  remote_addr: string;
  source?: "store";
}

/** Where the client's proxies come from. */
export interface ConfigSources {
  /** The config file, or null for ad-hoc proxies given on the command line. */
  configPath: string | null;
  /** The store, or null when `store.path` is not set. */
  store: ProxyStore | null;
}

/** See the module doc. */
export class ConfigManager {
  #fileProxies: ProxyConfig[];
  #queue: Promise<unknown> = Promise.resolve();
  /**
   * Where `includes` may reach, fixed at start: a file written through the
   * API cannot widen it (its own `includesRoot` counts after a restart only).
   */
  #includesRoot: string | undefined;

  /**
   * @param client the running client, built from the file's proxies plus the store's
   */
  constructor(
    readonly client: DfrpClient,
    readonly sources: ConfigSources,
    /** Called after `POST /api/stop` has been answered. */
    readonly onStop: () => void = () => {},
  ) {
    const stored = new Set(sources.store?.list().map((e) => e.config.name));
    this.#fileProxies = client.proxies.filter((p) => !stored.has(p.name));
    if (sources.configPath !== null) {
      this.#includesRoot = includesRootOf(client.config, dirName(sources.configPath));
    }
  }

  /** Runs changes one after another: each reads state the previous one wrote. */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => {});
    return run;
  }

  #apply(): { added: string[]; removed: string[]; changed: string[] } {
    const result = this.client.updateProxies([
      ...this.#fileProxies,
      ...(this.sources.store?.configs() ?? []),
    ]);
    const parts = Object.entries(result).filter(([, names]) => names.length > 0)
      .map(([what, names]) => `${what} [${names.join(", ")}]`);
    log.info(`proxies updated: ${parts.length > 0 ? parts.join(", ") : "no change"}`);
    return result;
  }

  #path(): string {
    if (this.sources.configPath === null) {
      throw new AdminError(400, "dfrpc was started without a config file");
    }
    return this.sources.configPath;
  }

  /**
   * Re-reads the config file and applies its proxies. With `strict`, keys
   * dfrp does not support yet are errors too. A file with errors is refused
   * (400, every error) and the running proxies stay.
   */
  reload(strict: boolean) {
    return this.#serial(async () => {
      const path = this.#path();
      let loaded;
      try {
        loaded = await loadClientConfig(path, this.#includesRoot);
      } catch (err) {
        if (err instanceof ConfigError) throw new AdminError(400, redactEnv(err.errors));
        throw err;
      }
      if (strict && loaded.warnings.length > 0) {
        throw new AdminError(400, loaded.warnings.join("\n"));
      }
      for (const w of loaded.warnings) log.warn(w);
      const clash = loaded.config.proxies.filter((p) => this.sources.store?.has(p.name));
      if (clash.length > 0) {
        throw new AdminError(
          409,
          `proxy ${clash.map((p) => `[${p.name}]`).join(", ")} is also in the store`,
        );
      }
      warnCommonChanges(this.client.config, loaded.config);
      this.#fileProxies = loaded.config.proxies;
      log.info(`reloaded ${path}`);
      return this.#apply();
    });
  }

  /** The config file's text. */
  async readConfig(): Promise<string> {
    const path = this.#path();
    try {
      return await Deno.readTextFile(path);
    } catch (err) {
      throw new AdminError(500, `cannot read ${path}: ${(err as Error).message}`);
    }
  }

  /**
   * Replaces the config file's text after checking it (400 with every
   * error); running proxies change at the next reload, as in frp.
   */
  writeConfig(text: string) {
    return this.#serial(async () => {
      const path = this.#path();
      this.#check(path, text);
      const tmp = `${path}.tmp-${Deno.pid}`;
      await Deno.writeTextFile(tmp, text);
      await Deno.rename(tmp, path);
      log.info(`${path} rewritten through the admin API`);
    });
  }

  /**
   * Checks a config text as {@linkcode writeConfig} and a reload would,
   * without writing it: 400 with every error (a file proxy also in the store
   * is one); otherwise the warnings (keys not supported yet...).
   */
  validateConfig(text: string): { warnings: string[] } {
    const path = this.#path();
    const { config, warnings } = this.#check(path, text);
    const clash = config.proxies.filter((p) => this.sources.store?.has(p.name));
    if (clash.length > 0) {
      throw new AdminError(
        400,
        clash.map((p) => `proxy [${p.name}] is also in the store: rename or remove one`).join("\n"),
      );
    }
    return { warnings: redactEnv(warnings).split("\n").filter((w) => w !== "") };
  }

  #check(path: string, text: string) {
    if (text.trim() === "") throw new AdminError(400, "body can't be empty");
    try {
      return parseClientConfig(text, path, dirName(path), this.#includesRoot);
    } catch (err) {
      if (err instanceof ConfigError) throw new AdminError(400, redactEnv(err.errors));
      throw err;
    }
  }

  /** Every proxy's status, grouped by type and sorted by name (frp's shape). */
  status(): Record<string, ProxyStatusEntry[]> {
    const configs = new Map(this.client.proxies.map((p) => [p.name, p]));
    const out: Record<string, ProxyStatusEntry[]> = {};
    for (const s of this.client.status()) {
      const config = configs.get(s.name);
      const localPort = Number(config?.localPort ?? 0);
      let remote = s.err === "" ? s.remoteAddr : "";
      if (remote !== "" && (s.type === "tcp" || s.type === "udp")) {
        remote = this.client.config.serverAddr + remote;
      }
      const entry: ProxyStatusEntry = {
        name: s.name,
        type: s.type,
        status: s.status,
        err: s.err,
        local_addr: localPort ? `${config?.localIP ?? "127.0.0.1"}:${localPort}` : "",
        plugin: "",
        remote_addr: remote,
      };
      if (this.sources.store?.has(s.name)) entry.source = "store";
      (out[s.type] ??= []).push(entry);
    }
    for (const list of Object.values(out)) list.sort((a, b) => a.name.localeCompare(b.name));
    return out;
  }

  /** Answers, then stops the client (frp waits a moment so the answer gets out). */
  stop(): void {
    setTimeout(() => this.onStop(), 100);
  }

  #store(): ProxyStore {
    if (!this.sources.store) throw new AdminError(404, "the store is disabled (set store.path)");
    return this.sources.store;
  }

  /** The store's entries. */
  listStore(): Record<string, unknown>[] {
    return this.#store().list().map((e) => e.raw);
  }

  /** One store entry (404 if absent). */
  getStore(name: string): Record<string, unknown> {
    const entry = this.#store().get(name);
    if (!entry) throw new AdminError(404, `proxy "${name}" is not in the store`);
    return entry.raw;
  }

  /** Adds a proxy to the store and starts it (409 if the name is taken). */
  createStore(def: ProxyDefinition) {
    return this.#serial(async () => {
      const store = this.#store();
      const { raw, config } = checked(def);
      if (store.has(def.name)) {
        throw new AdminError(409, `proxy "${def.name}" is already in the store`);
      }
      if (this.#fileProxies.some((p) => p.name === def.name)) {
        throw new AdminError(409, `proxy "${def.name}" is defined in the config file`);
      }
      await this.#persist(() => store.put(raw, config));
      this.#apply();
      return raw;
    });
  }

  /** Replaces a store proxy (404 if absent, 400 if the body names another). */
  updateStore(name: string, def: ProxyDefinition) {
    return this.#serial(async () => {
      const store = this.#store();
      if (def.name !== name) {
        throw new AdminError(400, "proxy name in URL must match name in body");
      }
      const { raw, config } = checked(def);
      if (!store.has(name)) throw new AdminError(404, `proxy "${name}" is not in the store`);
      await this.#persist(() => store.put(raw, config));
      this.#apply();
      return raw;
    });
  }

  /** Removes a store proxy and stops it (404 if absent). */
  deleteStore(name: string) {
    return this.#serial(async () => {
      const store = this.#store();
      if (!store.has(name)) throw new AdminError(404, `proxy "${name}" is not in the store`);
      await this.#persist(() => store.delete(name));
      this.#apply();
    });
  }

  async #persist(write: () => Promise<unknown>): Promise<void> {
    try {
      await write();
    } catch (err) {
      throw new AdminError(500, `cannot write the store: ${(err as Error).message}`);
    }
  }
}

function checked(def: ProxyDefinition) {
  try {
    const result = toProxyConfig(def);
    for (const w of result.warnings) log.warn(`store proxy [${def.name}]: ${w}`);
    return result;
  } catch (err) {
    if (err instanceof ConfigError) throw new AdminError(400, err.errors.join("\n"));
    throw err;
  }
}

/** frp reloads proxies only; say so instead of silently ignoring other edits. */
function warnCommonChanges(running: ClientConfig, next: ClientConfig): void {
  // stateDir: the running one was filled in at start-up (lib/cli/state_dir.ts).
  const strip = (c: ClientConfig) =>
    JSON.stringify({ ...c, proxies: [], visitors: [], stateDir: "" });
  if (strip(running) !== strip(next)) {
    log.warn("changes outside proxies and visitors take effect after a restart");
  }
}

/**
 * The errors of a config checked through the API, with every environment
 * value the client sees (6+ characters) that appears in a quoted value
 * replaced by `<env NAME>`: a file written through the API may template
 * `{{ .Envs.X }}` into a key whose error quotes the value.
 */
function redactEnv(errors: string[]): string {
  let env: [string, string][];
  try {
    env = Object.entries(Deno.env.toObject()).filter(([, v]) => v.length >= 6);
  } catch {
    return errors.join("\n"); // no env permission: templates saw no values either
  }
  return errors.map((line) =>
    line.replace(/"([^"\n]*)"/g, (quoted, inner: string) => {
      let out = inner;
      for (const [name, value] of env) out = out.split(value).join(`<env ${name}>`);
      return out === inner ? quoted : `"${out}"`;
    })
  ).join("\n");
}

function dirName(path: string): string {
  const i = path.lastIndexOf("/");
  return i < 0 ? "." : i === 0 ? "/" : path.slice(0, i);
}
