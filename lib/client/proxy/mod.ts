/**
 * Registers every client proxy type; import it once for its side effects.
 *
 * @example
 * ```ts
 * import "./mod.ts";
 * ```
 *
 * @module
 */

import "./tcp.ts";
import "./http.ts";
import "./https.ts";
import "./tcpmux.ts";
import "./udp.ts";
import "./stcp.ts";
import "./xtcp.ts";
