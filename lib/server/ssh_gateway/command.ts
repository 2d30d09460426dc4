/**
 * The command an SSH user runs on the gateway, frps's syntax:
 * `<type> [flags]` with type tcp, http, https, tcpmux or stcp, and frpc's
 * flag names (`--remote_port`/`-r`, `--custom_domain`/`-d`, `--sd`,
 * `--proxy_name`/`-n`, `--user`/`-u`, `--token`/`-t`...; `-` and `_` are
 * interchangeable). There are no `--local_*` flags: the local side is the
 * `ssh -R` forward itself.
 *
 * @example
 * ```ts
 * import { parseTunnelCommand } from "./command.ts";
 * const cmd = parseTunnelCommand("tcp --remote_port 9000");
 * if (cmd.kind === "proxy") console.log(cmd.proxy.remotePort); // 9000
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { ConfigError, parseClientConfig, type ProxyConfig } from "../../config/mod.ts";
import { normalizeFlags } from "../../config/flags.ts";
import { type FlagValues, PROXY_FLAGS, proxyFromFlags } from "../../config/proxy_flags.ts";

/** Proxy types the gateway creates, as frps's. */
export const TUNNEL_TYPES = ["tcp", "http", "https", "tcpmux", "stcp"] as const;

/** A parsed command: a proxy to start, or help to print. */
export type TunnelCommand =
  | { kind: "proxy"; proxy: ProxyConfig; user: string; token: string | undefined }
  | { kind: "help"; text: string };

type Options = NonNullable<Parameters<typeof parseArgs>[0]>["options"];

const F = PROXY_FLAGS;

const COMMON: Options = {
  "proxy-name": F["proxy-name"],
  user: { type: "string", short: "u" },
  token: { type: "string", short: "t" },
  "client-id": { type: "string" },
  metadatas: F.metadatas,
  annotations: F.annotations,
  help: { type: "boolean", short: "h" },
};

const DOMAINS: Options = { "custom-domain": F["custom-domain"], sd: F.sd };

const BY_TYPE: Record<string, Options> = {
  tcp: { "remote-port": F["remote-port"] },
  http: {
    ...DOMAINS,
    locations: F.locations,
    "http-user": F["http-user"],
    "http-pwd": F["http-pwd"],
    "host-header-rewrite": F["host-header-rewrite"],
  },
  https: DOMAINS,
  tcpmux: { ...DOMAINS, mux: F.mux, "http-user": F["http-user"], "http-pwd": F["http-pwd"] },
  stcp: { sk: F.sk, "allow-users": F["allow-users"] },
};

const FLAG_HELP: Record<string, string> = {
  "proxy-name": "-n, --proxy_name string    proxy name (default sshtunnel-<type>-<random>)",
  user: "-u, --user string          user",
  token: "-t, --token string         auth token (when the gateway has no authorizedKeysFile)",
  "client-id": "    --client-id string     unique identifier for this client",
  metadatas: "    --metadatas k=v,...    metadata key-value pairs",
  annotations: "    --annotations k=v,...  annotation key-value pairs",
  help: "-h, --help                 this help",
  "remote-port": "-r, --remote_port int      remote port (0 = any free one)",
  "custom-domain": "-d, --custom_domain list   custom domains, comma separated",
  sd: "    --sd string            sub domain",
  locations: "    --locations list       URL path prefixes, comma separated",
  "http-user": "    --http_user string     http auth user",
  "http-pwd": "    --http_pwd string      http auth password",
  "host-header-rewrite": "    --host_header_rewrite  Host header to send",
  mux: "    --mux string           multiplexer (httpconnect)",
  sk: "    --sk string            secret key",
  "allow-users": "    --allow_users list     users allowed to visit, comma separated",
};

/** The usage text for `type` (or for all types when it is not one). */
export function tunnelUsage(type?: string): string {
  const head = `Usage:\n  ssh -R :80:127.0.0.1:8080 v0@{address} [command]\n\n` +
    `Commands: ${TUNNEL_TYPES.join(", ")} (e.g. "tcp --remote_port 9000")\n`;
  if (!type || !(type in BY_TYPE)) return head;
  const lines = Object.keys({ ...COMMON, ...BY_TYPE[type] }).map((k) => `  ${FLAG_HELP[k]}`);
  return `${head}\nFlags for ${type}:\n${lines.join("\n")}\n`;
}

/**
 * Parses `command` (the SSH exec request). Throws an Error with a message
 * for the SSH user when it is not a valid tunnel command.
 */
export function parseTunnelCommand(command: string): TunnelCommand {
  const args = command.split(/\s+/).filter(Boolean);
  const type = args.shift() ?? "";
  if (type === "help" || type === "-h" || type === "--help") {
    return { kind: "help", text: tunnelUsage() };
  }
  if (!(TUNNEL_TYPES as readonly string[]).includes(type)) {
    throw new Error(
      `invalid proxy type: ${type || "(none)"}, support types: [${TUNNEL_TYPES.join(" ")}]`,
    );
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: normalizeFlags(args),
      options: { ...COMMON, ...BY_TYPE[type] },
      allowPositionals: true,
    });
  } catch (err) {
    // node's messages suggest "--" tricks that make no sense over ssh.
    const flag = (err as Error).message.match(/'([^']+)'/)?.[1];
    const code = (err as { code?: string }).code;
    if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && flag) {
      throw new Error(`unknown flag: ${flag} (try "${type} --help")`);
    }
    if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" && flag) {
      throw new Error(`flag needs an argument: ${flag.split(/[, ]/)[0]}`);
    }
    throw new Error((err as Error).message.split(".")[0]);
  }
  const v = parsed.values as FlagValues;
  if (v.help) return { kind: "help", text: tunnelUsage(type) };
  if (parsed.positionals.length > 0) {
    throw new Error(`unexpected argument "${parsed.positionals[0]}" (try "${type} --help")`);
  }
  const str = (k: string) => v[k] as string | undefined;
  let flags: Record<string, unknown>;
  try {
    flags = proxyFromFlags(type, v);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    throw new Error(err.message);
  }
  const proxy = {
    ...flags,
    name: str("proxy-name") || `sshtunnel-${type}-${randomId()}`,
    multiplexer: type === "tcpmux" ? str("mux") ?? "httpconnect" : undefined,
    // The checks want a local service; the ssh client is ours.
    localPort: 1,
  };
  let loaded: ProxyConfig;
  try {
    // The same checks a config file gets; undefined keys vanish in JSON.
    loaded = parseClientConfig(JSON.stringify({ proxies: [proxy] }), "ssh command").config
      .proxies[0];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    throw new Error(
      err.message.replace(/ssh command:\d+: /g, "").replace(/proxies\[0\][.:] ?/g, ""),
    );
  }
  // Not ours to know: the ssh client alone knows where its -R forward goes.
  delete (loaded as Partial<ProxyConfig>).localIP;
  delete (loaded as Partial<ProxyConfig>).localPort;
  return { kind: "proxy", proxy: loaded, user: str("user") ?? "", token: str("token") };
}

function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(4));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
