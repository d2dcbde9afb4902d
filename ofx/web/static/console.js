// The OFX console: renders each page from the JSON API (/api/, docs/admin-api.md),
// draws charts as SVG, and switches labels between Chinese and English.
// No third-party code: the console works on a machine with no internet.
"use strict";

const T = {
  "nav.services": ["服务", "Services"], "nav.info": ["基本信息", "Basic information"],
  "nav.users": ["客户账号", "Client accounts"], "nav.settings": ["服务器设置", "Settings"],
  "nav.data": ["当日数据", "The day's data"], "nav.monitor": ["内存监控", "Memory monitor"],
  "signout": ["退出", "Sign out"], "lang": ["English", "中文"],
  "signin.title": ["网关管理登录", "Gateway console sign-in"], "signin.user": ["用户名", "User"],
  "signin.password": ["密码", "Password"], "signin.submit": ["登录", "Sign in"],
  "services.title": ["启动和停止服务", "Start and stop services"],
  "start.all": ["全部启动", "Start all"], "stop.all": ["全部停止", "Stop all"], "refresh": ["刷新", "Refresh"],
  "col.no": ["#", "#"], "col.service": ["服务名", "Service"], "col.state": ["状态", "State"],
  "col.action": ["操作", "Action"], "col.detail": ["说明", "Details"],
  "start": ["启动", "Start"], "stop": ["停止", "Stop"],
  "state.running": ["运行中", "running"], "state.stopped": ["已停止", "stopped"],
  "state.failed": ["失败", "failed"], "state.starting": ["启动中", "starting"], "state.stopping": ["停止中", "stopping"],
  "info.title": ["基本信息", "Basic information"],
  "info.version": ["软件版本", "Software version"], "info.architecture": ["系统架构", "Architecture"],
  "info.os": ["操作系统", "Operating system"], "info.folder": ["工作目录", "Working folder"],
  "info.data": ["数据目录", "Data folder"], "info.customer": ["客户名称", "Customer"],
  "info.account": ["XTP 账号", "XTP account"], "info.deployed": ["部署日期", "Deployment date"],
  "info.login": ["网关登录地址", "Gateway login address"], "info.quote": ["网关行情地址", "Gateway quote address"],
  "info.trade": ["网关交易地址", "Gateway trade address"], "info.xtp_backend": ["柜台", "Counter"],
  "info.xtp_quote": ["XTP 行情服务器", "XTP quote server"], "info.xtp_trade": ["XTP 交易服务器", "XTP trade server"],
  "info.key_version": ["密钥版本", "Key version"],
  "users.title": ["客户账号", "Client accounts"], "users.add": ["添加账号", "Add account"],
  "users.name": ["用户名", "Name"], "users.password": ["密码", "Password"],
  "users.gateway": ["网关 (可选)", "Gateway (optional)"], "users.state": ["状态", "State"],
  "users.last": ["最后登录", "Last login"], "users.authcodes": ["授权码", "Authcodes"],
  "users.enabled": ["正常", "enabled"], "users.disabled": ["已禁用", "disabled"], "users.never": ["从未", "never"],
  "disable": ["禁用", "Disable"], "enable": ["启用", "Enable"], "reset": ["重置密码", "Reset password"],
  "delete": ["删除", "Delete"], "revoke": ["撤销", "Revoke"], "this.gateway": ["本网关", "this gateway"],
  "ask.password": ["新密码：", "New password:"], "ask.delete": ["删除用户 ", "Delete user "],
  "settings.title": ["服务器设置", "Settings"], "col.section": ["节", "Section"], "col.key": ["键", "Key"], "col.value": ["值", "Value"],
  "data.title": ["当日数据", "The day's data"], "data.date": ["日期", "Date"], "data.table": ["数据", "Table"],
  "data.stock": ["股票", "Stock"], "data.status": ["状态", "Status"], "data.query": ["查询", "Query"],
  "data.csv": ["下载 CSV", "Download CSV"], "data.next": ["下一页", "Next page"], "data.rows": ["行", "rows"],
  "data.all": ["全部", "all"],
  "t.orders": ["委托", "Orders"], "t.trades": ["成交", "Trades"], "t.order-events": ["委托回报", "Order events"],
  "t.trade-events": ["成交回报", "Trade events"], "t.quotes": ["最新行情", "Latest quotes"],
  "t.snapshots": ["当日快照", "Day's snapshots"], "t.asset": ["资产", "Asset"], "t.positions": ["持仓", "Positions"],
  "t.journal": ["日志", "Journal"],
  "monitor.title": ["内存监控", "Memory monitor"], "monitor.rss": ["内存 (MB)", "Memory (MB)"],
  "monitor.connections": ["前端连接数", "Connections per front service"],
  "monitor.events": ["每秒事件数", "Events per second"], "monitor.stopped": ["内存监控已停止", "The memory monitor is stopped"],
  "chart.price": ["价格", "Price"], "empty": ["无数据", "No data"],
};
const STATUS = [[0, "初始化", "init"], [1, "全部成交", "all traded"], [2, "部分成交", "part traded"],
  [3, "部分撤单", "part cancelled"], [4, "未成交", "queueing"], [5, "已撤单", "cancelled"], [6, "已拒绝", "rejected"], [7, "未知", "unknown"]];

