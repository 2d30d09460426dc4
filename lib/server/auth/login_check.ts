/**
 * Everything the server decides about a `Login` before accepting it, in
 * order: the user may log in and its proof was made with its token (the
 * `[[auth.users]]` entry's, else `auth.token`); the `Login` server plugins
 * agree (and may change the user and metas). Wrong proofs (of logins, work
 * and visitor connections) count against the address; a right proof gets in
 * even while the address cools down.
 *
 * @example
 * ```ts
 * import { checkLogin } from "./login_check.ts";
 * import type { ServerServices } from "../services.ts";
 * import type { Login } from "../../protocol/messages.ts";
 * declare const services: ServerServices;
 * declare const login: Login;
 * const { error, token } = await checkLogin(services, login, "nonce", "1.2.3.4:5555");
 * ```
 *
 * @module
 */

import type { ServerConfig } from "../../config/mod.ts";
import type { Logger } from "../../log.ts";
import { boundToTls, verifyProof } from "../../protocol/auth.ts";
import type { Login, NewWorkConn } from "../../protocol/messages.ts";
import { httpPluginsOf, PluginRejected } from "../plugin/http_plugins.ts";
import { FailedLogins, hostOf } from "./rate_limit.ts";
import { sleep } from "../../net/timeout.ts";
import { QuietClose } from "../../transport/server_unwrap.ts";
import { clientToken, loginToken } from "./users.ts";
import {
  checkScopedToken,
  OidcRefusal,
  oidcScopeOn,
  OidcUnavailable,
  verifyOidcLogin,
} from "./oidc.ts";

/** A refusal not worth a log line of its own (its address is cooling down; counted instead). */
export class QuietRefusal extends QuietClose {
  override name = "QuietRefusal";
}

/** How long a wrong login proof from an address that cools down waits for its refusal. */
export const COOLDOWN_ANSWER_DELAY_MS = 1_000;

/** The outcome: `error` is "" when the login may proceed with `token`. */
export interface LoginVerdict {
  error: string;
  token: string;
  /** Seconds left of the address's cooldown (LoginResp's `retryAfter`), when it cools down. */
  retryAfter?: number;
  /** Appended to the refusal's log line; null: no line this time (logged once per interval). */
  logSuffix?: string | null;
}

/** How one wrong proof is answered and logged. */
export interface WrongProof {
  /** Seconds left of the address's cooldown; 0 when it does not cool down. */
  retryAfter: number;
  /** Appended to the log line; null: no line this time. */
  logSuffix: string | null;
  /** The address was cooling down already: answer only after this long. */
  delayMs: number;
}

const guards = new WeakMap<object, FailedLogins>();

function guardOf(config: ServerConfig): FailedLogins {
  let guard = guards.get(config);
  if (!guard) guards.set(config, guard = new FailedLogins(config.auth.maxFailedLogins ?? 5));
  return guard;
}

/**
 * Counts a wrong proof (of any kind) from `remoteAddr` against its address,
 * and says how to answer and log it.
 *
 * @example
 * ```ts
 * import { countWrongProof } from "./login_check.ts";
 * import { defaultServerConfig } from "../../config/mod.ts";
 * const config = defaultServerConfig();
 * const { retryAfter, logSuffix } = countWrongProof(config, "203.0.113.9:4000");
 * console.log(retryAfter, logSuffix); // 0 "" until the fifth wrong proof in a minute
 * ```
 */
export function countWrongProof(config: ServerConfig, remoteAddr: string): WrongProof {
  const guard = guardOf(config);
  const host = hostOf(remoteAddr);
  const already = guard.blockedFor(host) > 0;
  guard.record(host);
  const left = guard.blockedFor(host);
  if (left <= 0) return { retryAfter: 0, logSuffix: "", delayMs: 0 };
  const skipped = guard.logTurn(host);
  const retryAfter = Math.ceil(left / 1000);
  const logSuffix = skipped < 0
    ? null
    : ` (too many wrong proofs from ${host}: cooling down for ${retryAfter} s` +
      (skipped > 0 ? `; ${skipped} more refused since the last line)` : ")");
  return { retryAfter, logSuffix, delayMs: already ? COOLDOWN_ANSWER_DELAY_MS : 0 };
}

/**
 * See the module doc. Mutates `login.user` / `login.metas` when a plugin changed them.
 * `tlsFingerprint` is the fingerprint of the certificate this server showed on
 * the connection, "" when it did not terminate TLS itself: a proof bound to
 * another certificate came through a relay that terminates TLS.
 */
