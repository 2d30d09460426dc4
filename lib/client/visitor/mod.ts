/**
 * Registers every visitor type; import it once for its side effects.
 *
 * @example
 * ```ts
 * import "./mod.ts";
 * ```
 *
 * @module
 */

import "./stcp.ts";
import "./sudp.ts";
import "./xtcp.ts";
import "./virtual_net.ts";
