// kavka console: a small single-page front end on the console's JSON API
// (/api/...). Plain DOM, no framework, no build step; every value from the
// cluster goes into the page as text (textContent), never as HTML.
"use strict";

let session = null;

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k === "text") e.textContent = v;
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function show(...nodes) {
  const view = document.getElementById("view");
  view.replaceChildren(...nodes);
}

function setError(msg) {
  const b = document.getElementById("error");
  b.textContent = msg || "";
  b.classList.toggle("hidden", !msg);
}

async function api(method, path, body) {
  const opts = { method, headers: {}, credentials: "same-origin" };
  if (method !== "GET") opts.headers["X-CSRF-Token"] = session.csrf;
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const r = await fetch(path, opts);
  if (r.status === 401) { location.href = "/login"; throw new Error("not logged in"); }
  let data = null;
  try { data = await r.json(); } catch (e) { data = { error: "HTTP " + r.status }; }
  if (!r.ok) throw new Error(data && data.error ? data.error : "HTTP " + r.status);
  return data;
}

function fmtBytes(n) {
  if (n === null || n === undefined) return "-";
  const u = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : String(n)) + " " + u[i];
}

function fmtNum(n) { return n === null || n === undefined ? "-" : String(n); }

function fmtTime(ms) {
  if (ms === null || ms === undefined || ms < 0) return "-";
  return new Date(ms).toISOString().replace("T", " ").replace("Z", " UTC");
}

// JSON values pretty-printed; anything else as it is.
function pretty(s) {
  if (s === null || s === undefined) return null;
  const t = s.trim();
  if (t.startsWith("{") || t.startsWith("[")) {
    try { return JSON.stringify(JSON.parse(t), null, 2); } catch (e) { /* not JSON */ }
  }
  return s;
}

function bytesCell(obj, field, cls) {
  const v = obj[field];
  if (v === null || v === undefined) {
    const b64 = obj[field + "_base64"];
    if (b64) return el("td", { class: cls }, el("code", { class: "raw", title: "not UTF-8: base64" }, "base64:" + b64));
    return el("td", { class: cls }, el("span", { class: "muted" }, "null"));
  }
  const p = pretty(v);
  const cell = el("td", { class: cls }, el("pre", { class: "pretty" }, p));
  if (p !== v) cell.append(el("details", {}, el("summary", {}, "raw"), el("code", { class: "raw" }, v)));
  else cell.append(el("code", { class: "raw hidden" }, v));
  return cell;
}

// ------------------------------------------------------------ pages

async function pageOverview() {
  const c = await api("GET", "/api/cluster");
  const brokers = el("table", { id: "brokers" },
    el("thead", {}, el("tr", {}, el("th", {}, "ID"), el("th", {}, "Host"), el("th", {}, "Port"),
      el("th", {}, "Rack"), el("th", {}, "Listeners"), el("th", {}, "Advertised listeners"), el("th", {}, "Controller"))),
    el("tbody", {}, c.brokers.map(b => el("tr", { "data-broker": b.id },
      el("td", {}, b.id), el("td", {}, b.host), el("td", {}, b.port), el("td", {}, b.rack || "-"),
      el("td", { class: "listeners" }, b.listeners || "-"), el("td", {}, b["advertised.listeners"] || "-"),
      el("td", {}, b.controller ? "yes" : "")))));
  const fetchApi = c.api_versions.find(a => a.name === "Fetch");
  const produceApi = c.api_versions.find(a => a.name === "Produce");
  const versions = el("table", { id: "api-versions" },
    el("thead", {}, el("tr", {}, el("th", {}, "API"), el("th", { class: "num" }, "Key"),
      el("th", { class: "num" }, "Min"), el("th", { class: "num" }, "Max"))),
    el("tbody", {}, c.api_versions.map(a => el("tr", {}, el("td", {}, a.name),
      el("td", { class: "num" }, a.key), el("td", { class: "num" }, a.min), el("td", { class: "num" }, a.max)))));
  show(
    el("h1", {}, "Cluster overview"),
    el("dl", { class: "stats", id: "overview" },
      el("dt", {}, "Cluster ID"), el("dd", { id: "cluster-id" }, c.cluster_id || "-"),
      el("dt", {}, "Brokers"), el("dd", { id: "broker-count" }, c.brokers.length),
      el("dt", {}, "Topics"), el("dd", { id: "topic-count" }, c.topics),
      el("dt", {}, "Internal topics"), el("dd", {}, c.internal_topics),
      el("dt", {}, "Partitions"), el("dd", { id: "partition-count" }, c.partitions),
      el("dt", {}, "Controller"), el("dd", {}, c.controller_id),
      el("dt", {}, "Protocol"), el("dd", { id: "protocol" },
        (c.api_versions.length + " APIs; Produce v" + (produceApi ? produceApi.max : "-") +
         ", Fetch v" + (fetchApi ? fetchApi.max : "-") + ", Metadata v" + c.metadata_version)),
      el("dt", {}, "Bootstrap"), el("dd", {}, c.bootstrap)),
    el("h2", {}, "Brokers"), brokers,
    el("details", {}, el("summary", {}, "API versions of the bootstrap broker"), versions));
}

