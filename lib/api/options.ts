/**
 * Library options: the config-file schema with every key optional, so an
 * embedding program writes only what it would write in `frpc.toml` or
 * `frps.toml`, and gets the same defaults and the same validation.
 *
 * @example
 * ```ts
 * import { toClientConfig } from "./options.ts";
 * const config = toClientConfig({ serverAddr: "127.0.0.1", token: "t", proxies: [] });
 * console.log(config.auth.token); // "t"
 * ```
 *
 * @module
 */

import {
  type ClientConfig,
  parseClientConfig,
  parseServerConfig,
  type ProxyConfig,
  type ServerConfig,
} from "../config/mod.ts";

/** Every key optional, recursively; arrays keep their element type partial. */
export type DeepPartial<T> = T extends readonly (infer E)[] ? DeepPartial<E>[]
  : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> }
  : T;

/** A proxy as the library takes it: frp's proxy keys, `name` and `type` required. */
export type ProxyOptions = DeepPartial<ProxyConfig> & { name: string; type: string };

/** Options of `connect()`: frpc's keys, plus `token` as a shorthand for `auth.token`. */
export type ConnectOptions = Omit<DeepPartial<ClientConfig>, "proxies"> & {
  token?: string;
  proxies?: ProxyOptions[];
};

/** Options of `serve()`: frps's keys, plus `token` as a shorthand for `auth.token`. */
export type ServeOptions = DeepPartial<ServerConfig> & { token?: string };

function withToken<T extends { token?: string; auth?: unknown }>(opts: T): Record<string, unknown> {
  const { token, ...rest } = opts;
  if (token === undefined) return rest;
  return { ...rest, auth: { ...(rest.auth as object ?? {}), token } };
}

/**
 * Validates and completes client options exactly like a config file.
 * Throws `ConfigError` naming the bad keys (file name "connect() options").
 *
 * @example
 * ```ts
 * import { toClientConfig } from "./options.ts";
 * toClientConfig({ serverAddr: "example.com", proxies: [{ name: "web", type: "tcp", localPort: 8000 }] });
 * ```
 */
export function toClientConfig(opts: ConnectOptions): ClientConfig {
  return parseClientConfig(JSON.stringify(withToken(opts)), "connect() options").config;
}

/**
 * Validates and completes one proxy's options.
 *
 * @example
 * ```ts
 * import { toProxyConfig } from "./options.ts";
 * const proxy = toProxyConfig({ name: "ssh", type: "tcp", localPort: 22, remotePort: 6000 });
 * ```
 */
export function toProxyConfig(proxy: ProxyOptions): ProxyConfig {
  return parseClientConfig(JSON.stringify({ proxies: [proxy] }), "proxy options").config.proxies[0];
}

/**
 * Validates and completes server options exactly like a config file.
 *
 * @example
 * ```ts
 * import { toServerConfig } from "./options.ts";
 * const config = toServerConfig({ bindPort: 7000, token: "t" });
 * ```
 */
export function toServerConfig(opts: ServeOptions): ServerConfig {
  return parseServerConfig(JSON.stringify(withToken(opts)), "serve() options").config;
}
