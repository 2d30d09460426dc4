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

/** The fields after the command name (which may hold spaces): utime and stime are the 12th and 13th. */
function statFields(pid: number): string[] {
  return Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].split(" ");
}
