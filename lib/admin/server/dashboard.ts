/**
 * The dashboard page served at `/`: plain HTML, CSS and JS in one string (no
 * build step, and `deno compile` keeps it). It polls the JSON API every
 * second and builds the tables with `textContent` only, so names sent by
 * clients can never inject markup. It shows totals, live sparklines of
 * connections and traffic per second (sampled by the page while it is open),
 * the clients, the proxies by type, and, for the proxy picked by its name
 * (`#proxy=NAME` in the URL), a detail view: facts, its traffic of the last 7
 * days as a bar chart (`charts.ts`), its client and its config (the API
 * replaces secrets, see `redact.ts`). In cluster mode (`serverinfo` names
 * the node) it also lists the cluster's nodes with their lease (health), and
 * the clients and proxies of every node with a Node column.
 *
 * @example
 * ```ts
 * import { DASHBOARD_HTML } from "./dashboard.ts";
 * const res = new Response(DASHBOARD_HTML, { headers: { "content-type": "text/html" } });
 * ```
 *
 * @module
 */

import { PAGE_CSS, PAGE_JS, pageHead } from "../page_kit.ts";
import { CHARTS_CSS, CHARTS_JS } from "./charts.ts";
import { PROXY_TYPES } from "../../config/mod.ts";

// Only what the dashboard adds to the shared look.
const DASHBOARD_CSS = `
  #sparks .card { display: flex; flex-direction: column; gap: 4px; }
  #sparks .v { font-size: 18px; font-weight: 600; }
  .detail-grid { display: grid; grid-template-columns: minmax(260px, 1fr) 2fr; gap: 8px;
                 border-bottom: 1px solid var(--line); }
  table.facts th, table.conf th { width: 1%; background: none; }
  section h3 { margin: 0; padding: 10px 14px 4px; font-size: 13px; color: var(--muted); }
  .sw-in { background: var(--accent); }
  .sw-out { background: #9bb9ec; }
  svg.chart { max-width: 100%; height: auto; }
`;

