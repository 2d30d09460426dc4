/**
 * `connect()`: run a dfrp client inside a Deno program.
 *
 * @example
 * ```ts
 * import { connect } from "./connect.ts";
 * const tunnel = await connect({
 *   serverAddr: "tunnel.example.com",
 *   token: "secret",
 *   proxies: [{ name: "web", type: "tcp", localPort: 8000, remotePort: 18000 }],
 * });
 * console.log(tunnel.status());
 * await tunnel.close();
 * ```
 *
 * @module
 */

import { DfrpClient, type ProxyStatus } from "../client/client.ts";
import {
  type ConnectOptions,
  type ProxyOptions,
  toClientConfig,
  toProxyConfig,
} from "./options.ts";

/** A running embedded client. Events as {@linkcode DfrpClient}'s: `login`, `disconnect`, `proxy`. */
export interface Tunnel extends EventTarget {
  /** The run id the server assigned. */
  readonly runId: string;
  /** Every proxy's status (`remoteAddr` is where users reach it). */
  status(): ProxyStatus[];
  /**
   * Resolves with the proxy's status once the server accepted it, or rejects
   * with the server's reason.
   */
  ready(name: string): Promise<ProxyStatus>;
  /** Adds a proxy and waits until it runs (or rejects with the reason). */
  addProxy(proxy: ProxyOptions): Promise<ProxyStatus>;
  /** Removes a proxy; resolves to whether it existed. */
  removeProxy(name: string): boolean;
  /** Disconnects and stops reconnecting. */
  close(): Promise<void>;
  /** The client underneath, for what this handle does not cover. */
  readonly client: DfrpClient;
}

/**
 * Validates the options (the same keys, defaults and errors as `frpc.toml`),
 * logs in, and resolves once every proxy has been accepted or refused.
 * Rejects with `ConfigError` for bad options and `LoginError` for a refused
 * login (when `loginFailExit` is true, the default).
 */
export async function connect(opts: ConnectOptions): Promise<Tunnel> {
  const client = new DfrpClient(toClientConfig(opts));
  const settled = client.proxies.map((p) => waitForProxy(client, p.name).catch(() => {}));
  await client.start();
  await Promise.all(settled);
  return {
    client,
    get runId() {
      return client.runId;
    },
    status: () => client.status(),
    ready: (name) => waitForProxy(client, name),
    async addProxy(proxy) {
      const config = toProxyConfig(proxy);
      const ready = waitForProxy(client, config.name);
      client.addProxy(config);
      return await ready;
    },
    removeProxy: (name) => client.removeProxy(name),
    close: () => client.close(),
    addEventListener: client.addEventListener.bind(client),
    removeEventListener: client.removeEventListener.bind(client),
    dispatchEvent: client.dispatchEvent.bind(client),
  };
}

function waitForProxy(client: DfrpClient, name: string): Promise<ProxyStatus> {
  const now = client.status().find((s) => s.name === name);
  if (now?.status === "running") return Promise.resolve(now);
  return new Promise((resolve, reject) => {
    const onProxy = (event: Event) => {
      const status = (event as CustomEvent<ProxyStatus>).detail;
      if (status.name !== name) return;
      client.removeEventListener("proxy", onProxy);
      if (status.status === "running") resolve(status);
      else reject(new Error(`proxy [${name}]: ${status.err}`));
    };
    client.addEventListener("proxy", onProxy);
  });
}
