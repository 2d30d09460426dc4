/**
 * dfrp's release, shown by `--version` and sent at login.
 *
 * @example
 * ```ts
 * import { VERSION } from "./version.ts";
 * console.log(`dfrp ${VERSION}`);
 * ```
 *
 * @module
 */

/** The release number. */
export const VERSION = "0.1.0";
