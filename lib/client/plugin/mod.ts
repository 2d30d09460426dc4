/**
 * Registers every client plugin; import it once for its side effects.
 *
 * @example
 * ```ts
 * import "./mod.ts";
 * ```
 *
 * @module
 */

import "./unix_domain_socket.ts";
import "./socks5.ts";
