/**
 * The client's visitors: built from `config.visitors` through the registry,
 * started and stopped with the client, and findable by name so one visitor
 * can hand a connection to another (`handOver`, e.g. xtcp falling back to
 * stcp).
 *
 * @example
 * ```ts
 * import { VisitorManager } from "./manager.ts";
 * import { defaultClientConfig } from "../../config/mod.ts";
 * import { log } from "../../log.ts";
 * const visitors = new VisitorManager(defaultClientConfig(), log, () => {
 *   throw new Error("not logged in");
 * });
 * await visitors.start();
 * visitors.close();
 * ```
 *
 * @module
 */

import type { ClientConfig, VisitorConfig } from "../../config/mod.ts";
import type { Logger } from "../../log.ts";
import type { Duplex } from "../../net/duplex.ts";
import { factoryForVisitor } from "./registry.ts";
import type { ServerChannel, Visitor, VisitorContext } from "./visitor.ts";
import "./mod.ts";

/** Status of one visitor, for `DfrpClient` and the admin API. */
export interface VisitorStatus {
  name: string;
  type: string;
  /** "new", "running", "start error", "closed". */
  status: string;
  err: string;
}

/** See the module doc. */
export class VisitorManager {
  #visitors = new Map<string, Visitor>();
  #status = new Map<string, VisitorStatus>();

  /**
   * @param config the client config (`visitors`, `user`, `udpPacketSize`)
   * @param log the client's logger
   * @param openChannel opens a channel to the server for one visitor connection
   */
  constructor(
    readonly config: ClientConfig,
    readonly log: Logger,
    readonly openChannel: () => Promise<ServerChannel>,
  ) {
    for (const visitor of config.visitors ?? []) {
      if (visitor.enabled === false) continue;
      if (this.#status.has(visitor.name)) {
        throw new Error(`visitor [${visitor.name}] is configured twice`);
      }
      this.#status.set(visitor.name, {
        name: visitor.name,
        type: visitor.type,
        status: "new",
        err: "",
      });
    }
  }

  /**
   * Starts every enabled visitor. One that cannot start (port taken, type
   * unknown) is logged and reported in `status()`; the others run.
   */
  async start(): Promise<void> {
    for (const config of this.config.visitors ?? []) {
      if (config.enabled === false) continue;
      await this.#start(config);
    }
  }

  async #start(config: VisitorConfig): Promise<void> {
    const status = this.#status.get(config.name)!;
    const log = this.log.with(config.name);
    const factory = factoryForVisitor(config);
    if (!factory) {
      const what = config.plugin?.type
        ? `unknown visitor plugin ${config.plugin.type}`
        : `unknown visitor type ${config.type}`;
      Object.assign(status, { status: "start error", err: what });
      log.error(`start visitor error: ${status.err}`);
      return;
    }
    const ctx: VisitorContext = {
      clientConfig: this.config,
      log,
      openChannel: this.openChannel,
      handOver: (name, conn) => this.handOver(name, conn),
    };
    const visitor = factory(config, ctx);
    try {
      await visitor.start();
    } catch (err) {
      visitor.close();
      Object.assign(status, { status: "start error", err: (err as Error).message });
      log.error(`start visitor error: ${status.err}`);
      return;
    }
    this.#visitors.set(config.name, visitor);
    Object.assign(status, { status: "running", err: "" });
    log.info(`start ${config.type} visitor success`);
  }

  /** The running visitor named `name`. */
  get(name: string): Visitor | undefined {
    return this.#visitors.get(name);
  }

  /**
   * Gives `conn` to the visitor named `name`; false (and `conn` untouched)
   * when there is none that takes connections.
   */
  handOver(name: string, conn: Duplex): boolean {
    const visitor = this.#visitors.get(name);
    if (!visitor?.handOver) return false;
    visitor.handOver(conn);
    return true;
  }

  /** Every configured visitor's status. */
  status(): VisitorStatus[] {
    return [...this.#status.values()].map((s) => ({ ...s }));
  }

  /** Stops every visitor. */
  close(): void {
    for (const visitor of this.#visitors.values()) visitor.close();
    this.#visitors.clear();
    for (const status of this.#status.values()) status.status = "closed";
  }
}
