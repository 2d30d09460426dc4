/**
 * "Did you mean" suggestions for misspelled keys and values.
 *
 * @module
 */

/**
 * Levenshtein distance, case-insensitive because frp keys are.
 *
 * @example
 * ```ts
 * import { editDistance } from "./suggest.ts";
 * editDistance("remotPort", "remotePort"); // 1
 * ```
 */
export function editDistance(a: string, b: string): number {
  a = a.toLowerCase();
  b = b.toLowerCase();
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
    }
    prev = cur;
  }
  return prev[b.length];
}

/**
 * The closest candidate, if close enough to be a plausible typo
 * (at most a third of the word, minimum 1, maximum 3 edits).
 *
 * @example
 * ```ts
 * import { suggest } from "./suggest.ts";
 * suggest("subdomian", ["subdomain", "customDomains"]); // "subdomain"
 * ```
 */
export function suggest(word: string, candidates: Iterable<string>): string | undefined {
  const limit = Math.min(3, Math.max(1, Math.floor(word.length / 3)));
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return bestD <= limit ? best : undefined;
}
