/**
 * `type = "xtcp"` on the server: like stcp, a secret proxy with no port of
 * its own. It enters the table visitors are matched against; the visitor
 * connection it then relays carries only the short rendezvous
 * (`NatHoleVisitor` / `NatHoleResp`) before the peers punch through their
 * NATs and talk directly. The server's other part in it is the STUN
 * responder (`../nathole/stun_responder.ts`).
 *
 * @example
 * ```ts
 * import { serverProxyFactory } from "./registry.ts";
 * import "./xtcp.ts";
 * const factory = serverProxyFactory("xtcp");
 * ```
 *
 * @module
 */

import { SECRET_PROXIES_FEATURE, type SecretProxyEntry } from "../visitor/secret_proxies.ts";
import type { ProxyContext, ServerProxy } from "./proxy.ts";
import { registerServerProxy } from "./registry.ts";
import type { NewProxy } from "../../protocol/messages.ts";
import { featureOf } from "../feature.ts";

class XtcpProxy implements ServerProxy {
  #entry?: SecretProxyEntry;

  constructor(readonly config: NewProxy, readonly ctx: ProxyContext) {}

  start(): Promise<string> {
    const table = featureOf(this.ctx.services.features, SECRET_PROXIES_FEATURE)!;
    const entry = { type: "xtcp", ctx: this.ctx, config: this.config };
    table.add(entry);
    this.#entry = entry;
    return Promise.resolve("");
  }

  close(): void {
    if (!this.#entry) return;
    featureOf(this.ctx.services.features, SECRET_PROXIES_FEATURE)!.remove(this.#entry);
    this.#entry = undefined;
  }
}

registerServerProxy("xtcp", (config, ctx) => new XtcpProxy(config, ctx));
