/**
 * frps `allowPorts` ranges.
 *
 * @module
 */

/** One `allowPorts` entry: `{ start, end }` or `{ single }` (0 = unset). */
export interface PortRange {
  start: number;
  end: number;
  single: number;
}

/**
 * Whether a client may bind `port`. An empty list allows every port.
 *
 * @example
 * ```ts
 * import { portAllowed } from "./ports.ts";
 * const allow = [{ start: 2000, end: 3000, single: 0 }, { start: 0, end: 0, single: 3001 }];
 * portAllowed(allow, 2500); // true
 * portAllowed(allow, 3002); // false
 * portAllowed([], 80); // true
 * ```
 */
export function portAllowed(allow: readonly PortRange[], port: number): boolean {
  if (allow.length === 0) return true;
  return allow.some((r) =>
    r.single > 0 ? r.single === port : r.start <= port && port <= (r.end || r.start)
  );
}
