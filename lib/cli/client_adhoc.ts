/**
 * `client.ts tcp|udp|http|https|tcpmux [flags]`: one proxy without a config
 * file, with frpc's flag names (`--server_addr`/`-s`, `--local_port`/`-l`,
 * `--custom_domain`/`-d`...; `-` and `_` are interchangeable in long names,
 * as in frpc). The flags become a config document checked like a file.
 *
 * @example
 * ```ts
 * import { adhocConfig } from "./client_adhoc.ts";
 * const config = adhocConfig("tcp", ["-s", "x.example", "-l", "22", "-r", "6000", "-n", "ssh"]);
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { type ClientConfig, ConfigError, parseClientConfig } from "../config/mod.ts";
import { normalizeFlags } from "../config/flags.ts";
import { PROXY_FLAGS, proxyFromFlags } from "../config/proxy_flags.ts";

/** Proxy types with an ad-hoc command. */
export const ADHOC_TYPES = ["tcp", "udp", "http", "https", "tcpmux"] as const;

/** Help text for the ad-hoc commands. */
export const ADHOC_HELP = `Ad-hoc proxy flags (client.ts tcp|udp|http|https|tcpmux):
  -s, --server_addr ADDR     server address (default 127.0.0.1)
  -P, --server_port PORT     server port (default 7000)
  -t, --token TOKEN          auth.token
  -u, --user USER            user (prefixes proxy names on the server)
  -n, --proxy_name NAME      proxy name (required)
  -i, --local_ip IP          local IP (default 127.0.0.1)
  -l, --local_port PORT      local port
  -r, --remote_port PORT     remote port (tcp, udp)
  -d, --custom_domain D      custom domains, comma separated (http, https, tcpmux)
      --sd SUBDOMAIN         subdomain (http, https, tcpmux)
      --locations PATHS      URL path prefixes, comma separated (http)
      --http_user U, --http_pwd P      basic auth (http, tcpmux)
      --host_header_rewrite HOST       Host header to send (http)
      --mux MULTIPLEXER      tcpmux multiplexer (httpconnect)
      --bandwidth_limit Q, --bandwidth_limit_mode client|server
      --tls_enable=false     plain TCP to the server
      --log_level LEVEL      trace, debug, info, warn, error
      --state_dir DIR        where known_servers is kept (default $XDG_STATE_HOME/dfrp)
`;

const OPTIONS = {
  "server-addr": { type: "string", short: "s" },
  "server-port": { type: "string", short: "P" },
  token: { type: "string", short: "t" },
  user: { type: "string", short: "u" },
  "proxy-name": PROXY_FLAGS["proxy-name"],
  "local-ip": PROXY_FLAGS["local-ip"],
  "local-port": PROXY_FLAGS["local-port"],
  "remote-port": PROXY_FLAGS["remote-port"],
  "custom-domain": PROXY_FLAGS["custom-domain"],
  sd: PROXY_FLAGS.sd,
  locations: PROXY_FLAGS.locations,
  "http-user": PROXY_FLAGS["http-user"],
  "http-pwd": PROXY_FLAGS["http-pwd"],
  "host-header-rewrite": PROXY_FLAGS["host-header-rewrite"],
  mux: PROXY_FLAGS.mux,
  "bandwidth-limit": PROXY_FLAGS["bandwidth-limit"],
  "bandwidth-limit-mode": PROXY_FLAGS["bandwidth-limit-mode"],
  "tls-enable": { type: "string" },
  "log-level": { type: "string" },
  "state-dir": { type: "string" },
} as const;

/**
 * Builds and checks the config; throws {@linkcode ConfigError} (or a
 * `TypeError` from the flag parser) with what is wrong.
 */
export function adhocConfig(type: typeof ADHOC_TYPES[number], args: string[]): ClientConfig {
  const { values: v, positionals } = parseArgs({
    args: normalizeFlags(args, ["tls-enable"]),
    options: OPTIONS,
    allowPositionals: true,
  });
  if (positionals.length > 0) {
    throw new ConfigError([`unexpected argument "${positionals[0]}"`]);
  }
  if (!v["proxy-name"]) throw new ConfigError(["-n/--proxy_name is required"]);
  const num = (flag: string, value: string | undefined) => {
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!Number.isInteger(n)) throw new ConfigError([`--${flag}: "${value}" is not a number`]);
    return n;
  };
  const bool = (flag: string, value: string | undefined) => {
    if (value === undefined) return undefined;
    if (!["true", "false"].includes(value)) {
      throw new ConfigError([`--${flag}: "${value}" is not true or false`]);
    }
    return value === "true";
  };

  const proxy = proxyFromFlags(type, v);
  const doc = {
    serverAddr: v["server-addr"],
    serverPort: num("server_port", v["server-port"]),
    user: v.user,
    auth: v.token === undefined ? undefined : { token: v.token },
    log: v["log-level"] === undefined ? undefined : { level: v["log-level"] },
    stateDir: v["state-dir"],
    transport: v["tls-enable"] === undefined
      ? undefined
      : { tls: { enable: bool("tls_enable", v["tls-enable"]) } },
    proxies: [proxy],
  };
  // undefined keys vanish in JSON, so only the flags given are checked and set.
  return parseClientConfig(JSON.stringify(doc), "command line").config;
}