let lang = localStorage.getItem("ofx-lang") === "en" ? 1 : 0;
const t = (key) => (T[key] ? T[key][lang] : key);
const $ = (sel, root) => (root || document).querySelector(sel);
const csrf = () => ($('meta[name="csrf-token"]') || {}).content || "";
const page = () => ($('meta[name="ofx-page"]') || {}).content || "services";
let timer = null;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "onclick" || k === "onchange" || k === "onsubmit") node.addEventListener(k.slice(2), v);
    else if (k === "i18n") { node.dataset.i18n = v; node.textContent = t(v); }
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c));
  return node;
}

function applyLang() {
  document.documentElement.lang = lang ? "en" : "zh-CN";
  document.querySelectorAll("[data-i18n]").forEach((n) => { n.textContent = t(n.dataset.i18n); });
  document.querySelectorAll("#lang").forEach((b) => { b.textContent = t("lang"); });
}

function say(text, bad) { const s = $("#status"); if (s) { s.textContent = text || ""; s.className = bad ? "error" : ""; } }

async function api(path, body) {
  const init = { credentials: "same-origin", headers: {} };
  if (body !== undefined) {
    init.method = "POST";
    init.headers["Content-Type"] = "application/json";
    init.headers["X-CSRF-Token"] = csrf();
    init.body = JSON.stringify(body);
  }
  const answer = await fetch("/api/" + path, init);
  if (answer.status === 401) { location.href = "/signin"; throw new Error("signed out"); }
  const value = await answer.json();
  if (!answer.ok) throw new Error(value.error || answer.statusText);
  return value;
}

async function act(path, body, after) {
  try { const r = await api(path, body); say(""); if (after) await after(r); return r; }
  catch (e) { say(e.message, true); return null; }
}

const time = (s) => (s ? new Date(s * 1000).toLocaleString(lang ? "en-GB" : "zh-CN", { hour12: false }) : t("users.never"));
const clear = (node) => { while (node.firstChild) node.removeChild(node.firstChild); return node; };

// -- services ----------------------------------------------------------

function servicesPage(main) {
  const body = el("tbody");
  main.append(
    el("h2", { i18n: "services.title" }),
    el("div", { class: "toolbar" },
      el("button", { id: "start-all", class: "primary", i18n: "start.all", onclick: () => act("services/start-all", {}, draw) }),
      el("button", { id: "stop-all", i18n: "stop.all", onclick: () => act("services/stop-all", {}, draw) }),
      el("button", { id: "refresh", i18n: "refresh", onclick: () => draw() })),
    el("table", { id: "services" },
      el("thead", {}, el("tr", {}, ["col.no", "col.service", "col.state", "col.action", "col.detail"].map((k) => el("th", { i18n: k })))),
      body));
  async function draw() {
    const rows = await api("services");
    clear(body);
    for (const r of rows) {
      const detail = r.detail ? [r.detail.state, r.detail.last_error ? r.detail.last_error.error_id + " " + r.detail.last_error.error_msg : ""].filter(Boolean).join(" · ") : "";
      body.append(el("tr", { "data-name": r.name, "data-state": r.state },
        el("td", {}, r.no),
        el("td", {}, el("span", { "data-zh": r.zh }, lang ? r.en : r.zh), " ", el("code", {}, r.name)),
        el("td", { class: "state state-" + r.state }, t("state." + r.state)),
        el("td", {},
          el("button", { "data-action": "start", "data-name": r.name, disabled: r.state === "running", onclick: () => act("services/start", { name: r.name }, draw) }, t("start")), " ",
          el("button", { "data-action": "stop", "data-name": r.name, disabled: r.state === "stopped" || r.state === "failed", onclick: () => act("services/stop", { name: r.name }, draw) }, t("stop"))),
        el("td", { class: r.error ? "why" : "muted" }, r.error || detail)));
    }
  }
  draw();
  timer = setInterval(() => draw().catch(() => {}), 2000);
}

