/**
 * Schema pieces shared by frps and frpc configs (frp's `common.go`).
 *
 * @module
 */

import { bool, enumOf, int, list, map, obj, port, str, unsupported } from "./schema.ts";

/** frp's log levels. */
export const LOG_LEVEL_VALUES = ["trace", "debug", "info", "warn", "error"] as const;

/**
 * `log.*`: `to` is `"console"` or a file rotated daily (`lib/log_file.ts`);
 * `maxDays` only matters for log files; dfrp never colours its lines, so
 * `disablePrintColor` changes nothing.
 */
export function logSchema() {
  return obj({
    to: str("console"),
    level: enumOf(LOG_LEVEL_VALUES, "info"),
    maxDays: int(3, { min: 0 }),
    disablePrintColor: bool(false),
  });
}

/** `auth.additionalScopes` values. */
export const AUTH_SCOPES = ["HeartBeats", "NewWorkConns"] as const;

/** `auth.tokenSource` / `auth.oidc.tokenSource` (frp's ValueSource). */
export const tokenSourceSchema = obj({
  type: enumOf(["file", "exec"] as const, ""),
  file: obj({ path: str() }),
  exec: obj({
    command: str(),
    args: list(str()),
    env: list(obj({ name: str(), value: str() })),
  }),
});

/** `auth.method`: a shared token, or OIDC tokens (docs/auth.md). */
export const authMethodSchema = enumOf(["token", "oidc"] as const, "token");

/** `quic.*` transport options. */
export const quicSchema = obj({
  keepalivePeriod: int(10),
  maxIdleTimeout: int(30),
  maxIncomingStreams: int(100000),
});

/** Certificate files shared by TLS sections. */
export const tlsFileFields = {
  certFile: str(),
  keyFile: str(),
  trustedCaFile: str(),
  serverName: str(),
} as const;

/** The warning for `webServer.pprofEnable`. */
export const PPROF_WHY = "Go's pprof profiler does not exist in dfrp (a Deno program), ignored; " +
  "profile with `deno run --inspect` (Chrome DevTools: CPU profiles, V8 heap snapshots) or " +
  "`deno run --v8-flags=--prof` (docs/admin.md#profiling)";

/** `webServer.*` (dashboard / admin API). */
export const webServerSchema = obj({
  addr: str("127.0.0.1"),
  port: port(),
  user: str(),
  password: str(),
  /** Beyond frp: extra `Host` names the admin API answers (see docs/admin.md). */
  allowedHosts: list(str()),
  /** Beyond frp: wrong basic-auth passwords per address per minute before a 429 cooldown; 0 = no limit. */
  maxFailedLogins: int(5, { min: 0 }),
  assetsDir: unsupported(str()),
  /** Go's pprof: no such thing in a Deno program; the warning says what to use. */
  pprofEnable: unsupported(bool(false), PPROF_WHY),
  tls: unsupported(obj({ ...tlsFileFields })),
});

/** `metadatas` / `annotations`: free string maps. */
export const stringMap = () => map(str());
