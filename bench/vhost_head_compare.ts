/**
 * The vhost's per-request head work of this tree against an older one, in
 * one process, alternating: parsing, routing, checking and rewriting a
 * request head, serialising it, and reading a response head's framing, for
 * a wrk-sized request and a browser-sized one (`docs/performance.md`, "HTTP
 * vhost per request"). Prints the best µs per request of 12 alternating
 * batches of each tree, so load from elsewhere disturbs both alike.
 *
 * ```sh
 * git archive main | tar -x -C /tmp/old
 * deno run -A bench/vhost_head_compare.ts /tmp/old
 * ```
 *
 * @module
 */

import type { HttpRoute } from "../lib/server/vhost/http_route.ts";

const HERE = new URL("../", import.meta.url).pathname;
const REQUESTS = {
  wrk: "GET / HTTP/1.1\r\nHost: bench.example.com\r\n\r\n",
  browser: "GET /index.html?x=1 HTTP/1.1\r\nHost: bench.example.com\r\n" +
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0\r\n" +
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n" +
    "Accept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate, br\r\n" +
    "Connection: keep-alive\r\nCookie: a=b; c=d; session=0123456789abcdef\r\n" +
    "Upgrade-Insecure-Requests: 1\r\n\r\n",
};
const RESPONSE = "HTTP/1.1 200 OK\r\ncontent-length: 22\r\ncontent-type: text/plain\r\n" +
  "cache-control: no-cache\r\n\r\n";

/** One request's head work with the modules of the tree at `root`. */
async function headWork(root: string, request: string): Promise<() => number> {
  const P = await import(`${root}/lib/server/vhost/http_parser.ts`);
  const R = await import(`${root}/lib/server/vhost/http_route.ts`);
  const { VhostRouter } = await import(`${root}/lib/server/vhost/router.ts`);
  const router = new VhostRouter();
  const route = {
    httpUser: "",
    httpPassword: "",
    hostHeaderRewrite: "",
    requestHeaders: [],
    responseHeaders: [],
  } as unknown as HttpRoute;
  router.add({ domain: "bench.example.com", location: "", httpUser: "" }, {
    name: "web",
    value: route,
  });
  const reqBytes = new TextEncoder().encode(request);
  const respBytes = new TextEncoder().encode(RESPONSE);
  const scratch = new Uint8Array(4096);
  // Older trees parse every response head in full; newer ones only its framing when unchanged.
  const framingOnly = P.parseResponseHead.length > 1;
  return () => {
    const req = P.parseRequestHead(reqBytes);
    const routed = R.routeRequest(router, req);
    const framing = P.requestFraming(req);
    const keeps = P.keepsAlive(req.version, req.headers);
    R.rewriteRequest(
      req,
      routed.route!,
      routed.host,
      routed.proxyForm,
      "127.0.0.1",
    );
    const out = P.serializeRequestHead(req, scratch);
    const resp = framingOnly
      ? P.parseResponseHead(respBytes, true)
      : P.parseResponseHead(respBytes);
    const respFraming = P.responseFraming(resp, req.method);
    const backendKeeps = P.keepsAlive(resp.version, resp.headers);
    return out.length + Number(keeps && backendKeeps) + framing.kind.length +
      respFraming.kind.length;
  };
}

const older = Deno.args[0];
if (!older) throw new Error("usage: vhost_head_compare.ts /path/to/older/tree");
for (const [kind, request] of Object.entries(REQUESTS)) {
  const trees = [["old", await headWork(older, request)], ["new", await headWork(HERE, request)]];
  const best: Record<string, number> = { old: Infinity, new: Infinity };
  let sink = 0;
  for (let batch = 0; batch < 12; batch++) {
    for (const [name, work] of trees as [string, () => number][]) {
      const t0 = performance.now();
      for (let i = 0; i < 50_000; i++) sink += work();
      best[name] = Math.min(best[name], (performance.now() - t0) * 1000 / 50_000);
    }
  }
  console.log(
    `${kind.padEnd(8)} old ${best.old.toFixed(2)} µs  new ${best.new.toFixed(2)} µs  ` +
      `new/old ${(best.new / best.old).toFixed(2)}${sink > 0 ? "" : " "}`,
  );
}
