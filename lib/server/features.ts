/**
 * Registers every server-wide feature; imported once by the server for its
 * side effects. Each feature file calls `registerServerFeature`.
 *
 * @example
 * ```ts
 * import "./features.ts";
 * ```
 *
 * @module
 */
import "./group/tcp_group.ts";
import "./vhost/http_vhost.ts";
import "./vhost/https_vhost.ts";
import "./vhost/tcpmux_vhost.ts";
import "../admin/server/feature.ts";
import "./visitor/secret_proxies.ts";
import "./ssh_gateway/feature.ts";
import "./nathole/stun_responder.ts";
