/**
 * The client's web UI (frpc's admin UI), served at `/` of `webServer`: one
 * page of plain HTML, CSS and JS (the server dashboard's look, from
 * `../page_kit.ts`; no build step, works offline). It uses the admin API
 * only:
 *
 * - **Proxies**: `/api/status` every 2 s, with status, error, local and
 *   remote addresses and where each proxy comes from (file or store).
 * - **Store**: `/api/store/proxies`, a form (name, type, the type's keys as
 *   JSON) to add or edit one, and a remove button per entry.
 * - **Config file**: `/api/config` in an editor; every edit is checked by
 *   `POST /api/config/validate` and the errors are shown under it and marked
 *   on their lines; "Save and reload" stays disabled until the text is valid,
 *   then sends `PUT /api/config` and `GET /api/reload`.
 *
 * @example
 * ```ts
 * import { CLIENT_UI_HTML } from "./ui.ts";
 * const res = new Response(CLIENT_UI_HTML, { headers: { "content-type": "text/html" } });
 * ```
 *
 * @module
 */

import { PAGE_CSS, PAGE_JS, pageHead } from "../page_kit.ts";
import { PROXY_TYPES } from "./proxy_definition.ts";

// Only what this page adds to the shared look.
const UI_CSS = `
  .editor { display: flex; border-bottom: 1px solid var(--line); }
  .editor pre, .editor textarea { margin: 0; padding: 8px 10px; font: 12.5px/1.5 ui-monospace,
    SFMono-Regular, Menlo, monospace; height: 360px; }
  .editor pre { overflow: hidden; color: var(--off); background: #fafbfc; text-align: right;
                border-right: 1px solid var(--line); user-select: none; min-width: 44px; }
  .editor pre span { display: block; }
  .editor pre span.bad { color: #fff; background: var(--danger); border-radius: 3px; }
  .editor textarea { flex: 1; border: 0; border-radius: 0; resize: vertical; outline: none;
                     white-space: pre; overflow: auto; }
  .editor.invalid { box-shadow: inset 3px 0 0 var(--danger); }
  .bar { display: flex; align-items: center; gap: 10px; padding: 10px 14px; }
  .bar .msg { color: var(--muted); }
  form.store { display: grid; grid-template-columns: 160px 120px 1fr auto; gap: 8px; align-items: start;
               padding: 12px 14px; border-bottom: 1px solid var(--line); }
  form.store textarea { height: 64px; }
  ul.problems li[data-line] { cursor: pointer; }
`;

