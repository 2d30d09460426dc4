/**
 * The few assertions the tests use (`@std/assert` is on JSR, which this
 * machine cannot reach; `node:assert` lacks pattern helpers with good messages).
 *
 * @example
 * ```ts
 * import { assertEquals } from "./_assert.ts";
 * assertEquals(1 + 1, 2);
 * ```
 *
 * @module
 */

import { deepStrictEqual } from "node:assert";

/** Deep equality, with a diff on failure. */
export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  deepStrictEqual(actual, expected, message);
}

/** `text` matches `pattern`. */
export function assertMatch(text: string, pattern: RegExp, message?: string): void {
  if (!pattern.test(text)) {
    throw new Error(
      message ?? `expected ${JSON.stringify(text.slice(0, 2000))} to match ${pattern}`,
    );
  }
}

/** `text` does not match `pattern`. */
export function assertNotMatch(text: string, pattern: RegExp, message?: string): void {
  if (pattern.test(text)) {
    throw new Error(
      message ?? `expected ${JSON.stringify(text.slice(0, 2000))} not to match ${pattern}`,
    );
  }
}

/** A truthy value. */
export function assert(value: unknown, message = "assertion failed"): asserts value {
  if (!value) throw new Error(message);
}
