/**
 * "Did you mean" suggestions for misspelled keys and values.
 *
 * @module
 */

/**
 * Edit distance counting a swap of neighbours as one edit (optimal string
 * alignment), case-insensitive because frp keys are.
 *
 * @example
 * ```ts
 * import { editDistance } from "./suggest.ts";
 * editDistance("remotPort", "remotePort"); // 1
 * editDistance("levle", "level"); // 1
 * ```
 */
export function editDistance(a: string, b: string): number {
  a = a.toLowerCase();
  b = b.toLowerCase();
  const d: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    d.push([i]);
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        d[i][j] = j;
        continue;
      }
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
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
