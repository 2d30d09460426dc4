/**
 * Runs a client from a loaded config: the proxy store (`store.path`), the
 * {@linkcode DfrpClient} with the file's and the store's proxies, and the
 * admin API when `webServer.port` is set. Shared by `client.ts -c FILE` and
 * the ad-hoc `client.ts tcp ...` commands.
 *
 * @example
 * ```ts
 * import { runClient } from "./client_run.ts";
 * import { loadClientConfig } from "../config/mod.ts";
 * const { config } = await loadClientConfig("frpc.toml");
 * Deno.exit(await runClient(config, "frpc.toml"));
 * ```
 *
 * @module
 */

import { ConfigManager } from "../admin/client/config_manager.ts";
import { type AdminServer, serveClientAdmin } from "../admin/client/serve.ts";
import { ProxyStore } from "../admin/client/store.ts";
import { DfrpClient } from "../client/client.ts";
import { type ClientConfig, ConfigError } from "../config/mod.ts";
import { log } from "../log.ts";
import { logFatal } from "../log_file.ts";
import { onShutdown } from "./signals.ts";
import { applyLogAndStateDir } from "./main_args.ts";

const CLOSE_GRACE_MS = 5_000;

/**
 * Runs until a signal or `POST /api/stop`; resolves to the exit code.
 *
 * @param configPath the file reloads read, or null for ad-hoc proxies
 */
export async function runClient(config: ClientConfig, configPath: string | null): Promise<number> {
  if (!applyLogAndStateDir(config, configPath)) return 1;
  let store: ProxyStore | null = null;
  if (config.store.path !== "") {
    try {
      store = await ProxyStore.open(config.store.path);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      for (const line of err.errors) log.error(line);
      return 1;
    }
    const clash = store.list().filter((e) => config.proxies.some((p) => p.name === e.config.name));
    if (clash.length > 0) {
      const names = clash.map((e) => `[${e.config.name}]`).join(", ");
      log.error(`proxy ${names} is both in ${configPath} and in the store ${config.store.path}`);
      return 1;
    }
    log.info(`store ${config.store.path}: ${store.list().length} proxies`);
  }

  const client = new DfrpClient({
    ...config,
    proxies: [...config.proxies, ...(store?.configs() ?? [])],
  });
  let admin: AdminServer | undefined;
  let stopping: Promise<void> | undefined;
  const stopped = Promise.withResolvers<void>();
  const stop = () =>
    stopping ??= (async () => {
      log.info("shutting down");
      await admin?.close();
      // DfrpClient.close() can miss a login that completes while it closes
      // (that connection then never ends): exit after a grace period anyway.
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        client.close(),
        new Promise((resolve) => timer = setTimeout(resolve, CLOSE_GRACE_MS)),
      ]);
      clearTimeout(timer);
      stopped.resolve();
    })();
  const manager = new ConfigManager(client, { configPath, store }, stop);
  if (config.webServer.port > 0) {
    try {
      admin = serveClientAdmin(manager, config.webServer);
    } catch (err) {
      logFatal(`cannot start the admin server: ${(err as Error).message}`);
      return 1;
    }
  }

  try {
    await client.start();
  } catch (err) {
    await admin?.close();
    logFatal(`login to the server failed: ${(err as Error).message}`);
    logFatal("loginFailExit is true, so dfrpc exits; set it to false to keep retrying");
    return 1;
  }
  onShutdown(stop);
  await Promise.race([client.done, stopped.promise]);
  await stopping;
  return 0;
}
