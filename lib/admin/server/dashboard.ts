/**
 * The dashboard page served at `/`: plain HTML, CSS and JS in one string (no
 * build step, and `deno compile` keeps it). It polls the JSON API every
 * second and builds the tables with `textContent` only, so names sent by
 * clients can never inject markup.
 *
 * @example
 * ```ts
 * import { DASHBOARD_HTML } from "./dashboard.ts";
 * const res = new Response(DASHBOARD_HTML, { headers: { "content-type": "text/html" } });
 * ```
 *
 * @module
 */

/** See the module doc. */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>dfrps dashboard</title>
<style>
  :root { --bg: #f5f6f8; --card: #fff; --ink: #1d2330; --muted: #6b7385; --line: #e3e6ec;
          --ok: #1f9d55; --off: #a0a7b4; --accent: #2f6fde; --danger: #c0392b; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif;
         background: var(--bg); color: var(--ink); }
  header { display: flex; align-items: baseline; gap: 12px; padding: 14px 24px;
           background: #1d2330; color: #fff; }
  header h1 { margin: 0; font-size: 18px; font-weight: 600; }
  header .sub { color: #b8bfcc; font-size: 13px; }
  header .live { margin-left: auto; font-size: 12px; color: #b8bfcc; }
  main { padding: 20px 24px; max-width: 1200px; }
  .cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 12px;
           margin-bottom: 20px; }
  .card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; }
  .card .k { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
  .card .v { font-size: 22px; font-weight: 600; margin-top: 2px; }
  section { background: var(--card); border: 1px solid var(--line); border-radius: 8px;
            margin-bottom: 20px; overflow: hidden; }
  section h2 { margin: 0; padding: 10px 14px; font-size: 15px; border-bottom: 1px solid var(--line); }
  section h2 .count { color: var(--muted); font-weight: 400; }
  table { width: 100%; border-collapse: collapse; }
  th, td { text-align: left; padding: 7px 14px; border-bottom: 1px solid var(--line); white-space: nowrap; }
  th { font-size: 12px; color: var(--muted); font-weight: 500; background: #fafbfc; }
  tr:last-child td { border-bottom: 0; }
  td.num { text-align: right; font-variant-numeric: tabular-nums; }
  th.num { text-align: right; }
  .mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12.5px; }
  .status { display: inline-flex; align-items: center; gap: 6px; }
  .dot { width: 8px; height: 8px; border-radius: 50%; background: var(--off); }
  .online .dot { background: var(--ok); }
  .empty { padding: 12px 14px; color: var(--muted); }
  button { font: inherit; font-size: 12px; padding: 3px 10px; border-radius: 5px; cursor: pointer;
           border: 1px solid var(--danger); color: var(--danger); background: #fff; }
  button:hover { background: var(--danger); color: #fff; }
  button:disabled { border-color: var(--line); color: var(--off); background: #fff; cursor: default; }
  .error { color: var(--danger); }
</style>
</head>
<body>
<header>
  <h1>dfrps</h1><span class="sub" id="version"></span>
  <span class="live" id="live">connecting…</span>
</header>
<main>
  <div class="cards" id="cards"></div>
  <section>
    <h2>Clients <span class="count" id="client-count"></span></h2>
    <div id="clients"></div>
  </section>
  <div id="proxies"></div>
</main>
<script>
"use strict";
const TYPES = ["tcp", "udp", "http", "https", "tcpmux", "stcp", "sudp", "xtcp"];

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : String(c ?? ""));
  return node;
}

function bytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n : n.toFixed(1)) + " " + units[i];
}

function when(unix) {
  return unix ? new Date(unix * 1000).toLocaleString() : "";
}

function status(online) {
  return el("span", { class: "status " + (online ? "online" : "offline") },
    el("span", { class: "dot" }), online ? "online" : "offline");
}

function table(headers, rows) {
  const head = el("tr", {}, ...headers.map(([label, cls]) => el("th", cls ? { class: cls } : {}, label)));
  return el("table", {}, el("thead", {}, head), el("tbody", {}, ...rows));
}

async function api(path, init) {
  // X-Requested-With: the admin API refuses state changes without it (no form can send it).
  const headers = { "X-Requested-With": "dfrp-dashboard", ...(init && init.headers) };
  const res = await fetch(path, { credentials: "same-origin", ...init, headers });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.msg || res.status + " " + res.statusText);
  return body;
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

function renderClients(clients) {
  document.getElementById("client-count").textContent = "(" + clients.filter((c) => c.online).length +
    " online, " + clients.length + " known)";
  const box = document.getElementById("clients");
  if (!clients.length) return box.replaceChildren(el("div", { class: "empty" }, "No client has logged in yet."));
  const rows = clients.map((c) => el("tr", { "data-client": c.runID },
    el("td", {}, status(c.online)),
    el("td", { class: "mono" }, c.clientID === c.runID ? c.runID : c.clientID + " (" + c.runID + ")"),
    el("td", {}, c.user),
    el("td", {}, c.hostname),
    el("td", { class: "mono" }, c.address),
    el("td", {}, c.version),
    el("td", {}, [c.os, c.arch].filter(Boolean).join("/")),
    el("td", {}, when(c.online ? c.lastConnectedAt : c.disconnectedAt)),
    el("td", {}, c.proxies.join(", ")),
    el("td", {}, c.online
      ? el("button", { onclick: (e) => disconnect(c.runID, e.target) }, "disconnect")
      : ""),
  ));
  box.replaceChildren(table([["Status"], ["Client (run id)"], ["User"], ["Hostname"], ["Address"], ["Version"],
    ["OS"], ["Since"], ["Proxies"], [""]], rows));
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
    const rows = list.map((p) => el("tr", { "data-proxy": p.name },
      el("td", {}, p.name),
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
      table([["Name"], ["Status"], ["Client"], ["Remote"], ["Conns", "num"], ["In today", "num"],
        ["Out today", "num"], ["Started"]], rows)));
  }
  if (!sections.length) sections.push(el("section", {}, el("h2", {}, "Proxies"),
    el("div", { class: "empty" }, "No proxy registered.")));
  document.getElementById("proxies").replaceChildren(...sections);
}

let busy = false;
async function refresh() {
  if (busy) return;
  busy = true;
  const live = document.getElementById("live");
  try {
    const [info, clients, ...lists] = await Promise.all([
      api("/api/serverinfo"), api("/api/clients"), ...TYPES.map((t) => api("/api/proxy/" + t)),
    ]);
    renderInfo(info);
    renderClients(clients);
    renderProxies(Object.fromEntries(TYPES.map((t, i) => [t, lists[i].proxies])));
    live.textContent = "updated " + new Date().toLocaleTimeString();
    live.classList.remove("error");
  } catch (err) {
    live.textContent = "cannot reach the server: " + err.message;
    live.classList.add("error");
  } finally {
    busy = false;
  }
}
refresh();
setInterval(refresh, 1000);
</script>
</body>
</html>
`;