// -- basic information and settings --------------------------------------------------

async function infoPage(main) {
  const info = await api("info");
  main.append(el("h2", { i18n: "info.title" }), el("table", { id: "info", class: "kv" }, el("tbody", {},
    Object.entries(info).map(([k, v]) => el("tr", { "data-key": k }, el("th", { i18n: "info." + k }), el("td", {}, v || "—"))))));
}

async function settingsPage(main) {
  const rows = await api("settings");
  main.append(el("h2", { i18n: "settings.title" }), el("table", { id: "settings" },
    el("thead", {}, el("tr", {}, ["col.section", "col.key", "col.value"].map((k) => el("th", { i18n: k })))),
    el("tbody", {}, rows.map((r) => el("tr", {}, el("td", {}, "[" + r.section + "]"), el("td", {}, r.key), el("td", {}, String(r.value)))))));
}

// -- client accounts -----------------------------------------------------------

function usersPage(main) {
  const body = el("tbody");
  const form = el("form", { id: "add-user", class: "toolbar" },
    el("input", { name: "name", placeholder: t("users.name"), required: true }),
    el("input", { name: "password", type: "password", placeholder: t("users.password"), autocomplete: "new-password", required: true }),
    el("input", { name: "gateway", placeholder: t("users.gateway"), size: 30 }),
    el("button", { class: "primary", type: "submit", i18n: "users.add" }));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const f = new FormData(form);
    act("users/add", { name: f.get("name"), password: f.get("password"), gateway: f.get("gateway") }, () => { form.reset(); return draw(); });
  });
  main.append(el("h2", { i18n: "users.title" }), form, el("table", { id: "users" },
    el("thead", {}, el("tr", {}, ["users.name", "users.state", "users.last", "users.gateway", "users.authcodes", "col.action"].map((k) => el("th", { i18n: k })))),
    body));
  async function draw() {
    const users = await api("users");
    clear(body);
    for (const u of users) {
      const codes = u.authcodes.map((c) => el("div", { "data-authcode": c.id }, el("code", {}, c.shown), " → " + time(c.expires) + " ",
        el("button", { "data-action": "revoke", onclick: () => act("authcodes/revoke", { id: c.id }, draw) }, t("revoke"))));
      body.append(el("tr", { "data-user": u.name, "data-disabled": u.disabled ? "yes" : "no" },
        el("td", {}, u.name),
        el("td", { class: u.disabled ? "state-failed" : "state-running" }, t(u.disabled ? "users.disabled" : "users.enabled")),
        el("td", {}, time(u.last_login)),
        el("td", {}, u.gateway || t("this.gateway")),
        el("td", {}, codes.length ? codes : "—"),
        el("td", {},
          u.disabled
            ? el("button", { "data-action": "enable", onclick: () => act("users/enable", { name: u.name }, draw) }, t("enable"))
            : el("button", { "data-action": "disable", onclick: () => act("users/disable", { name: u.name }, draw) }, t("disable")), " ",
          el("button", { "data-action": "reset", onclick: () => { const p = prompt(t("ask.password")); if (p) act("users/reset", { name: u.name, password: p }, draw); } }, t("reset")), " ",
          el("button", { "data-action": "delete", class: "danger", onclick: () => { if (confirm(t("ask.delete") + u.name + "?")) act("users/delete", { name: u.name }, draw); } }, t("delete")))));
    }
  }
  draw();
  timer = setInterval(() => draw().catch(() => {}), 5000);
}

// -- the day's data ------------------------------------------------------------

const TABLES = ["orders", "trades", "order-events", "trade-events", "quotes", "snapshots", "asset", "positions", "journal"];