function parseLines(text, sep) {
  const out = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    const i = line.indexOf(sep);
    if (i < 0) throw new Error("line without '" + sep + "': " + line);
    out.push([line.slice(0, i).trim(), line.slice(i + 1).trim()]);
  }
  return out;
}

async function pageTopics() {
  const data = await api("GET", "/api/topics");
  const msg = el("p", { id: "create-result", class: "ok-text" });
  const form = el("form", { class: "panel", id: "create-topic" },
    el("h2", {}, "Create a topic"),
    el("label", {}, "Name ", el("input", { id: "new-topic-name", required: true, pattern: "[a-zA-Z0-9._\\-]+" })),
    el("label", {}, "Partitions ", el("input", { id: "new-topic-partitions", type: "number", min: 1, value: 1 })),
    el("label", {}, "Replication factor ", el("input", { id: "new-topic-rf", type: "number", min: 1, placeholder: "broker default" })),
    el("label", {}, "Configs (key=value per line) ", el("textarea", { id: "new-topic-configs", placeholder: "retention.ms=604800000" })),
    el("div", {}, el("button", { id: "create-topic-submit", type: "submit" }, "Create")), msg);
  form.addEventListener("submit", async ev => {
    ev.preventDefault();
    setError("");
    try {
      const name = document.getElementById("new-topic-name").value.trim();
      const parts = document.getElementById("new-topic-partitions").value;
      const rf = document.getElementById("new-topic-rf").value;
      const configs = Object.fromEntries(parseLines(document.getElementById("new-topic-configs").value, "="));
      const body = { name, configs };
      if (parts) body.partitions = parseInt(parts, 10);
      if (rf) body.replication_factor = parseInt(rf, 10);
      await api("POST", "/api/topics", body);
      await pageTopics();
      document.getElementById("create-result").textContent = "Created topic " + name + ".";
    } catch (e) { setError("Create failed: " + e.message); }
  });
  const rows = data.topics.map(t => el("tr", { "data-topic": t.name },
    el("td", {}, el("a", { href: "#/topics/" + encodeURIComponent(t.name), class: "topic-link" }, t.name),
      t.internal ? el("span", { class: "muted" }, " (internal)") : null),
    el("td", { class: "num partitions" }, t.partitions),
    el("td", { class: "num" }, fmtNum(t.replication_factor)),
    el("td", { class: "num messages" }, fmtNum(t.messages)),
    el("td", { class: "num size" }, fmtBytes(t.size)),
    el("td", {}, t.internal ? null : el("button", { class: "danger delete", type: "button", onclick: async () => {
      if (!confirm("Delete topic " + t.name + "? Its records are lost.")) return;
      setError("");
      try { await api("DELETE", "/api/topics/" + encodeURIComponent(t.name)); await pageTopics(); }
      catch (e) { setError("Delete failed: " + e.message); }
    } }, "Delete"))));
  show(el("h1", {}, "Topics"),
    el("table", { id: "topics" },
      el("thead", {}, el("tr", {}, el("th", {}, "Name"), el("th", { class: "num" }, "Partitions"),
        el("th", { class: "num" }, "Replication"), el("th", { class: "num" }, "Messages"),
        el("th", { class: "num" }, "Size"), el("th", {}, ""))),
      el("tbody", {}, rows)),
    form);
}

