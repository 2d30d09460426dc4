/**
 * Registers every server-wide feature of the server layer; imported once by
 * the server for its side effects. Each feature file calls
 * `registerServerFeature`. The admin API and dashboard sit a layer above and
 * are registered by the entry points (`lib/admin/server/feature.ts`).
 *
 * @example
 * ```ts
 * import "./builtin_features.ts";
 * ```
 *
 * @module
 */
import "./group/tcp_group.ts";
import "./vhost/http_vhost.ts";
import "./vhost/https_vhost.ts";
import "./vhost/tcpmux_vhost.ts";
import "./visitor/secret_proxies.ts";
import "./ssh_gateway/feature.ts";
import "./nathole/stun_responder.ts";
