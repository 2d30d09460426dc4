/**
 * The read model that logs, the admin API and metrics use: counters per
 * proxy ({@linkcode ProxyStats}) and what is known of every client that
 * logged in ({@linkcode ClientInfo}). Counting is a field increment on the
 * data path.
 *
 * @example
 * ```ts
 * import { ProxyStats } from "./stats.ts";
 * const stats = new ProxyStats("ssh", "tcp");
 * stats.trafficIn += 100;
 * ```
 *
 * @module
 */

/** Counters of one proxy. */
/** How many errors a proxy's counters keep (the dashboard's detail view shows them). */
export const RECENT_ERRORS = 10;

export class ProxyStats {
  /** Bytes from users towards the client's service. */
  trafficIn = 0;
  /** Bytes from the client's service back to users. */
  trafficOut = 0;
  /** User connections open now. */
  curConns = 0;
  /** User connections ever accepted. */
  totalConns = 0;
  /** The run id of the client that holds the proxy now; unset when offline. */
  owner: string | undefined;
  /** The run id of the client that registered the proxy last; kept when offline. */
  clientRunId = "";
  /** The client's login user. */
  user = "";
  /** frpc's `clientID` of that client ("" when it sets none). */
  clientID = "";
  /** The proxy's config as the client sent it (annotations included). */
  config: Record<string, unknown> = {};
  /** When the proxy last started; unset before it first starts. */
  lastStartTime: Date | undefined;
  /** When the proxy last closed; unset while it never closed. */
  lastCloseTime: Date | undefined;
  /** The last {@linkcode RECENT_ERRORS} things that went wrong for it on the server, oldest first. */
  readonly recentErrors: { time: Date; message: string }[] = [];

  /** Remembers one error (a refused registration, a user connection that found no work connection). */
  noteError(message: string): void {
    this.recentErrors.push({ time: new Date(), message });
    if (this.recentErrors.length > RECENT_ERRORS) this.recentErrors.shift();
  }

  /**
   * @param name proxy name
   * @param type proxy type
   */
  constructor(readonly name: string, readonly type: string) {}
}

/**
 * One client that logged in: online while its control runs, kept offline
 * afterwards (with its last-seen time) until the server stops.
 *
 * @example
 * ```ts
 * import { ClientInfo } from "./stats.ts";
 * const info = new ClientInfo("0123456789abcdef");
 * info.hostname = "laptop";
 * console.log(info.online);
 * ```
 */
export class ClientInfo {
  /** Whether a client with this run id is logged in now. */
  online = false;
  /** Login user, hostname, software version, OS and architecture, as the client sent them. */
  user = "";
  /** frpc's `clientID`, stable across the client's restarts ("" when it sets none). */
  clientID = "";
  hostname = "";
  version = "";
  os = "";
  arch = "";
  /** The client's address ("ip:port") of its last login. */
  address = "";
  /** First and latest login; when it went offline (unset while online). */
  firstConnectedAt = new Date();
  lastConnectedAt = new Date();
  disconnectedAt: Date | undefined;
  /** Ends the online control (the client will reconnect); unset while offline. */
  disconnect: ((reason: string) => void) | undefined;

  /** @param runId the client's run id, its key here */
  constructor(readonly runId: string) {}
}

/** Offline clients the registry keeps; every restart of a client adds one. */
export const MAX_OFFLINE_CLIENTS = 1000;

/**
 * Drops the longest-offline entries of `clients` beyond `keep`, so a server
 * whose clients restart often does not grow without bound.
 *
 * @example
 * ```ts
 * import { ClientInfo, forgetOldOfflineClients } from "./stats.ts";
 * const clients = new Map([["0123456789abcdef", new ClientInfo("0123456789abcdef")]]);
 * forgetOldOfflineClients(clients, 0); // the entry is offline: gone
 * ```
 */
export function forgetOldOfflineClients(
  clients: Map<string, ClientInfo>,
  keep = MAX_OFFLINE_CLIENTS,
): void {
  const offline = [...clients.values()].filter((c) => !c.online);
  if (offline.length <= keep) return;
  const since = (c: ClientInfo) => c.disconnectedAt?.getTime() ?? 0;
  offline.sort((a, b) => since(a) - since(b));
  for (const c of offline.slice(0, offline.length - keep)) clients.delete(c.runId);
}