async function pageTopic(name) {
  const path = "/api/topics/" + encodeURIComponent(name) + "/messages";
  const partSel = el("select", { id: "msg-partition" }, el("option", { value: "" }, "all"));
  const offset = el("input", { id: "msg-offset", type: "number", min: 0, placeholder: "newest" });
  const limit = el("input", { id: "msg-limit", type: "number", min: 1, max: 1000, value: 100 });
  const filter = el("input", { id: "msg-filter", placeholder: "text in key, value or headers" });
  const tbody = el("tbody", {});
  const info = el("p", { id: "msg-info", class: "muted" });
  let partitions = [];

  async function load() {
    setError("");
    const q = new URLSearchParams();
    if (partSel.value) q.set("partition", partSel.value);
    if (offset.value) q.set("offset", offset.value);
    if (limit.value) q.set("limit", limit.value);
    if (filter.value) q.set("filter", filter.value);
    try {
      const d = await api("GET", path + "?" + q.toString());
      partitions = d.partitions;
      if (partSel.options.length === 1)
        for (const p of d.partitions) partSel.append(el("option", { value: p.partition }, String(p.partition)));
      if (prodPart.options.length === 1)
        for (const p of d.partitions) prodPart.append(el("option", { value: p.partition }, String(p.partition)));
      tbody.replaceChildren(...d.messages.map(m => el("tr", { class: "message", "data-partition": m.partition, "data-offset": m.offset },
        el("td", { class: "num partition" }, m.partition), el("td", { class: "num offset" }, m.offset),
        el("td", { class: "timestamp" }, fmtTime(m.timestamp)),
        bytesCell(m, "key", "key"), bytesCell(m, "value", "value"),
        el("td", { class: "headers" }, m.headers.map(h => el("div", {}, el("code", {}, h.key), ": ",
          h.value === null ? el("span", { class: "muted" }, "null") : el("code", { class: "header-value" }, h.value)))))));
      info.textContent = d.messages.length + " message(s) shown; " + partitions.map(p =>
        "partition " + p.partition + ": offsets " + p.earliest + "–" + p.latest).join(", ");
    } catch (e) { setError("Reading messages failed: " + e.message); }
  }

  const prodPart = el("select", { id: "produce-partition" }, el("option", { value: "" }, "by key / any"));
  const prodKey = el("input", { id: "produce-key", placeholder: "(no key)" });
  const prodValue = el("textarea", { id: "produce-value", placeholder: "{\"hello\": \"world\"}" });
  const prodHeaders = el("textarea", { id: "produce-headers", placeholder: "name: value per line" });
  const prodResult = el("p", { id: "produce-result", class: "ok-text" });
  const prodForm = el("form", { class: "panel", id: "produce" }, el("h2", {}, "Produce a message"),
    el("label", {}, "Partition ", prodPart), el("label", {}, "Key ", prodKey),
    el("label", {}, "Value ", prodValue), el("label", {}, "Headers ", prodHeaders),
    el("div", {}, el("button", { id: "produce-submit", type: "submit" }, "Produce")), prodResult);
  prodForm.addEventListener("submit", async ev => {
    ev.preventDefault();
    setError("");
    prodResult.textContent = "";
    try {
      const body = { key: prodKey.value === "" ? null : prodKey.value, value: prodValue.value,
                     headers: parseLines(prodHeaders.value, ":").map(([key, value]) => ({ key, value })) };
      if (prodPart.value !== "") body.partition = parseInt(prodPart.value, 10);
      const r = await api("POST", path, body);
      prodResult.textContent = "Produced to partition " + r.partition + " at offset " + r.offset + ".";
      await load();
    } catch (e) { setError("Produce failed: " + e.message); }
  });

  const form = el("form", { class: "panel", id: "msg-form" },
    el("label", {}, "Partition ", partSel), el("label", {}, "From offset ", offset),
    el("label", {}, "Limit ", limit), el("label", {}, "Filter ", filter),
    el("button", { id: "msg-load", type: "submit" }, "Show"));
  form.addEventListener("submit", ev => { ev.preventDefault(); load(); });
  show(el("h1", { id: "topic-title" }, "Topic ", el("span", { id: "topic-name" }, name)),
    el("p", {}, el("a", { href: "#/topics" }, "← all topics")),
    form, info,
    el("table", { id: "messages" },
      el("thead", {}, el("tr", {}, el("th", { class: "num" }, "Partition"), el("th", { class: "num" }, "Offset"),
        el("th", {}, "Timestamp"), el("th", {}, "Key"), el("th", {}, "Value"), el("th", {}, "Headers"))),
      tbody),
    prodForm);
  await load();
}

