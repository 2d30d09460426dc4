/**
 * The client's half of the handshakes: dial, send the magic, answer the
 * server's challenge for a login or a pooled work connection.
 *
 * @example
 * ```ts
 * import { dialServer, login } from "./login.ts";
 * import { defaultClientConfig } from "../config/mod.ts";
 * const cfg = defaultClientConfig();
 * const conn = await dialServer(cfg);
 * const { runId } = await login(conn, cfg, null);
 * ```
 *
 * @module
 */

import type { ClientConfig } from "../config/mod.ts";
import { writeAll } from "../net/duplex.ts";
import { withTimeout } from "../net/timeout.ts";
import { log } from "../log.ts";
import { boundToTls, prove, randomHex, verifyProof } from "../protocol/auth.ts";
import { expectMessage, ProtocolError, readMessage } from "../protocol/codec.ts";
import { ControlChannel } from "../protocol/control_channel.ts";
import { MAGIC } from "../protocol/magic.ts";
import { PROTOCOL_VERSION, type ServerHello } from "../protocol/messages.ts";
import { proveResume, resumeKey } from "../protocol/resume.ts";
import { rememberServer, serverKey } from "../transport/known_servers.ts";
import { dialServerTransport, type ServerConn } from "../transport/select.ts";
import type { TransportConn } from "../transport/transport.ts";
import { VERSION } from "../version.ts";
import { oidcFields, OidcTokenError } from "./oidc_token.ts";

/** The login's OIDC token; a failure to get one is a login failure. */
async function oidcLoginFields(cfg: ClientConfig): Promise<{ accessToken?: string }> {
  try {
    return await oidcFields(cfg);
  } catch (err) {
    if (err instanceof OidcTokenError) throw new LoginError(err.message);
    throw err;
  }
}

/**
 * The server refused the login; `message` is its reason. `retryAfter` (in
 * seconds) is set when the refusal was about the address's rate limit
 * rather than this client: try again after that long instead of giving up.
 */
export class LoginError extends Error {
  override name = "LoginError";

  /**
   * @param message the server's reason
   * @param retryAfter seconds to wait before trying again, when rate-limited
   */
  constructor(message: string, readonly retryAfter?: number) {
    super(message);
  }
}

/**
 * The delay a refusal names: the `retryAfter` field, or (servers before it
 * existed) the "try again in N s" of a rate-limit refusal.
 */
function retryAfterOf(resp: { error: string; retryAfter?: unknown }): number | undefined {
  if (typeof resp.retryAfter === "number" && resp.retryAfter > 0) {
    return Math.min(resp.retryAfter, 3600);
  }
  const old = resp.error.match(/^too many failed logins from \S+; try again in (\d+) s$/);
  return old ? Number(old[1]) : undefined;
}

/** How long the server has to answer each handshake step. */
export const HANDSHAKE_TIMEOUT_MS = 10_000;

/**
 * Dials `serverAddr:serverPort`, sends the magic and reads the server's hello.
 *
 * @example
 * ```ts
 * import { dialServer } from "./login.ts";
 * import { defaultClientConfig } from "../config/mod.ts";
 * const conn = await dialServer(defaultClientConfig());
 * ```
 */
export async function dialServer(
  cfg: ClientConfig,
): Promise<ServerConn & { hello: ServerHello }> {
  const conn = await dialServerTransport(cfg);
  try {
    await writeAll(conn, MAGIC);
    const hello = await withTimeout(
      expectHello(conn),
      HANDSHAKE_TIMEOUT_MS,
      "waiting for the server's hello",
    );
    return Object.assign(conn, { hello });
  } catch (err) {
    conn.close();
    throw err;
  }
}

/** The server's hello, or its reason for refusing the connection outright. */
async function expectHello(conn: TransportConn): Promise<ServerHello> {
  const msg = await readMessage(conn);
  if (msg?.type === "LoginResp" && msg.error) throw new LoginError(msg.error);
  if (msg?.type === "ServerHello") return msg;
  throw new ProtocolError(
    msg === null
      ? "connection closed while waiting for the server's hello"
      : `expected ServerHello, got ${msg.type}`,
  );
}

/** The client's side of a run id: what it needs to keep the id on its next login. */
export interface RunIdState {
  runId: string;
  /** The resume key of the login that got `runId` (`lib/protocol/resume.ts`). */
  resumeKey: string;
}

