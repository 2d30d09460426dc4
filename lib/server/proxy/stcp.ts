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

import {
  SECRET_PROXIES_FEATURE,
  type SecretProxies,
  type SecretProxyEntry,
} from "../visitor/secret_proxies.ts";
import type { ProxyContext, ServerProxy } from "./proxy.ts";
import { registerServerProxy } from "./registry.ts";
import type { NewProxy } from "../../protocol/messages.ts";

class SecretProxy implements ServerProxy {
  #entry?: SecretProxyEntry;

  constructor(
    readonly type: string,
    readonly config: NewProxy,
    readonly ctx: ProxyContext,
  ) {}

  start(): Promise<string> {
    const table = this.ctx.services.features.get(SECRET_PROXIES_FEATURE) as SecretProxies;
    const entry = { type: this.type, ctx: this.ctx, config: this.config };
    table.add(entry);
    this.#entry = entry;
    // No public address: visitors reach it through their own dfrpc.
    return Promise.resolve("");
  }

  close(): void {
    if (!this.#entry) return;
    (this.ctx.services.features.get(SECRET_PROXIES_FEATURE) as SecretProxies).remove(this.#entry);
    this.#entry = undefined;
  }
}

for (const type of ["stcp", "sudp"]) {
  registerServerProxy(type, (config, ctx) => new SecretProxy(type, config, ctx));
}
