/**
 * The route table shared by the http, https and tcpmux proxy types: which
 * proxy serves a request for a host name, a URL path, and an HTTP user.
 *
 * Rules, as frp's:
 * - host names match case-insensitively and without a port; an exact domain
 *   wins over a wildcard, and `*.example.com` also matches
 *   `a.b.example.com` (the closest wildcard wins);
 * - within a domain the longest matching `location` prefix wins (`""` = `/`);
 * - routes with a `routeByHTTPUser` win for that user over routes without;
 * - proxies in the same `loadBalancer.group` share one route and take turns;
 *   a second proxy on a taken route is refused unless it joins the group with
 *   the same `groupKey` and belongs to the same user as the group's first
 *   member.
 *
 * @example
 * ```ts
 * import { VhostRouter } from "./router.ts";
 * const router = new VhostRouter<string>();
 * router.add({ domain: "*.example.com", location: "/", httpUser: "" }, { name: "web", value: "web" });
 * router.find("a.example.com:8080", "/index.html", ""); // "web"
 * ```
 *
 * @module
 */

/** Where a route applies. */
export interface RouteKey {
  /** A domain, or a wildcard like `*.example.com`. */
  domain: string;
  /** URL path prefix; "" means "/". */
  location: string;
  /** `routeByHTTPUser`; "" matches every user. */
  httpUser: string;
}

/** A proxy claiming a route. */
export interface RouteMember<T> {
  /** The proxy name (unique on the server). */
  name: string;
  /** `loadBalancer.group`; "" or absent = not grouped. */
  group?: string;
  /** `loadBalancer.groupKey`. */
  groupKey?: string;
  /** The owner's login user: a group takes members of its creator's user only. */
  user?: string;
  value: T;
}

interface Route<T> {
  location: string;
  httpUser: string;
  group: string;
  groupKey: string;
  user: string;
  members: RouteMember<T>[];
  next: number;
}

/** Lower-cases and strips a trailing port and dot from a Host header value. */
export function normalizeHost(host: string): string {
  let h = host.trim().toLowerCase();
  if (h.startsWith("[")) {
    const end = h.indexOf("]");
    return end > 0 ? h.slice(0, end + 1) : h;
  }
  const colon = h.lastIndexOf(":");
  if (colon >= 0 && h.indexOf(":") === colon) h = h.slice(0, colon);
  return h.endsWith(".") ? h.slice(0, -1) : h;
}

function normalizeLocation(location: string): string {
  return location === "" ? "/" : location;
}

/** See the module doc. */
export class VhostRouter<T> {
  #domains = new Map<string, Route<T>[]>();

  /** Adds `member` on `key`; throws an Error a client can show when the route is taken. */
  add(key: RouteKey, member: RouteMember<T>): void {
    const domain = normalizeHost(key.domain);
    const location = normalizeLocation(key.location);
    const routes = this.#domains.get(domain) ?? [];
    const existing = routes.find((r) => r.location === location && r.httpUser === key.httpUser);
    const group = member.group ?? "";
    const groupKey = member.groupKey ?? "";
    if (existing) {
      if (!group || existing.group !== group) {
        throw new Error(
          `router config conflict: ${domain}${location} is already used by [${
            existing.members[0].name
          }]`,
        );
      }
      if (existing.user !== (member.user ?? "")) {
        throw new Error(`group [${group}] belongs to another user`);
      }
      if (existing.groupKey !== groupKey) {
        throw new Error(`group [${group}] groupKey does not match`);
      }
      existing.members.push(member);
      return;
    }
    routes.push({
      location,
      httpUser: key.httpUser,
      group,
      groupKey,
      user: member.user ?? "",
      members: [member],
      next: 0,
    });
    // Longest location first, then user-specific before catch-all.
    routes.sort((a, b) =>
      b.location.length - a.location.length || b.httpUser.length - a.httpUser.length
    );
    this.#domains.set(domain, routes);
  }

  /**
   * Removes proxy `name` from `key`'s route; with `value`, only the member
   * added with that value (in cluster mode a node can briefly hold two
   * members of one name: a group member's copy from its old node and the
   * member itself, after its client failed over).
   */
  remove(key: RouteKey, name: string, value?: T): void {
    const domain = normalizeHost(key.domain);
    const location = normalizeLocation(key.location);
    const routes = this.#domains.get(domain);
    const route = routes?.find((r) => r.location === location && r.httpUser === key.httpUser);
    if (!routes || !route) return;
    route.members = route.members.filter((m) =>
      m.name !== name || (value !== undefined && m.value !== value)
    );
    if (route.members.length > 0) return;
    routes.splice(routes.indexOf(route), 1);
    if (routes.length === 0) this.#domains.delete(domain);
  }

  /**
   * The member for a request, taking turns within a group; `undefined` when
   * nothing matches.
   */
  find(host: string, path: string, httpUser: string): T | undefined {
    const route = this.#route(host, path, httpUser);
    if (!route) return undefined;
    const member = route.members[route.next % route.members.length];
    route.next = (route.next + 1) % route.members.length;
    return member.value;
  }

  /**
   * How many members take turns on the route for a request: 1 for a proxy
   * outside a group, 0 when nothing matches.
   */
  memberCount(host: string, path: string, httpUser: string): number {
    return this.#route(host, path, httpUser)?.members.length ?? 0;
  }

  /**
   * Whether two paths of one request reach the same route (without taking
   * a turn in a group): for paths a backend may read two ways.
   */
  sameRoute(host: string, pathA: string, pathB: string, httpUser: string): boolean {
    return this.#route(host, pathA, httpUser) === this.#route(host, pathB, httpUser);
  }

  #route(host: string, path: string, httpUser: string): Route<T> | undefined {
    const name = normalizeHost(host);
    // The candidates one at a time (see `candidates`): the usual exact match
    // builds no wildcard strings, which per request showed in profiles.
    for (let domain = name, dot = -1;;) {
      const routes = this.#domains.get(domain);
      const route = routes && pick(routes, path || "/", httpUser);
      if (route) return route;
      dot = name.indexOf(".", dot + 1);
      if (dot < 0) return undefined;
      domain = `*${name.slice(dot)}`;
    }
  }

  /** Whether any route exists for `host` (ignoring path and user). */
  hasDomain(host: string): boolean {
    return candidates(normalizeHost(host)).some((d) => this.#domains.has(d));
  }
}

/** `a.b.example.com` → itself, `*.b.example.com`, `*.example.com`, `*.com`. */
function candidates(host: string): string[] {
  const out = [host];
  for (let dot = host.indexOf("."); dot >= 0; dot = host.indexOf(".", dot + 1)) {
    out.push(`*${host.slice(dot)}`);
  }
  return out;
}

function pick<T>(routes: Route<T>[], path: string, httpUser: string): Route<T> | undefined {
  // Plain loops: two closures per request for `find` showed in profiles.
  if (httpUser) {
    for (const r of routes) if (r.httpUser === httpUser && path.startsWith(r.location)) return r;
  }
  for (const r of routes) if (r.httpUser === "" && path.startsWith(r.location)) return r;
  return undefined;
}