/** See the module doc. */
export const CLIENT_UI_HTML = `${pageHead("dfrpc admin", PAGE_CSS + UI_CSS)}<header>
  <h1>dfrpc</h1><span class="sub">client admin</span>
  <span class="live" id="live">connecting…</span>
</header>
<main>
  <section>
    <h2>Proxies <span class="count" id="proxy-count"></span></h2>
    <div id="proxies"></div>
  </section>
  <section id="store">
    <h2>Store proxies <span class="count" id="store-count"></span></h2>
    <form class="store" id="store-form">
      <input name="name" placeholder="name" required autocomplete="off">
      <select name="type">${PROXY_TYPES.map((t) => `<option>${t}</option>`).join("")}</select>
      <textarea name="keys" spellcheck="false" placeholder='{ "localPort": 22, "remotePort": 6000 }'></textarea>
      <div><button class="primary" name="submit" type="submit">Add</button>
        <button name="cancel" type="button" hidden>Cancel</button></div>
    </form>
    <ul class="problems" id="store-problems"></ul>
    <div id="store-list"></div>
  </section>
  <section id="config">
    <h2>Config file</h2>
    <div class="editor" id="editor">
      <pre id="gutter"></pre>
      <textarea id="config-text" spellcheck="false" wrap="off"></textarea>
    </div>
    <ul class="problems" id="config-problems"></ul>
    <div class="bar">
      <button class="primary" id="config-save" disabled>Save and reload</button>
      <button id="config-revert" disabled>Revert</button>
      <span class="msg" id="config-msg"></span>
    </div>
  </section>
</main>
<script>
${PAGE_JS}
const STATUS_CLASS = { running: "online", "start error": "failed", "check failed": "failed" };
const $ = (id) => document.getElementById(id);

// ---- proxies ----
async function refreshStatus() {
  const live = $("live");
  try {
    const byType = await api("/api/status");
    const list = Object.values(byType).flat();
    $("proxy-count").textContent = "(" + list.length + ")";
    $("proxies").replaceChildren(list.length ? table(
      [["Name"], ["Type"], ["Status"], ["Local"], ["Remote"], ["Error"], ["Source"]],
      list.map((p) => el("tr", { "data-proxy": p.name },
        el("td", {}, p.name),
        el("td", {}, p.type),
        el("td", { "data-status": p.status }, statusDot(p.status, STATUS_CLASS[p.status] || "offline")),
        el("td", { class: "mono" }, p.local_addr || p.plugin),
        el("td", { class: "mono", "data-remote": "" }, p.remote_addr),
        el("td", { class: "error wrap" }, p.err),
        el("td", {}, p.source || "file"),
      ))) : el("div", { class: "empty" }, "No proxy configured."));
    live.textContent = "updated " + new Date().toLocaleTimeString();
    live.classList.remove("error");
  } catch (err) {
    live.textContent = "cannot reach the client: " + err.message;
    live.classList.add("error");
  }
}

// ---- store ----
const form = $("store-form");
const F = form.elements; // the inputs by name
let editing = null;

function problems(box, text, cls) {
  box.replaceChildren(...String(text || "").split("\\n").filter(Boolean)
    .map((line) => el("li", { class: cls || "error" }, line)));
}

async function refreshStore() {
  let defs;
  try {
    defs = (await api("/api/store/proxies")).proxies;
  } catch (err) {
    form.hidden = true;
    $("store-list").replaceChildren(el("div", { class: "empty" }, err.message));
    return;
  }
  form.hidden = false;
  $("store-count").textContent = "(" + defs.length + ")";
  $("store-list").replaceChildren(defs.length ? table([["Name"], ["Type"], ["Keys"], [""]],
    defs.map((d) => el("tr", { "data-store": d.name },
      el("td", {}, d.name),
      el("td", {}, d.type),
      el("td", { class: "mono wrap" }, JSON.stringify(blockKeys(d))),
      el("td", {}, el("button", { class: "primary", onclick: () => edit(d) }, "edit"), " ",
        el("button", { onclick: () => remove(d.name) }, "remove")),
    ))) : el("div", { class: "empty" }, "The store is empty: add a proxy above."));
}

function blockKeys(def) {
  const keys = { ...(def[def.type] || {}) };
  delete keys.name;
  delete keys.type;
  return keys;
}

function edit(def) {
  editing = def.name;
  F.name.value = def.name;
  F.name.readOnly = true;
  F.type.value = def.type;
  F.keys.value = JSON.stringify(blockKeys(def), null, 1);
  F.submit.textContent = "Save";
  F.cancel.hidden = false;
  $("store-problems").replaceChildren();
}

function resetForm() {
  editing = null;
  form.reset();
  F.name.readOnly = false;
  F.submit.textContent = "Add";
  F.cancel.hidden = true;
}

F.cancel.addEventListener("click", () => { resetForm(); $("store-problems").replaceChildren(); });
form.addEventListener("submit", async (e) => {
  e.preventDefault();
  const box = $("store-problems");
  let keys;
  try {
    keys = F.keys.value.trim() ? JSON.parse(F.keys.value) : {};
  } catch (err) {
    return problems(box, "keys: not JSON: " + err.message);
  }
  const name = F.name.value.trim(), type = F.type.value;
  const path = "/api/store/proxies" + (editing ? "/" + encodeURIComponent(editing) : "");
  try {
    await api(path, { method: editing ? "PUT" : "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ name, type, [type]: keys }) });
    box.replaceChildren();
    resetForm();
  } catch (err) {
    return problems(box, err.message);
  }
  refreshStore();
  refreshStatus();
});

async function remove(name) {
  if (!confirm("Remove proxy " + name + " from the store? It stops now.")) return;
  try {
    await api("/api/store/proxies/" + encodeURIComponent(name), { method: "DELETE" });
  } catch (err) {
    problems($("store-problems"), err.message);
  }
  if (editing === name) resetForm();
  refreshStore();
  refreshStatus();
}

// ---- config file ----
const text = $("config-text");
let saved = "", checkSeq = 0, valid = false, timer;

function renderGutter(badLines) {
  const n = text.value.split("\\n").length;
  const spans = [];
  for (let i = 1; i <= n; i++) spans.push(el("span", badLines.has(i) ? { class: "bad" } : {}, i));
  $("gutter").replaceChildren(...spans);
  $("gutter").scrollTop = text.scrollTop;
}

function jumpTo(line) {
  const lines = text.value.split("\\n");
  const start = lines.slice(0, line - 1).reduce((a, l) => a + l.length + 1, 0);
  text.focus();
  text.setSelectionRange(start, start + (lines[line - 1] || "").length);
}

function showProblems(errors, warnings) {
  const bad = new Set();
  const items = [];
  for (const [list, cls] of [[errors, "error"], [warnings, "warning"]]) {
    for (const line of list) {
      // "file:LINE: key: message" (lib/config's format)
      const m = line.match(/^.*?:(\\d+): (.*)$/);
      if (!m) { items.push(el("li", { class: cls }, line)); continue; }
      const at = Number(m[1]);
      if (cls === "error") bad.add(at);
      items.push(el("li", { class: cls, "data-line": at, onclick: () => jumpTo(at) }, "line " + at + ": " + m[2]));
    }
  }
  $("config-problems").replaceChildren(...items);
  $("editor").classList.toggle("invalid", errors.length > 0);
  renderGutter(bad);
}

function updateButtons() {
  const changed = text.value !== saved;
  $("config-save").disabled = !(valid && changed);
  $("config-revert").disabled = !changed;
}

async function validate() {
  const seq = ++checkSeq;
  valid = false;
  updateButtons();
  let errors = [], warnings = [];
  try {
    warnings = (await api("/api/config/validate", { method: "POST", body: text.value })).warnings;
  } catch (err) {
    errors = err.message.split("\\n").filter(Boolean);
  }
  if (seq !== checkSeq) return; // an older answer
  valid = errors.length === 0;
  showProblems(errors, warnings);
  updateButtons();
}

text.addEventListener("input", () => {
  renderGutter(new Set());
  clearTimeout(timer);
  timer = setTimeout(validate, 300);
  valid = false;
  updateButtons();
});
text.addEventListener("scroll", () => { $("gutter").scrollTop = text.scrollTop; });

async function loadConfig() {
  try {
    saved = await api("/api/config");
  } catch (err) {
    $("config").replaceChildren(el("h2", {}, "Config file"), el("div", { class: "empty" }, err.message));
    return;
  }
  text.value = saved;
  $("config-msg").textContent = "";
  await validate();
}

$("config-revert").addEventListener("click", () => { text.value = saved; validate(); });
$("config-save").addEventListener("click", async () => {
  const msg = $("config-msg"), body = text.value;
  $("config-save").disabled = true;
  try {
    await api("/api/config", { method: "PUT", body });
    saved = body;
    const r = await api("/api/reload");
    const parts = Object.entries(r).filter(([, names]) => names.length)
      .map(([what, names]) => what + ": " + names.join(", "));
    msg.textContent = "saved and reloaded: " + (parts.join("; ") || "no proxy changed");
    msg.className = "msg";
  } catch (err) {
    msg.textContent = "not applied: " + err.message;
    msg.className = "msg error";
  }
  updateButtons();
  refreshStatus();
});

refreshStatus();
refreshStore();
loadConfig();
setInterval(refreshStatus, 2000);
</script>
</body>
</html>
`;
