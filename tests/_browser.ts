/**
 * Where the browser tests find Chromium (Debian's `chromium` package), and
 * whether it is there: without it those tests are skipped, not failed.
 *
 * @example
 * ```ts
 * import { CHROMIUM, hasChromium } from "./_browser.ts";
 * console.log(hasChromium ? `browser tests use ${CHROMIUM}` : "browser tests skipped");
 * ```
 *
 * @module
 */

/** The Chromium binary playwright-core drives. */
export const CHROMIUM = "/usr/bin/chromium";

/** Whether {@linkcode CHROMIUM} is installed. */
export const hasChromium: boolean = (() => {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
})();