export async function checkLogin(
  services: { readonly config: ServerConfig; readonly log: Logger },
  login: Login,
  nonce: string,
  remoteAddr: string,
  tlsFingerprint = "",
): Promise<LoginVerdict> {
  const { config } = services;
  const { clientNonce } = login;
  const fail = async (error: string): Promise<LoginVerdict> => {
    const wrong = countWrongProof(config, remoteAddr);
    if (wrong.delayMs > 0) await sleep(wrong.delayMs);
    if (wrong.retryAfter === 0) return { error, token: "" };
    return {
      error: `${error} (too many failed logins from ${hostOf(remoteAddr)}: ` +
        `wrong proofs are answered slowly for ${wrong.retryAfter} s)`,
      token: "",
      retryAfter: wrong.retryAfter,
      logSuffix: wrong.logSuffix === null ? null : "",
    };
  };
  let user = login.user;
  let oidcUser: string | undefined;
  if (config.auth.method === "oidc") {
    try {
      oidcUser = await verifyOidcLogin(config, login);
    } catch (err) {
      if (err instanceof OidcRefusal) return await fail(`authorization failed: ${err.message}`);
      if (err instanceof OidcUnavailable) return { error: err.message, token: "" };
      throw err;
    }
  }
  const token = loginToken(config, user);
  if (token === null) return await fail(`authorization failed: unknown user [${user}]`);
  const context = ["login", nonce, clientNonce, user, String(login.tcpMux)];
  const claimed = login.tlsFingerprint ?? "";
  if (!await verifyProof(token, boundToTls(context, claimed), login.proof)) {
    return await fail("authorization failed: token mismatch");
  }
  if (claimed !== "" && claimed !== tlsFingerprint) {
    return await fail(
      tlsFingerprint === ""
        ? `authorization failed: the client received TLS certificate ${claimed}, but its ` +
          "connection reached this server without TLS: something in between terminates TLS " +
          "(a relay; for a TLS proxy of yours, give the client transport.tls.trustedCaFile)"
        : `authorization failed: the client received TLS certificate ${claimed}, but this ` +
          `server's is ${tlsFingerprint}: something in between terminates TLS with its own ` +
          "certificate (a man in the middle)",
    );
  }
  if (oidcUser !== undefined) login.user = user = oidcUser;
  const plugins = httpPluginsOf(services);
  if (plugins.has("Login")) {
    try {
      const content = await plugins.run("Login", {
        version: login.software,
        hostname: login.hostname,
        os: login.os,
        arch: login.arch,
        user,
        timestamp: Math.floor(Date.now() / 1000),
        run_id: login.runId,
        ...(login.clientID ? { client_id: login.clientID } : {}),
        metas: login.metas ?? {},
        pool_count: login.poolCount,
        client_address: remoteAddr,
      });
      if (typeof content.user === "string" && content.user !== user) {
        // Later proofs and encryption keys follow the user's token, so it must not change.
        if (loginToken(config, content.user) !== token) {
          return {
            error:
              `a Login plugin renamed user [${user}] to [${content.user}], whose token differs`,
            token: "",
          };
        }
        login.user = content.user;
      }
      if (content.metas && typeof content.metas === "object") login.metas = content.metas;
    } catch (err) {
      if (err instanceof PluginRejected) return { error: err.message, token: "" };
      throw err;
    }
  }
  return { error: "", token };
}

/**
 * Checks a pooled work connection (tcpMux off) of a logged-in client: its
 * proof uses the token the client logged in with, and the `NewWorkConn`
 * plugins agree. Resolves to "" or the reason to drop it. A wrong proof
 * counts against `remoteAddr` like a failed login; while that address cools
 * down the reason is a {@linkcode QuietRefusal} (logged once per interval by
 * the caller's log line, see `countWrongProof`).
 *
 * @example
 * ```ts
 * import { checkWorkConn } from "./login_check.ts";
 * import type { ServerServices } from "../services.ts";
 * import type { Login, NewWorkConn } from "../../protocol/messages.ts";
 * declare const services: ServerServices, login: Login, msg: NewWorkConn;
 * const denied = await checkWorkConn(services, login, msg, "nonce", "203.0.113.9:4000");
 * ```
 */
export async function checkWorkConn(
  services: { readonly config: ServerConfig; readonly log: Logger },
  login: Login,
  msg: Pick<NewWorkConn, "runId" | "proof" | "accessToken">,
  nonce: string,
  remoteAddr = "",
): Promise<string> {
  const user = login.user;
  const token = clientToken(services, { login });
  if (oidcScopeOn(services.config, "NewWorkConns")) {
    const why = await checkScopedToken(services.config, login, msg.accessToken);
    if (why) {
      const { logSuffix } = countWrongProof(services.config, remoteAddr);
      const reason = `work connection authorization failed: ${why}`;
      if (logSuffix === null) throw new QuietRefusal(reason);
      return reason + logSuffix;
    }
  }
  if (!await verifyProof(token, ["work", nonce, msg.runId], msg.proof)) {
    const { logSuffix } = countWrongProof(services.config, remoteAddr);
    const reason = "work connection authorization failed";
    if (logSuffix === null) throw new QuietRefusal(reason);
    return reason + logSuffix;
  }
  const plugins = httpPluginsOf(services);
  if (!plugins.has("NewWorkConn")) return "";
  try {
    await plugins.run("NewWorkConn", {
      user: { user, metas: login.metas ?? {}, run_id: msg.runId },
      run_id: msg.runId,
      timestamp: Math.floor(Date.now() / 1000),
    });
    return "";
  } catch (err) {
    if (err instanceof PluginRejected) return `work connection rejected: ${err.message}`;
    throw err;
  }
}

/**
 * Checks the token of a heartbeat when OIDC's `auth.additionalScopes` has
 * `HeartBeats`; resolves to "" (also when no token is required) or the reason
 * to end its control. A refused token counts against `remoteAddr`.
 *
 * @example
 * ```ts
 * import { checkPingToken } from "./login_check.ts";
 * import type { ServerServices } from "../services.ts";
 * import type { Login, Ping } from "../../protocol/messages.ts";
 * declare const services: ServerServices, login: Login, ping: Ping;
 * const denied = await checkPingToken(services, login, ping, "203.0.113.9:4000");
 * ```
 */
export async function checkPingToken(
  services: { readonly config: ServerConfig },
  login: Login,
  ping: { accessToken?: unknown },
  remoteAddr: string,
): Promise<string> {
  if (!oidcScopeOn(services.config, "HeartBeats")) return "";
  const why = await checkScopedToken(services.config, login, ping.accessToken);
  if (!why) return "";
  countWrongProof(services.config, remoteAddr);
  return `heartbeat authorization failed: ${why}`;
}
