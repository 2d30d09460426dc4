/**
 * A one-page dashboard of the cluster (nodes, clients, proxies of every
 * type with their counters, routes) that reads
 * `/api/cluster` and refreshes every 5 s; served by `admin.ts` at `/`.
 *
 * @example
 * ```ts
 * import { CLUSTER_DASHBOARD_HTML } from "./dashboard.ts";
 * new Response(CLUSTER_DASHBOARD_HTML, { headers: { "content-type": "text/html" } });
 * ```
 *
 * @module
 */

/** See the module doc. */
export const CLUSTER_DASHBOARD_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>dfrp cluster</title>
<style>
body{font:14px system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin-bottom:2em}
th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left}
th{background:#f3f3f3}.bad{color:#b00}
</style></head><body>
<h1>dfrp cluster</h1>
<h2>Nodes</h2><table id="nodes"></table>
<h2>Clients</h2><table id="clients"></table>
<h2>Proxies</h2><table id="running"></table>
<h2>Routes</h2><table id="proxies"></table>
<script>
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;"}[c]));
function table(id, cols, rows) {
  document.getElementById(id).innerHTML = "<tr>" + cols.map((c) => "<th>" + esc(c) + "</th>").join("") +
    "</tr>" + rows.map((r) => "<tr>" + cols.map((c) => "<td>" + esc(r[c] ?? "") + "</td>").join("") + "</tr>").join("");
}
async function load() {
  const res = await fetch("api/cluster");
  if (!res.ok) return;
  const v = await res.json();
  table("nodes", ["name", "peer", "bindAddr", "proxyBindAddr", "startedAt", "leaseMs"], v.nodes);
  table("clients", ["runId", "node", "user", "hostname", "version", "address", "lastConnectedAt"], v.clients);
  table("running", ["name", "type", "node", "user", "clientId", "curConns", "trafficIn", "trafficOut"], v.running);
  table("proxies", ["name", "type", "node", "route", "user", "clientId"], v.proxies);
}
load();
setInterval(load, 5000);
</script></body></html>
`;