/** See the module doc. */
export const DASHBOARD_HTML = `${
  pageHead("dfrps dashboard", PAGE_CSS + CHARTS_CSS + DASHBOARD_CSS)
}<header>
  <h1>dfrps</h1><span class="sub" id="version"></span>
  <span class="live" id="live">connecting…</span>
</header>
<main>
  <div class="cards" id="cards"></div>
  <div class="cards" id="sparks">
    <div class="card"><div class="k">Connections, last 2 min</div><div id="spark-conns"></div></div>
    <div class="card"><div class="k">Traffic per second, last 2 min</div><div id="spark-traffic"></div></div>
  </div>
  <div id="detail"></div>
  <section id="nodes-section" hidden>
    <h2>Cluster nodes <span class="count" id="node-count"></span></h2>
    <div id="nodes"></div>
  </section>
  <section>
    <h2>Clients <span class="count" id="client-count"></span></h2>
    <div id="clients"></div>
  </section>
  <div id="proxies"></div>
</main>
<script>
${PAGE_JS}${CHARTS_JS}
const TYPES = ${JSON.stringify(PROXY_TYPES)};
const SAMPLES = 120;
const samples = { conns: [], rate: [], last: null };
let selected = decodeURIComponent((location.hash.match(/^#proxy=(.+)$/) || [])[1] || "");

function when(unix) {
  return unix ? new Date(unix * 1000).toLocaleString() : "";
}

function status(online) {
  return statusDot(online ? "online" : "offline", online ? "online" : "offline");
}

async function disconnect(id, button) {
  button.disabled = true;
  try {
    await api("/api/clients/" + encodeURIComponent(id), { method: "DELETE" });
  } catch (err) {
    alert("disconnect failed: " + err.message);
  }
  refresh();
}

function select(name) {
  selected = name;
  history.replaceState(null, "", name ? "#proxy=" + encodeURIComponent(name) : location.pathname);
  if (busy) again = true; // show it as soon as the poll under way ends
  else refresh();
}

function renderInfo(info) {
  document.getElementById("version").textContent = "v" + info.version + " · bindPort " + info.bindPort;
  const proxies = Object.values(info.proxyTypeCount || {}).reduce((a, b) => a + b, 0);
  const cards = [
    ["Clients online", info.clientCounts],
    ["Proxies online", proxies],
    ["Connections", info.curConns],
    ["Traffic in today", bytes(info.totalTrafficIn)],
    ["Traffic out today", bytes(info.totalTrafficOut)],
  ];
  document.getElementById("cards").replaceChildren(...cards.map(([k, v]) =>
    el("div", { class: "card" }, el("div", { class: "k" }, k), el("div", { class: "v", "data-card": k }, v))));
}

function renderSparks(info) {
  // Traffic per second from the growth of today's totals (a new day or cleared proxies make them drop).
  const now = Date.now(), total = info.totalTrafficIn + info.totalTrafficOut;
  if (samples.last) {
    const secs = Math.max(0.001, (now - samples.last.at) / 1000);
    samples.rate.push(Math.max(0, (total - samples.last.total) / secs));
  }
  samples.last = { at: now, total };
  samples.conns.push(info.curConns);
  for (const list of [samples.conns, samples.rate]) if (list.length > SAMPLES) list.shift();
  const rate = samples.rate.length ? samples.rate[samples.rate.length - 1] : 0;
  document.getElementById("spark-conns").replaceChildren(
    el("div", { class: "v" }, info.curConns), sparkline(samples.conns, "conns"));
  document.getElementById("spark-traffic").replaceChildren(
    el("div", { class: "v" }, bytes(Math.round(rate)) + "/s"), sparkline(samples.rate.map(Math.round), "traffic"));
}

function renderClients(clients) {
  document.getElementById("client-count").textContent = "(" + clients.filter((c) => c.online).length +
    " online, " + clients.length + " known)";
  const box = document.getElementById("clients");
  if (!clients.length) return box.replaceChildren(el("div", { class: "empty" }, "No client has logged in yet."));
  box.replaceChildren(clientTable(clients, true));
}

// Cluster mode: a healthy node renews its 8 s lease every 2 s.
function renderNodes(info, nodes) {
  const section = document.getElementById("nodes-section");
  section.hidden = !info.node;
  if (!info.node) return;
  document.getElementById("node-count").textContent = "(" + nodes.length + ", this is " + info.node + ")";
  const rows = nodes.map((n) => el("tr", { "data-node": n.name },
    el("td", {}, n.leaseMs > 4000 ? statusDot("healthy", "online") : statusDot("lapsing", "offline")),
    el("td", {}, n.name + (n.name === info.node ? " (this node)" : "")),
    el("td", { class: "mono" }, n.peer),
    el("td", { class: "mono" }, n.bindAddr + ":" + n.bindPort),
    el("td", { class: "num" }, (n.leaseMs / 1000).toFixed(1) + " s"),
    el("td", {}, new Date(n.startedAt).toLocaleString()),
  ));
  document.getElementById("nodes").replaceChildren(
    table([["Health"], ["Node"], ["Peer"], ["Bind"], ["Lease left", "num"], ["Started"]], rows));
}

function clientTable(clients, withButton) {
  const withNode = clients.some((c) => c.node);
  const rows = clients.map((c) => el("tr", { "data-client": c.runID },
    el("td", {}, status(c.online)),
    withNode ? el("td", { "data-node": "" }, c.node || "") : "",
    el("td", { class: "mono" }, c.clientID === c.runID ? c.runID : c.clientID + " (" + c.runID + ")"),
    el("td", {}, c.user),
    el("td", {}, c.hostname),
    el("td", { class: "mono" }, c.address),
    el("td", {}, c.version),
    el("td", {}, [c.os, c.arch].filter(Boolean).join("/")),
    el("td", {}, when(c.online ? c.lastConnectedAt : c.disconnectedAt)),
    el("td", {}, c.proxies.join(", ")),
    withButton ? el("td", {}, c.online
      ? el("button", { onclick: (e) => disconnect(c.runID, e.target) }, "disconnect")
      : "") : "",
  ));
  return table([["Status"], ...(withNode ? [["Node"]] : []), ["Client (run id)"], ["User"], ["Hostname"], ["Address"], ["Version"],
    ["OS"], ["Since"], ["Proxies"], ...(withButton ? [[""]] : [])], rows);
}

function target(p) {
  const conf = p.conf || {};
  if (conf.remotePort !== undefined) return ":" + conf.remotePort;
  const domains = [...(conf.customDomains || [])];
  if (conf.subdomain) domains.push(conf.subdomain + ".*");
  return domains.join(", ");
}

function renderProxies(byType) {
  const sections = [];
  for (const type of TYPES) {
    const list = byType[type] || [];
    if (!list.length) continue;
    const withNode = list.some((p) => p.node);
    const rows = list.map((p) => el("tr", { "data-proxy": p.name },
      el("td", {}, el("a", { class: "link", "data-open": p.name, onclick: () => select(p.name) }, p.name)),
      withNode ? el("td", { "data-node": "" }, p.node || "") : "",
      el("td", { "data-user": "" }, p.user),
      el("td", {}, status(p.status === "online")),
      el("td", { class: "mono" }, p.clientID),
      el("td", { class: "mono" }, target(p)),
      el("td", { class: "num" }, p.curConns),
      el("td", { class: "num", "data-traffic-in": "" }, bytes(p.todayTrafficIn)),
      el("td", { class: "num", "data-traffic-out": "" }, bytes(p.todayTrafficOut)),
      el("td", {}, p.lastStartTime),
    ));
    sections.push(el("section", { "data-type": type },
      el("h2", {}, type.toUpperCase() + " proxies ", el("span", { class: "count" }, "(" + list.length + ")")),
      table([["Name"], ...(withNode ? [["Node"]] : []), ["User"], ["Status"], ["Client"], ["Remote"], ["Conns", "num"], ["In today", "num"],
        ["Out today", "num"], ["Started"]], rows)));
  }
  if (!sections.length) sections.push(el("section", {}, el("h2", {}, "Proxies"),
    el("div", { class: "empty" }, "No proxy registered.")));
  document.getElementById("proxies").replaceChildren(...sections);
}

function renderDetail(p, clients, days) {
  const box = document.getElementById("detail");
  if (!p) return box.replaceChildren();
  const facts = [
    ["Type", p.type], ["Status", status(p.status === "online")], ["User", p.user],
    ["Remote", target(p)], ["Connections now / total", p.curConns + " / " + p.totalConns],
    ["Started", p.lastStartTime], ["Closed", p.lastCloseTime],
  ];
  // The server sends the config with passwords, keys and tokens already replaced.
  const conf = Object.entries(p.conf || {}).filter(([, v]) => v !== undefined && v !== null && v !== "");
  const client = clients.filter((c) => c.runID === p.clientID);
  box.replaceChildren(el("section", { "data-detail": p.name },
    el("h2", {}, "Proxy " + p.name, el("span", { class: "count" }, p.type),
      el("button", { class: "primary right", onclick: () => select("") }, "close")),
    el("div", { class: "detail-grid" },
      el("table", { class: "facts" }, el("tbody", {}, ...facts.map(([k, v]) =>
        el("tr", {}, el("th", {}, k), el("td", {}, v))))),
      el("div", { class: "pad" },
        el("div", {}, el("strong", {}, "Traffic, last 7 days "),
          el("span", { class: "legend" }, el("i", { class: "sw-in" }), "in"),
          el("span", { class: "legend" }, el("i", { class: "sw-out" }), "out")),
        days ? trafficChart(days) : el("div", { class: "empty" }, "no traffic history")),
    ),
    el("h3", {}, "Recent errors"),
    (p.recentErrors || []).length
      ? el("table", { "data-errors": "" }, el("tbody", {}, ...p.recentErrors.slice().reverse().map((e) =>
        el("tr", {}, el("th", {}, e.time), el("td", { class: "mono wrap" }, e.message)))))
      : el("div", { class: "empty" }, "none on the server (a refused registration shows on the client)"),
    el("h3", {}, "Client"),
    client.length ? clientTable(client, false) : el("div", { class: "empty" }, "unknown client"),
    el("h3", {}, "Config"),
    conf.length ? el("table", { class: "conf", "data-conf": "" }, el("tbody", {}, ...conf.map(([k, v]) =>
      el("tr", {}, el("th", {}, k), el("td", { class: "mono wrap" },
        typeof v === "string" ? v : JSON.stringify(v))))))
      : el("div", { class: "empty" }, "not started yet"),
  ));
}

let busy = false, again = false;
async function refresh() {
  if (busy) return;
  busy = true;
  const live = document.getElementById("live");
  try {
    const [info, clients, ...lists] = await Promise.all([
      api("/api/serverinfo"), api("/api/clients"), ...TYPES.map((t) => api("/api/proxy/" + t)),
    ]);
    renderInfo(info);
    renderNodes(info, info.node ? (await api("/api/cluster/nodes")).nodes : []);
    renderSparks(info);
    renderClients(clients);
    renderProxies(Object.fromEntries(TYPES.map((t, i) => [t, lists[i].proxies])));
    const p = selected ? lists.flatMap((l) => l.proxies).find((x) => x.name === selected) : undefined;
    const days = p ? await api("/api/traffic/" + encodeURIComponent(p.name)).catch(() => null) : null;
    renderDetail(p, clients, days);
    live.textContent = "updated " + new Date().toLocaleTimeString();
    live.classList.remove("error");
  } catch (err) {
    live.textContent = "cannot reach the server: " + err.message;
    live.classList.add("error");
  } finally {
    busy = false;
    if (again) { again = false; refresh(); }
  }
}
refresh();
setInterval(refresh, 1000);
</script>
</body>
</html>
`;
