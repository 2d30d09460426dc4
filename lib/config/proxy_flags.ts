/**
 * frpc's proxy flags (`--remote_port`/`-r`, `--custom_domain`/`-d`, `--sd`,
 * `--proxy_name`/`-n`...), turned into a proxy table as a config file would
 * hold it: one module for both places that take them, the ad-hoc client
 * (`client.ts tcp ...`) and the SSH tunnel gateway (`ssh ... tcp --remote_port
 * 9000`), as frp shares `RegisterProxyFlags`. Flags are spelled with `-` here
 * (`normalizeFlags` rewrites frp's `_` spellings); only the flags given
 * appear in the table, so the config schema fills in the defaults and checks
 * the values like a file's.
 *
 * @example
 * ```ts
 * import { parseArgs } from "node:util";
 * import { PROXY_FLAGS, proxyFromFlags } from "./proxy_flags.ts";
 * const { values } = parseArgs({ args: ["-r", "9000"], options: PROXY_FLAGS });
 * proxyFromFlags("tcp", values); // { type: "tcp", remotePort: 9000, ... }
 * ```
 *
 * @module
 */

import { ConfigError } from "./errors.ts";

/** Every proxy flag, as `node:util` `parseArgs` options; callers pick the ones a type takes. */
export const PROXY_FLAGS = {
  "proxy-name": { type: "string", short: "n" },
  "local-ip": { type: "string", short: "i" },
  "local-port": { type: "string", short: "l" },
  "remote-port": { type: "string", short: "r" },
  "custom-domain": { type: "string", short: "d", multiple: true },
  sd: { type: "string" },
  locations: { type: "string", multiple: true },
  "http-user": { type: "string" },
  "http-pwd": { type: "string" },
  "host-header-rewrite": { type: "string" },
  mux: { type: "string" },
  sk: { type: "string" },
  "allow-users": { type: "string", multiple: true },
  metadatas: { type: "string", multiple: true },
  annotations: { type: "string", multiple: true },
  "bandwidth-limit": { type: "string" },
  "bandwidth-limit-mode": { type: "string" },
} as const;

/** Parsed flag values, by the flag's `-` name. */
export type FlagValues = Record<string, string | string[] | boolean | undefined>;

/**
 * The proxy table the given flags describe (`undefined` for flags not
 * given). Throws {@linkcode ConfigError} naming the flag (frp's `_`
 * spelling) when a number or a `key=value` list does not parse.
 *
 * @example
 * ```ts
 * import { proxyFromFlags } from "./proxy_flags.ts";
 * proxyFromFlags("http", { "custom-domain": ["a.example,b.example"], sd: "web" });
 * // { type: "http", customDomains: ["a.example", "b.example"], subdomain: "web", ... }
 * ```
 */
export function proxyFromFlags(type: string, v: FlagValues): Record<string, unknown> {
  const str = (k: string) => v[k] as string | undefined;
  const flag = (k: string) => `--${k.replaceAll("-", "_")}`;
  const num = (k: string) => {
    const value = str(k);
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!Number.isInteger(n)) throw new ConfigError([`${flag(k)}: "${value}" is not a number`]);
    return n;
  };
  // Repeated flags and comma-separated values both make lists, as in frp.
  const list = (k: string) =>
    v[k] === undefined
      ? undefined
      : [v[k] as string | string[]].flat().flatMap((s) => s.split(",")).filter(Boolean);
  const map = (k: string) => {
    const items = list(k);
    if (!items) return undefined;
    const out: Record<string, string> = {};
    for (const item of items) {
      const eq = item.indexOf("=");
      if (eq <= 0) throw new ConfigError([`${flag(k)}: "${item}" is not key=value`]);
      out[item.slice(0, eq)] = item.slice(eq + 1);
    }
    return out;
  };
  const limit = str("bandwidth-limit"), limitMode = str("bandwidth-limit-mode");
  return {
    name: str("proxy-name"),
    type,
    localIP: str("local-ip"),
    localPort: num("local-port"),
    remotePort: num("remote-port"),
    customDomains: list("custom-domain"),
    subdomain: str("sd"),
    locations: list("locations"),
    httpUser: str("http-user"),
    httpPassword: str("http-pwd"),
    hostHeaderRewrite: str("host-header-rewrite"),
    multiplexer: str("mux"),
    secretKey: str("sk"),
    allowUsers: list("allow-users"),
    metadatas: map("metadatas"),
    annotations: map("annotations"),
    transport: limit || limitMode
      ? { bandwidthLimit: limit, bandwidthLimitMode: limitMode }
      : undefined,
  };
}
