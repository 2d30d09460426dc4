/**
 * Which public ports proxies may take, and who holds which: `allowPorts`,
 * `maxPortsPerClient`, and ports already taken by another proxy.
 *
 * @example
 * ```ts
 * import { PortManager } from "./ports.ts";
 * const ports = new PortManager([{ start: 6000, end: 6010 }], 2);
 * ports.check("client-1", 6000); // "" when allowed
 * ports.claim("client-1", 6000);
 * ports.release("client-1", 6000);
 * ```
 *
 * @module
 */

/** One `allowPorts` entry as frp writes it. */
export interface PortRange {
  start?: number;
  end?: number;
  single?: number;
}

/** See the module doc. */
export class PortManager {
  #byClient = new Map<string, Set<number>>();

  /**
   * @param allow `allowPorts`; empty allows every port
   * @param maxPerClient `maxPortsPerClient`; 0 means no limit
   */
  constructor(readonly allow: readonly PortRange[], readonly maxPerClient: number) {}

  /** Whether `allowPorts` admits `port`. */
  allowed(port: number): boolean {
    if (this.allow.length === 0) return true;
    // The loader fills absent numbers with 0, so 0 means "not given" here.
    return this.allow.some((r) =>
      r.single ? r.single === port : (r.start || 0) <= port && port <= (r.end || r.start || 0)
    );
  }

  /**
   * Why `client` may not take `port`, or "" when it may. Port 0 (any free
   * port) passes here; the listener picks one and the caller checks again.
   */
  check(client: string, port: number): string {
    if (port !== 0 && !this.allowed(port)) return `port ${port} is not allowed (allowPorts)`;
    const held = this.#byClient.get(client)?.size ?? 0;
    if (this.maxPerClient > 0 && held >= this.maxPerClient) {
      return `exceeds maxPortsPerClient (${this.maxPerClient})`;
    }
    return "";
  }

  /** Records that `client` holds `port`. */
  claim(client: string, port: number): void {
    let set = this.#byClient.get(client);
    if (!set) this.#byClient.set(client, set = new Set());
    set.add(port);
  }

  /** Forgets that `client` holds `port`. */
  release(client: string, port: number): void {
    releasedAt.set(port, Date.now());
    const set = this.#byClient.get(client);
    set?.delete(port);
    if (set?.size === 0) this.#byClient.delete(client);
  }

  /**
   * Binds a TCP listener for a proxy on `hostname:port` (0 = a free port
   * within `allowPorts`), or throws an Error whose message a client can show.
   */
  listenTcp(hostname: string, port: number): Deno.TcpListener {
    if (port !== 0) return bindOrExplain(hostname, port);
    if (this.allow.length === 0) return bindOrExplain(hostname, 0);
    for (const range of this.allow) {
      const start = range.single || range.start || 0;
      const end = range.single || range.end || start;
      for (let p = start; p <= end; p++) {
        try {
          return Deno.listen({ hostname, port: p, transport: "tcp" });
        } catch {
          // Taken; try the next one.
        }
      }
    }
    throw new Error("no free port left in allowPorts");
  }
}

function bindOrExplain(hostname: string, port: number): Deno.TcpListener {
  try {
    return Deno.listen({ hostname, port, transport: "tcp" });
  } catch (err) {
    if (err instanceof Deno.errors.AddrInUse) throw new Error(`port ${port} is already in use`);
    if (err instanceof Deno.errors.PermissionDenied) {
      throw new Error(`no permission to bind port ${port}`);
    }
    throw new Error(`cannot listen on ${hostname}:${port}: ${(err as Error).message}`);
  }
}

/** When each port was last given back, process-wide (see {@linkcode listenTcpSettled}). */
const releasedAt = new Map<number, number>();
/** How long a port given back may still be held by its closing listener. */
const SETTLE_MS = 1_000;

/**
 * `ports.listenTcp`, retried for a moment when the port was given back just
 * before: Deno frees a closed listener's socket only once its pending accept
 * has unwound, so a proxy restarted on the same port (a reload, a health
 * check coming back) can briefly find it still in use.
 *
 * @example
 * ```ts
 * import { listenTcpSettled, PortManager } from "./ports.ts";
 * const listener = await listenTcpSettled(new PortManager([], 0), "127.0.0.1", 0);
 * listener.close();
 * ```
 */
export async function listenTcpSettled(
  ports: PortManager,
  hostname: string,
  port: number,
): Promise<Deno.TcpListener> {
  for (;;) {
    try {
      return ports.listenTcp(hostname, port);
    } catch (err) {
      const released = releasedAt.get(port);
      if (port === 0 || released === undefined || Date.now() - released > SETTLE_MS) throw err;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}
