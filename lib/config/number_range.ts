/**
 * frp's template functions for port ranges: `parseNumberRange "6000-6006,6007"`
 * and `parseNumberRangePair "6000-6006" "7000-7006"`, with frp's rules
 * (comma-separated items, each a number or `low-high`, inclusive).
 *
 * @module
 */

/** One element of `parseNumberRangePair`, read in templates as `$v.First` / `$v.Second`. */
export class NumberPair {
  constructor(readonly First: number, readonly Second: number) {}
}

/**
 * Most numbers one call may produce: frp has no limit, but `1-1000000000`
 * would exhaust memory before anything useful happened.
 */
export const MAX_RANGE_NUMBERS = 1_000_000;

/**
 * Expands `"1000-2000,2001,3000-4000"`. Throws an Error worded like frp's.
 *
 * @example
 * ```ts
 * import { parseNumberRange } from "./number_range.ts";
 * parseNumberRange("6000-6002,6010"); // [6000, 6001, 6002, 6010]
 * ```
 */
export function parseNumberRange(rangeStr: string): number[] {
  const numbers: number[] = [];
  for (const item of rangeStr.trim().split(",")) {
    const bounds = item.split("-");
    if (bounds.length === 1) {
      numbers.push(parseInt64(bounds[0]));
    } else if (bounds.length === 2) {
      const low = parseInt64(bounds[0]);
      const high = parseInt64(bounds[1]);
      if (high < low) {
        throw new Error(`range number is invalid: ${item.trim()} ends below its start`);
      }
      if (numbers.length + (high - low + 1) > MAX_RANGE_NUMBERS) {
        throw new Error(`range number is too large: more than ${MAX_RANGE_NUMBERS} numbers`);
      }
      for (let n = low; n <= high; n++) numbers.push(n);
    } else {
      throw new Error(`range number is invalid: "${item.trim()}"`);
    }
    if (numbers.length > MAX_RANGE_NUMBERS) {
      throw new Error(`range number is too large: more than ${MAX_RANGE_NUMBERS} numbers`);
    }
  }
  return numbers;
}

/**
 * Zips two ranges into pairs; they must expand to the same count.
 *
 * @example
 * ```ts
 * import { parseNumberRangePair } from "./number_range.ts";
 * parseNumberRangePair("6000-6001", "7000,7005");
 * // [NumberPair { First: 6000, Second: 7000 }, NumberPair { First: 6001, Second: 7005 }]
 * ```
 */
export function parseNumberRangePair(first: string, second: string): NumberPair[] {
  const a = parseNumberRange(first);
  const b = parseNumberRange(second);
  if (a.length !== b.length) {
    throw new Error(
      `first and second range numbers are not in pairs (${a.length} and ${b.length} numbers)`,
    );
  }
  return a.map((n, i) => new NumberPair(n, b[i]));
}

// Go's strconv.ParseInt(s, 10, 64): optional sign, decimal digits only.
const INT = /^[+-]?[0-9]+$/;

function parseInt64(s: string): number {
  const t = s.trim();
  if (!INT.test(t)) {
    throw new Error(`range number is invalid, parsing "${t}": invalid syntax`);
  }
  const n = Number(t);
  if (!Number.isSafeInteger(n)) {
    throw new Error(`range number is invalid, parsing "${t}": value out of range`);
  }
  return n;
}