async function dataPage(main) {
  const days = await api("days");
  const date = el("select", { id: "date" }, (days.days.length ? days.days : [days.today]).slice().reverse().map((d) => el("option", { value: d }, d)));
  const table = el("select", { id: "table" }, TABLES.map((n) => el("option", { value: n, "data-i18n": "t." + n }, t("t." + n))));
  const stock = el("input", { id: "stock", placeholder: "600000.SH", size: 12 });
  const status = el("select", { id: "status" }, el("option", { value: "" }, t("data.all")), STATUS.map(([n, zh, en]) => el("option", { value: String(n) }, lang ? en : zh)));
  const csv = el("a", { id: "csv", href: "#", download: "", i18n: "data.csv" });
  const next = el("button", { id: "next", i18n: "data.next", disabled: true });
  const count = el("span", { class: "muted", id: "count" });
  const chart = el("div", { class: "chart", id: "price-chart", hidden: true });
  const out = el("div", { class: "scroll" });
  let after = 0;
  const params = () => {
    const p = new URLSearchParams({ date: date.value });
    if (stock.value.trim()) p.set("stock", stock.value.trim());
    if (status.value) p.set("status", status.value);
    if (table.value === "journal" && after) p.set("after", String(after));
    return p;
  };
  async function query(page) {
    if (!page) after = 0;
    const p = params();
    const value = await act(table.value + "?" + p);
    const csvParams = params(); csvParams.set("format", "csv");
    csv.href = "/api/" + table.value + "?" + csvParams;
    clear(out);
    if (!value) return;
    count.textContent = value.rows.length + " " + t("data.rows");
    after = value.next || 0;
    next.disabled = !value.next;
    out.append(grid(value));
    chart.hidden = table.value !== "snapshots" || !value.rows.length;
    if (!chart.hidden) {
      clear(chart).append(el("h3", {}, t("chart.price") + " " + stock.value));
      chart.append(lineChart([{ name: stock.value, points: value.rows.map((r) => [xtpTime(r.data_time), r.last_price]) }], (v) => v.toFixed(2)));
    }
  }
  next.addEventListener("click", () => query(true));
  main.append(el("h2", { i18n: "data.title" }),
    el("div", { class: "toolbar" },
      el("label", {}, t("data.date") + " ", date), el("label", {}, t("data.table") + " ", table),
      el("label", {}, t("data.stock") + " ", stock), el("label", {}, t("data.status") + " ", status),
      el("button", { id: "query", class: "primary", i18n: "data.query", onclick: () => query(false) }), csv, next, count),
    chart, out);
  query(false);
}

function xtpTime(v) {
  const s = String(v || "");
  if (s.length < 14) return Date.now() / 1000;
  const d = new Date(+s.slice(0, 4), +s.slice(4, 6) - 1, +s.slice(6, 8), +s.slice(8, 10), +s.slice(10, 12), +s.slice(12, 14));
  return d.getTime() / 1000 + (+s.slice(14) || 0) / 1000;
}

function grid(value) {
  const cols = value.columns.length ? value.columns : ["—"];
  return el("table", { id: "data", "data-table": value.table },
    el("thead", {}, el("tr", {}, cols.map((c) => el("th", {}, c)))),
    el("tbody", {}, value.rows.length ? value.rows.map((r) => el("tr", {}, cols.map((c) => {
      const v = r[c];
      const shown = c === "ts" ? time(v) : (v !== null && typeof v === "object") ? JSON.stringify(v) : (v === undefined || v === null ? "" : String(v));
      return el("td", { class: typeof v === "number" ? "num" : null, "data-col": c }, shown);
    }))) : el("tr", {}, el("td", { colspan: cols.length, class: "muted", i18n: "empty" }))));
}

// -- charts (SVG) --------------------------------------------------------------

const COLOURS = ["#0b6bcb", "#c62828", "#1a7f37", "#b26a00", "#6f42c1"];
const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs, text) {
  const n = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
  if (text !== undefined) n.textContent = text;
  return n;
}

