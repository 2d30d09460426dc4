/**
 * The ports a user with `allowPorts` in its `[[auth.users]]` entry may take:
 * a {@linkcode PortManager} view that admits a port only when both the
 * user's ranges and the server's `allowPorts` do, picks "any free port"
 * (`remotePort = 0`) inside the user's ranges, and keeps its bookkeeping
 * (`maxPortsPerClient`) in the server's manager.
 *
 * @example
 * ```ts
 * import { UserPorts } from "./user_ports.ts";
 * import { PortManager } from "../ports.ts";
 * const server = new PortManager([], 0);
 * const alice = new UserPorts(server, [{ start: 6000, end: 6009 }]);
 * alice.check("run-1", 7000); // "port 7000 is not allowed (allowPorts)"
 * ```
 *
 * @module
 */

import { PortManager, type PortRange } from "../ports.ts";

/** See the module doc. */
export class UserPorts extends PortManager {
  /**
   * @param server the server-wide manager
   * @param ranges the user's `allowPorts` (non-empty)
   */
  constructor(readonly server: PortManager, ranges: readonly PortRange[]) {
    super(ranges, server.maxPerClient);
  }

  /** Admitted by the user's ranges and the server's. */
  override allowed(port: number): boolean {
    return super.allowed(port) && this.server.allowed(port);
  }

  /** The server's verdict, narrowed to the user's ranges. */
  override check(client: string, port: number): string {
    if (port !== 0 && !this.allowed(port)) return `port ${port} is not allowed (allowPorts)`;
    return this.server.check(client, port);
  }

  /** Recorded in the server's manager. */
  override claim(client: string, port: number): void {
    this.server.claim(client, port);
  }

  /** Released in the server's manager. */
  override release(client: string, port: number): void {
    this.server.release(client, port);
  }

  /** Binds within the user's ranges; a port the server forbids is given back. */
  override listenTcp(hostname: string, port: number): Deno.TcpListener {
    const listener = super.listenTcp(hostname, port);
    if (!this.server.allowed(listener.addr.port)) {
      listener.close();
      throw new Error(`port ${listener.addr.port} is not allowed (allowPorts)`);
    }
    return listener;
  }
}
