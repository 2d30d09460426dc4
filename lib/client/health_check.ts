/**
 * Health checks of a proxy's local service, as frp's `healthCheck.*`: a TCP
 * dial or an HTTP GET every `intervalSeconds`; after `maxFailed` failures in
 * a row the service counts as down, and the first success brings it back.
 *
 * @example
 * ```ts
 * import { HealthChecker } from "./health_check.ts";
 * const checker = new HealthChecker(
 *   { type: "tcp", intervalSeconds: 10, timeoutSeconds: 3, maxFailed: 1, path: "", httpHeaders: [] },
 *   "127.0.0.1",
 *   22,
 *   (healthy) => console.log(healthy ? "up" : "down"),
 * );
 * checker.start();
 * ```
 *
 * @module
 */

import { dialTcp } from "../net/tcp_conn.ts";

/** The `healthCheck` block of a proxy config. */
export interface HealthCheckConfig {
  type: "tcp" | "http" | "";
  intervalSeconds: number;
  timeoutSeconds: number;
  maxFailed: number;
  path: string;
  httpHeaders: ReadonlyArray<{ name: string; value: string }>;
}

/** See the module doc. */
export class HealthChecker {
  #timer?: ReturnType<typeof setTimeout>;
  #failures = 0;
  #healthy = true;
  #stopped = false;

  /**
   * @param config the proxy's `healthCheck`
   * @param host the local service's address (`localIP`)
   * @param port the local service's port (`localPort`)
   * @param onChange called when the service goes down or comes back
   */
  constructor(
    readonly config: HealthCheckConfig,
    readonly host: string,
    readonly port: number,
    readonly onChange: (healthy: boolean, reason: string) => void,
  ) {}

  /** Whether the last verdict was healthy. */
  get healthy(): boolean {
    return this.#healthy;
  }

  /** Starts checking; the first check runs at once. */
  start(): void {
    this.#stopped = false;
    this.#tick();
  }

  /** Stops checking. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  async #tick(): Promise<void> {
    let reason = "";
    try {
      await this.#check();
    } catch (err) {
      reason = (err as Error).message;
    }
    if (this.#stopped) return;
    if (reason) {
      this.#failures++;
      if (this.#healthy && this.#failures >= Math.max(1, this.config.maxFailed)) {
        this.#healthy = false;
        this.onChange(false, reason);
      }
    } else {
      this.#failures = 0;
      if (!this.#healthy) {
        this.#healthy = true;
        this.onChange(true, "");
      }
    }
    this.#timer = setTimeout(() => this.#tick(), Math.max(1, this.config.intervalSeconds) * 1000);
  }

  async #check(): Promise<void> {
    const timeoutMs = Math.max(1, this.config.timeoutSeconds) * 1000;
    if (this.config.type === "tcp") {
      (await dialTcp(this.host, this.port, timeoutMs)).close();
      return;
    }
    const host = this.host.includes(":") ? `[${this.host}]` : this.host;
    const headers = new Headers();
    for (const h of this.config.httpHeaders) headers.set(h.name, h.value);
    const res = await fetch(`http://${host}:${this.port}${this.config.path || "/"}`, {
      headers,
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.body?.cancel();
    if (res.status < 200 || res.status >= 300) throw new Error(`HTTP status ${res.status}`);
  }
}