async function pageGroups() {
  const d = await api("GET", "/api/groups");
  show(el("h1", {}, "Consumer groups"),
    el("table", { id: "groups" },
      el("thead", {}, el("tr", {}, el("th", {}, "Group"), el("th", {}, "State"), el("th", {}, "Protocol"),
        el("th", { class: "num" }, "Members"), el("th", { class: "num" }, "Lag"))),
      el("tbody", {}, d.groups.map(g => el("tr", { "data-group": g.group },
        el("td", {}, el("a", { href: "#/groups/" + encodeURIComponent(g.group), class: "group-link" }, g.group)),
        el("td", { class: "state" }, g.state), el("td", {}, g.protocol_type || "-"),
        el("td", { class: "num members" }, g.member_count), el("td", { class: "num lag" }, fmtNum(g.lag)))))),
    d.groups.length ? null : el("p", { class: "muted" }, "No consumer groups."));
}

async function pageGroup(name) {
  const g = await api("GET", "/api/groups/" + encodeURIComponent(name));
  show(el("h1", {}, "Consumer group ", el("span", { id: "group-name" }, g.group)),
    el("p", {}, el("a", { href: "#/groups" }, "← all groups")),
    el("dl", { class: "stats" }, el("dt", {}, "State"), el("dd", { id: "group-state" }, g.state),
      el("dt", {}, "Members"), el("dd", {}, g.members.length),
      el("dt", {}, "Total lag"), el("dd", { id: "group-lag" }, fmtNum(g.lag)),
      el("dt", {}, "Protocol"), el("dd", {}, g.protocol_type || "-")),
    el("h2", {}, "Offsets"),
    el("table", { id: "group-offsets" },
      el("thead", {}, el("tr", {}, el("th", {}, "Topic"), el("th", { class: "num" }, "Partition"),
        el("th", { class: "num" }, "Committed"), el("th", { class: "num" }, "Log end"),
        el("th", { class: "num" }, "Lag"), el("th", {}, "Member"))),
      el("tbody", {}, g.offsets.map(o => el("tr", { "data-topic": o.topic, "data-partition": o.partition },
        el("td", {}, o.topic), el("td", { class: "num" }, o.partition),
        el("td", { class: "num committed" }, fmtNum(o.committed)), el("td", { class: "num" }, fmtNum(o.log_end)),
        el("td", { class: "num lag" }, fmtNum(o.lag)), el("td", {}, o.member || "-"))))),
    el("h2", {}, "Members"),
    el("table", { id: "group-members" },
      el("thead", {}, el("tr", {}, el("th", {}, "Member"), el("th", {}, "Client"), el("th", {}, "Host"),
        el("th", {}, "Assignment"))),
      el("tbody", {}, g.members.map(m => el("tr", {}, el("td", {}, m.member_id), el("td", {}, m.client_id),
        el("td", {}, m.host), el("td", {}, m.assignment.map(a => a.topic + "-" + a.partition).join(", ")))))));
}

// ------------------------------------------------------------ routing

async function route() {
  const h = decodeURIComponent(location.hash.replace(/^#/, "")) || "/overview";
  const parts = h.split("/").filter(Boolean);
  for (const id of ["overview", "topics", "groups"])
    document.getElementById("nav-" + id).classList.toggle("active", parts[0] === id);
  setError("");
  try {
    if (parts[0] === "topics" && parts.length > 1) await pageTopic(parts.slice(1).join("/"));
    else if (parts[0] === "topics") await pageTopics();
    else if (parts[0] === "groups" && parts.length > 1) await pageGroup(parts.slice(1).join("/"));
    else if (parts[0] === "groups") await pageGroups();
    else await pageOverview();
    document.body.dataset.page = parts.join("/") || "overview";
  } catch (e) {
    setError(e.message);
    show(el("p", { class: "muted" }, "Could not load this page."));
  }
}

async function start() {
  const r = await fetch("/api/session", { credentials: "same-origin" });
  if (r.status === 401) { location.href = "/login"; return; }
  session = await r.json();
  document.getElementById("user").textContent = session.user;
  document.getElementById("cluster-name").textContent = session.cluster;
  document.getElementById("logout").addEventListener("click", async () => {
    try { await api("POST", "/api/logout"); } finally { location.href = "/login"; }
  });
  window.addEventListener("hashchange", route);
  await route();
}

document.addEventListener("DOMContentLoaded", start);
