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

/** Proxy types the gateway creates, as frps's. */
export const TUNNEL_TYPES = ["tcp", "http", "https", "tcpmux", "stcp"] as const;

/** A parsed command: a proxy to start, or help to print. */
export type TunnelCommand =
  | { kind: "proxy"; proxy: ProxyConfig; user: string; token: string | undefined }
  | { kind: "help"; text: string };

type Options = NonNullable<Parameters<typeof parseArgs>[0]>["options"];

const COMMON: Options = {
  "proxy-name": { type: "string", short: "n" },
  user: { type: "string", short: "u" },
  token: { type: "string", short: "t" },
  "client-id": { type: "string" },
  metadatas: { type: "string", multiple: true },
  annotations: { type: "string", multiple: true },
  help: { type: "boolean", short: "h" },
};

const DOMAINS: Options = {
  "custom-domain": { type: "string", short: "d", multiple: true },
  sd: { type: "string" },
};

const BY_TYPE: Record<string, Options> = {
  tcp: { "remote-port": { type: "string", short: "r" } },
  http: {
    ...DOMAINS,
    locations: { type: "string", multiple: true },
    "http-user": { type: "string" },
    "http-pwd": { type: "string" },
    "host-header-rewrite": { type: "string" },
  },
  https: DOMAINS,
  tcpmux: {
    ...DOMAINS,
    mux: { type: "string" },
    "http-user": { type: "string" },
    "http-pwd": { type: "string" },
  },
  stcp: {
    sk: { type: "string" },
    "allow-users": { type: "string", multiple: true },
  },
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
  const v = parsed.values as Record<string, string | string[] | boolean | undefined>;
  if (v.help) return { kind: "help", text: tunnelUsage(type) };
  if (parsed.positionals.length > 0) {
    throw new Error(`unexpected argument "${parsed.positionals[0]}" (try "${type} --help")`);
  }
  const str = (k: string) => v[k] as string | undefined;
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
      if (eq <= 0) throw new Error(`--${k}: "${item}" is not key=value`);
      out[item.slice(0, eq)] = item.slice(eq + 1);
    }
    return out;
  };
  let remotePort: number | undefined;
  if (str("remote-port") !== undefined) {
    remotePort = Number(str("remote-port"));
    if (!Number.isInteger(remotePort)) {
      throw new Error(`--remote_port: "${str("remote-port")}" is not a number`);
    }
  }
  const proxy = {
    name: str("proxy-name") || `sshtunnel-${type}-${randomId()}`,
    type,
    remotePort,
    customDomains: list("custom-domain"),
    subdomain: str("sd"),
    locations: list("locations"),
    httpUser: str("http-user"),
    httpPassword: str("http-pwd"),
    hostHeaderRewrite: str("host-header-rewrite"),
    multiplexer: type === "tcpmux" ? str("mux") ?? "httpconnect" : undefined,
    secretKey: str("sk"),
    allowUsers: list("allow-users"),
    metadatas: map("metadatas"),
    annotations: map("annotations"),
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