function lineChart(series, fmt) {
  const W = 600, H = 220, L = 56, R = 10, TOP = 10, B = 24;
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "none", role: "img" });
  const all = series.flatMap((s) => s.points).filter((p) => p[1] !== null && p[1] !== undefined && !isNaN(p[1]));
  if (!all.length) { root.append(svg("text", { x: W / 2, y: H / 2, "text-anchor": "middle" }, t("empty"))); return wrap(root, series); }
  let [x0, x1] = [Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0]))];
  let [y0, y1] = [Math.min(...all.map((p) => p[1])), Math.max(...all.map((p) => p[1]))];
  if (x1 === x0) x1 = x0 + 1;
  const floor = y0 >= 0 ? 0 : -Infinity;
  if (y1 === y0) { y1 += 1; y0 = Math.max(floor, y0 - 1); }
  const pad = (y1 - y0) * 0.05; y0 = Math.max(floor, y0 - pad); y1 += pad;
  const X = (x) => L + ((x - x0) / (x1 - x0)) * (W - L - R);
  const Y = (y) => TOP + (1 - (y - y0) / (y1 - y0)) * (H - TOP - B);
  for (let i = 0; i <= 4; i++) {
    const v = y0 + ((y1 - y0) * i) / 4;
    root.append(svg("line", { class: "grid", x1: L, x2: W - R, y1: Y(v), y2: Y(v) }));
    root.append(svg("text", { x: L - 4, y: Y(v) + 4, "text-anchor": "end" }, fmt(v)));
  }
  root.append(svg("line", { class: "axis", x1: L, x2: L, y1: TOP, y2: H - B }));
  root.append(svg("line", { class: "axis", x1: L, x2: W - R, y1: H - B, y2: H - B }));
  const hhmm = (s) => new Date(s * 1000).toTimeString().slice(0, 5);
  root.append(svg("text", { x: L, y: H - 6 }, hhmm(x0)));
  root.append(svg("text", { x: W - R, y: H - 6, "text-anchor": "end" }, hhmm(x1)));
  series.forEach((s, i) => {
    const pts = s.points.filter((p) => p[1] !== null && p[1] !== undefined).map((p) => `${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`).join(" ");
    root.append(svg("polyline", { points: pts, fill: "none", stroke: COLOURS[i % COLOURS.length], "stroke-width": 1.6, "data-series": s.name }));
  });
  return wrap(root, series);
}

function wrap(root, series) {
  return el("div", {}, root, el("div", { class: "legend" }, series.map((s, i) => { const n = el("span", {}, "■ " + s.name); n.style.color = COLOURS[i % COLOURS.length]; return n; })));
}

// -- memory monitor ------------------------------------------------------------

function monitorPage(main) {
  const box = el("div", { class: "charts" });
  const note = el("p", { class: "muted", id: "monitor-note" });
  main.append(el("h2", { i18n: "monitor.title" }), note, box);
  async function draw() {
    const m = await api("monitor");
    note.textContent = m.running ? "" : t("monitor.stopped");
    const s = m.samples;
    const fronts = [...new Set(s.flatMap((x) => Object.keys(x.connections)))];
    clear(box).append(
      chartBox("chart-rss", t("monitor.rss"), [{ name: "RSS", points: s.map((x) => [x.at, x.rss / 1048576]) }], (v) => v.toFixed(1)),
      chartBox("chart-connections", t("monitor.connections"), fronts.map((f) => ({ name: f, points: s.map((x) => [x.at, x.connections[f] || 0]) })), (v) => v.toFixed(0)),
      chartBox("chart-events", t("monitor.events"), [{ name: "events/s", points: s.map((x) => [x.at, x.events_per_second]) }], (v) => v.toFixed(1)));
  }
  draw();
  timer = setInterval(() => draw().catch(() => {}), 5000);
}

function chartBox(id, title, series, fmt) {
  return el("div", { class: "chart", id }, el("h3", {}, title), lineChart(series, fmt));
}

// -- start -----------------------------------------------------------------------

const PAGES = { services: servicesPage, info: infoPage, users: usersPage, settings: settingsPage, data: dataPage, monitor: monitorPage };

function render() {
  if (timer) { clearInterval(timer); timer = null; }
  const main = $("#main");
  if (!main) return;
  clear(main);
  document.querySelectorAll("nav a").forEach((a) => a.classList.toggle("current", a.dataset.page === page()));
  Promise.resolve((PAGES[page()] || servicesPage)(main)).then(applyLang).catch((e) => say(e.message, true));
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("#lang").forEach((b) => b.addEventListener("click", () => {
    lang = 1 - lang; localStorage.setItem("ofx-lang", lang ? "en" : "zh"); applyLang(); render();
  }));
  const out = $("#signout");
  if (out) out.addEventListener("click", async () => {
    try { await api("signout", {}); } catch (e) { /* signed out either way */ }
    location.href = "/signin";
  });
  applyLang();
  render();
});
