/**
 * CPU time a process has used so far, from `/proc/PID/stat` (Linux): what a
 * bench divides by the bytes or requests it moved, a figure that other load
 * on a shared machine disturbs far less than throughput.
 *
 * @example
 * ```ts
 * import { cpuSeconds } from "./_proc_cpu.ts";
 * const before = cpuSeconds(Deno.pid);
 * console.log(cpuSeconds(Deno.pid) - before);
 * ```
 *
 * @module
 */

/** Clock ticks per second of `/proc` times (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

/**
 * User plus system CPU seconds of process `pid`.
 *
 * @example
 * ```ts
 * import { cpuSeconds } from "./_proc_cpu.ts";
 * console.log(cpuSeconds(Deno.pid).toFixed(2));
 * ```
 */
export function cpuSeconds(pid: number): number {
  const fields = statFields(pid);
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/**
 * User CPU seconds of process `pid`: JavaScript and the runtime, not the kernel.
 *
 * @example
 * ```ts
 * import { userSeconds } from "./_proc_cpu.ts";
 * console.log(userSeconds(Deno.pid).toFixed(2));
 * ```
 */
export function userSeconds(pid: number): number {
  return Number(statFields(pid)[11]) / TICKS_PER_SECOND;
}

/** CPU µs per request a server and a client process spent on some work. */
export interface CpuPerRequest {
  server: number;
  /** The server's user time alone: JavaScript and the runtime. */
  serverUser: number;
  client: number;
}

/**
 * Runs `work`, which resolves to how many requests it made, and returns the
 * CPU µs per request the `server` and `client` processes spent meanwhile.
 *
 * @example
 * ```ts
 * import { cpuPerRequest } from "./_proc_cpu.ts";
 * const cpu = await cpuPerRequest(Deno.pid, Deno.pid, () => Promise.resolve(1));
 * console.log(cpu.server.toFixed(1));
 * ```
 */
export async function cpuPerRequest(
  server: number,
  client: number,
  work: () => Promise<number>,
): Promise<CpuPerRequest> {
  const s0 = cpuSeconds(server), u0 = userSeconds(server), c0 = cpuSeconds(client);
  const requests = await work();
  return {
    server: (cpuSeconds(server) - s0) * 1e6 / requests,
    serverUser: (userSeconds(server) - u0) * 1e6 / requests,
    client: (cpuSeconds(client) - c0) * 1e6 / requests,
  };
}

/** The fields after the command name (which may hold spaces): utime and stime are the 12th and 13th. */
function statFields(pid: number): string[] {
  return Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].split(" ");
}
