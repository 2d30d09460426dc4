/**
 * The proxy store: proxies added through the admin API, kept in a JSON file
 * (`store.path`, frp's `{"proxies": [...]}` with flat proxy keys) so they come
 * back after a restart. Every change is written to a temporary file and
 * renamed over the old one, so a crash leaves the old or the new file, never
 * half of one.
 *
 * @example
 * ```ts
 * import { ProxyStore } from "./store.ts";
 * const store = await ProxyStore.open("/var/lib/dfrpc/store.json");
 * await store.put({ name: "ssh", type: "tcp", localPort: 22 }, { localIP: "127.0.0.1" } as never);
 * console.log(store.list().map((p) => p.raw.name));
 * ```
 *
 * @module
 */

import { ConfigError, type ProxyConfig } from "../../config/mod.ts";
import { checkRawProxy, type StoredProxy } from "./proxy_definition.ts";

/** See the module doc. */
export class ProxyStore {
  #entries: Map<string, StoredProxy>;

  private constructor(readonly path: string, entries: Map<string, StoredProxy>) {
    this.#entries = entries;
  }

  /**
   * Loads the file (a missing file is an empty store). Throws
   * {@linkcode ConfigError} naming the file and the bad entries.
   */
  static async open(path: string): Promise<ProxyStore> {
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return new ProxyStore(path, new Map());
      throw new ConfigError([`${path}: cannot read the store: ${(err as Error).message}`]);
    }
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (err) {
      throw new ConfigError([`${path}: the store is not JSON: ${(err as Error).message}`]);
    }
    const list = (data as { proxies?: unknown })?.proxies ?? [];
    if (!Array.isArray(list)) throw new ConfigError([`${path}: proxies: expected a list`]);
    const entries = new Map<string, StoredProxy>();
    const errors: string[] = [];
    list.forEach((raw, i) => {
      try {
        const entry = checkRawProxy(raw as Record<string, unknown>);
        if (entries.has(entry.config.name)) throw new ConfigError([`duplicate name`]);
        entries.set(entry.config.name, { raw: entry.raw, config: entry.config });
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        for (const e of err.errors) errors.push(`${path}: proxies[${i}]: ${e}`);
      }
    });
    if (errors.length > 0) throw new ConfigError(errors);
    return new ProxyStore(path, entries);
  }

  /** Every stored proxy, by name. */
  list(): StoredProxy[] {
    return [...this.#entries.values()].sort((a, b) => a.config.name.localeCompare(b.config.name));
  }

  /** One stored proxy, or undefined. */
  get(name: string): StoredProxy | undefined {
    return this.#entries.get(name);
  }

  /** Whether `name` is stored. */
  has(name: string): boolean {
    return this.#entries.has(name);
  }

  /** The configs to run. */
  configs(): ProxyConfig[] {
    return this.list().map((e) => e.config);
  }

  /** Adds or replaces an entry and persists; on a write error nothing changes. */
  async put(raw: Record<string, unknown>, config: ProxyConfig): Promise<void> {
    const next = new Map(this.#entries).set(config.name, { raw, config });
    await this.#save(next);
    this.#entries = next;
  }

  /** Deletes an entry and persists; returns whether it existed. */
  async delete(name: string): Promise<boolean> {
    if (!this.#entries.has(name)) return false;
    const next = new Map(this.#entries);
    next.delete(name);
    await this.#save(next);
    this.#entries = next;
    return true;
  }

  async #save(entries: Map<string, StoredProxy>): Promise<void> {
    const proxies = [...entries.values()].map((e) => e.raw);
    const tmp = `${this.path}.tmp-${Deno.pid}`;
    await Deno.writeTextFile(tmp, JSON.stringify({ proxies }, null, 2) + "\n");
    await Deno.rename(tmp, this.path);
  }
}
