/**
 * `type = "stcp"` and `type = "sudp"` on the server: secret proxies. They
 * bind no port; they only enter the table visitors are matched against
 * (`../visitor/secret_proxies.ts`). What a visitor connection carries — a
 * byte stream for stcp, framed datagrams for sudp — is opaque here.
 *
 * @example
 * ```ts
 * import { serverProxyFactory } from "./registry.ts";
 * import "./stcp.ts";
 * const factory = serverProxyFactory("stcp");
 * ```
 *
 * @module
 */

import { SECRET_PROXIES_FEATURE, type SecretProxyEntry } from "../visitor/secret_proxies.ts";
import type { ProxyContext, ServerProxy } from "./proxy.ts";
import { registerServerProxy } from "./registry.ts";
import type { NewProxy } from "../../protocol/messages.ts";
import { featureOf } from "../feature.ts";

/**
 * A secret proxy of type `type` (stcp, sudp, xtcp): an entry in the visitor
 * table and, in cluster mode, the name `secret:<user>:<name>` claimed
 * cluster-wide, so every node rebuilds the entry and a visitor on any node
 * reaches the owner's client through a work connection over the peer link.
 *
 * @example
 * ```ts
 * import { SecretProxy } from "./stcp.ts";
 * import type { ProxyContext } from "./proxy.ts";
 * import type { NewProxy } from "../../protocol/messages.ts";
 * declare const config: NewProxy, ctx: ProxyContext;
 * const proxy = new SecretProxy("stcp", config, ctx);
 * await proxy.start(); // "": no public address
 * proxy.close();
 * ```
 */
export class SecretProxy implements ServerProxy {
  #entry?: SecretProxyEntry;
  #claim?: { release(): void };

  constructor(
    readonly type: string,
    readonly config: NewProxy,
    readonly ctx: ProxyContext,
  ) {}

  async start(): Promise<string> {
    const { ctx } = this;
    const placement = ctx.services.placement;
    if (placement) {
      // Cluster mode: the name is claimed cluster-wide; visitors on every node reach it.
      const user = String(ctx.user ?? "");
      this.#claim = await placement.claimRoutes(
        { proxyName: ctx.name, clientId: ctx.clientId, user },
        [`secret:${user}:${ctx.name}`],
        { type: this.type, config: this.config },
        (ends) => ctx.openWorkConn(ends),
      );
    }
    const table = featureOf(this.ctx.services.features, SECRET_PROXIES_FEATURE)!;
    const entry = { type: this.type, ctx: this.ctx, config: this.config };
    table.add(entry);
    this.#entry = entry;
    // No public address: visitors reach it through their own dfrpc.
    return "";
  }

  close(): void {
    this.#claim?.release();
    this.#claim = undefined;
    if (!this.#entry) return;
    featureOf(this.ctx.services.features, SECRET_PROXIES_FEATURE)!.remove(this.#entry);
    this.#entry = undefined;
  }
}

for (const type of ["stcp", "sudp"]) {
  registerServerProxy(type, (config, ctx) => new SecretProxy(type, config, ctx));
}
