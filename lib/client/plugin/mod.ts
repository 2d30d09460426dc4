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
import "./http2http.ts";
import "./http2https.ts";
import "./https2http.ts";
import "./https2https.ts";
import "./tls2raw.ts";
import "./http_proxy.ts";
import "./static_file.ts";
import "./virtual_net.ts";
