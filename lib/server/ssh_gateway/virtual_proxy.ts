/**
 * Starts one proxy for a client that has no control channel (an SSH tunnel),
 * through the same registry and with the same bookkeeping as a dfrpc's
 * `NewProxy`: the name must be free server-wide, counters survive a restart
 * of the proxy, and its {@linkcode ProxyStats} carry an `owner` so the
 * admin API lists it online.
 *
 * @example
 * ```ts
 * import { startVirtualProxy } from "./virtual_proxy.ts";
 * import type { ServerServices } from "../services.ts";
 * import type { Duplex } from "../../net/duplex.ts";
 * declare const services: ServerServices;
 * declare const open: () => Promise<Duplex>;
 * import { NewProxySchema } from "../../protocol/messages.ts";
 * const config = NewProxySchema.parse({
 *   type: "NewProxy", proxyName: "web", proxyType: "tcp", remotePort: 9000,
 * });
 * const running = await startVirtualProxy(services, {
 *   owner: "ssh-0011", user: "", name: "web", type: "tcp", config, openWorkConn: open,
 * });
 * console.log(running.remoteAddr); // ":9000"
 * running.close();
 * ```
 *
 * @module
 */

import type { Duplex } from "../../net/duplex.ts";
import type { NewProxy } from "../../protocol/messages.ts";
import { newProxyView } from "../../protocol/new_proxy.ts";
import type { ConnEnds } from "../proxy/proxy.ts";
import { serverProxyFactory } from "../proxy/registry.ts";
import type { ServerServices } from "../services.ts";
import { ProxyStats } from "../stats.ts";

/** What the proxy is and who holds it. */
export interface VirtualProxySpec {
  /** The holder's id: the `clientId` for port quotas and the stats' `owner`. */
  owner: string;
  user: string;
  name: string;
  type: string;
  /** The proxy as a dfrpc would register it (`newProxyMessage` of its config). */
  config: NewProxy;
  openWorkConn(ends: ConnEnds): Promise<Duplex>;
}

/** A started proxy. */
export interface VirtualProxy {
  /** Where users reach it, as the proxy type reports it (e.g. ":9000"). */
  readonly remoteAddr: string;
  /** Stops it and marks its stats offline; safe to call twice. */
  close(): void;
}

/**
 * Starts the proxy; rejects with a user-facing Error (unknown type, name in
 * use, port taken...).
 */
export async function startVirtualProxy(
  services: ServerServices,
  spec: VirtualProxySpec,
): Promise<VirtualProxy> {
  const { name, type } = spec;
  const factory = serverProxyFactory(type);
  if (!factory) throw new Error(`proxy type "${type}" is not supported by this server`);
  const previous = services.stats.get(name);
  if (previous?.owner !== undefined) throw new Error(`proxy [${name}] is already in use`);
  const stats = previous?.type === type ? previous : new ProxyStats(name, type);
  const log = services.log.with(name);
  const proxy = factory(spec.config, {
    name,
    services,
    serverConfig: services.config,
    ports: services.ports,
    clientId: spec.owner,
    user: spec.user,
    log,
    stats,
    openWorkConn: spec.openWorkConn,
  });
  let remoteAddr: string;
  let fence: { release(): void } | undefined;
  try {
    // Cluster mode: the name is the user's on every node (the ssh gateway has no maxProxies).
    fence = await services.placement?.claimProxy(
      { proxyName: name, clientId: spec.owner, user: spec.user, type },
      0,
    );
    remoteAddr = await proxy.start();
  } catch (err) {
    fence?.release();
    proxy.close();
    log.warn(`start proxy error: ${(err as Error).message}`);
    throw err;
  }
  // A dfrpc may have taken the name while this one was starting.
  if (services.stats.get(name)?.owner !== undefined) {
    fence?.release();
    proxy.close();
    throw new Error(`proxy [${name}] is already in use`);
  }
  Object.assign(stats, {
    owner: spec.owner,
    clientRunId: spec.owner,
    user: spec.user,
    config: newProxyView(spec.config),
    lastStartTime: new Date(),
  });
  services.stats.set(name, stats);
  log.info(`${type} proxy listen at ${remoteAddr} success`);
  let closed = false;
  return {
    remoteAddr,
    close() {
      if (closed) return;
      closed = true;
      proxy.close();
      fence?.release();
      Object.assign(stats, { owner: undefined, lastCloseTime: new Date() });
      log.info(`proxy closed`);
    },
  };
}