/**
 * Logs in on a fresh connection; resolves to the run id the server assigned
 * (the previous one when the server let the client resume it) and its resume key.
 * Throws {@linkcode LoginError} when the server refuses, or when it cannot
 * prove that it knows the token (a fake server).
 *
 * @example
 * ```ts
 * import { dialServer, login } from "./login.ts";
 * import { defaultClientConfig } from "../config/mod.ts";
 * const cfg = defaultClientConfig();
 * const { runId } = await login(await dialServer(cfg), cfg, null);
 * ```
 */
export async function login(
  conn: TransportConn & { hello: ServerHello; serverFingerprint?: string; serverIdentity?: string },
  cfg: ClientConfig,
  previous: RunIdState | null,
): Promise<RunIdState> {
  const clientNonce = randomHex(32);
  const token = cfg.auth.token;
  const tcpMux = cfg.transport.tcpMux;
  const tlsFingerprint = conn.serverFingerprint ?? "";
  const loginContext = ["login", conn.hello.nonce, clientNonce, cfg.user, String(tcpMux)];
  const channel = new ControlChannel(conn);
  await channel.send({
    type: "Login",
    version: PROTOCOL_VERSION,
    software: VERSION,
    hostname: Deno.hostname?.() ?? "",
    os: Deno.build.os,
    arch: Deno.build.arch,
    user: cfg.user,
    runId: previous?.runId ?? "",
    ...(previous
      ? { resumeProof: await proveResume(previous.resumeKey, conn.hello.nonce, previous.runId) }
      : {}),
    poolCount: cfg.transport.poolCount,
    tcpMux,
    clientNonce,
    tlsFingerprint,
    proof: await prove(token, boundToTls(loginContext, tlsFingerprint)),
    metas: cfg.metadatas,
    ...(cfg.clientID ? { clientID: cfg.clientID } : {}),
    ...await oidcLoginFields(cfg),
  });
  const resp = await withTimeout(
    expectMessage(conn, "LoginResp"),
    HANDSHAKE_TIMEOUT_MS,
    "waiting for the login response",
  );
  if (resp.error) throw new LoginError(resp.error, retryAfterOf(resp));
  const serverContext = ["server", clientNonce, conn.hello.nonce, resp.runId];
  if (!await verifyProof(token, boundToTls(serverContext, tlsFingerprint), resp.proof)) {
    throw new LoginError(
      "the server could not prove it knows the token; is it really the dfrp server?",
    );
  }
  if (conn.serverIdentity === "new") firstUse(cfg, tlsFingerprint);
  return {
    runId: resp.runId,
    resumeKey: await resumeKey(token, clientNonce, conn.hello.nonce, resp.runId),
  };
}

/** Server certificates already announced by this process (without a state dir, each login is a first use). */
const announced = new Set<string>();

/**
 * Remembers a server's certificate in `known_servers` and prints its
 * fingerprint for the user to compare. Called only after the login: the
 * server has then proved it holds the token for this very certificate.
 */
function firstUse(cfg: ClientConfig, fingerprint: string): void {
  let where = "";
  try {
    const file = rememberServer(cfg, fingerprint);
    where = file ? ` (remembered in ${file})` : " (not remembered: no state directory)";
  } catch (err) {
    where = ` (could not be remembered: ${(err as Error).message})`;
  }
  const id = `${serverKey(cfg)} ${fingerprint}`;
  if (announced.has(id)) return;
  announced.add(id);
  log.info(
    `first connection to ${serverKey(cfg)}: server certificate SHA-256 fingerprint ` +
      `${fingerprint}; compare it with the one dfrps printed at start-up${where}`,
  );
}

/**
 * Dials a pooled work connection (tcpMux off) and proves it belongs to `runId`.
 *
 * @example
 * ```ts
 * import { dialWorkConn } from "./login.ts";
 * import { defaultClientConfig } from "../config/mod.ts";
 * const conn = await dialWorkConn(defaultClientConfig(), "0123456789abcdef");
 * ```
 */
export async function dialWorkConn(cfg: ClientConfig, runId: string): Promise<TransportConn> {
  const conn = await dialServer(cfg);
  try {
    await new ControlChannel(conn).send({
      type: "NewWorkConn",
      runId,
      proof: await prove(cfg.auth.token, ["work", conn.hello.nonce, runId]),
      ...await oidcFields(cfg, "NewWorkConns"),
    });
    return conn;
  } catch (err) {
    conn.close();
    throw err;
  }
}
