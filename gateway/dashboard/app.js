// The tenant dashboard: signs in with a tenant token and shows the tenant
// API's answers (/v1/...). The token comes from the URL fragment
// (#token=..., never sent to a server) or is pasted, and is kept in this
// tab's sessionStorage only. No inline code (the page's CSP forbids it);
// text from the API is only ever set as textContent.
"use strict";
(function () {
  const KEY = "tollgate.tenant_token";
  const $ = (id) => document.getElementById(id);
  const state = { token: null, db: null, charts: [], databases: [] };

  function el(tag, props, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (k === "class") e.className = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v);
    }
    for (const k of kids) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
    return e;
  }

  // ---- The API.
  class ApiError extends Error {
    constructor(status, detail) { super(detail); this.status = status; }
  }
  async function api(method, path, body) {
    const headers = { Authorization: "Bearer " + state.token };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (_) { data = null; }
    if (!res.ok) {
      const detail = (data && (data.detail || data.title || data.error)) || res.statusText;
      if (res.status === 401) signOut("Your token was refused (" + detail + "): sign in again.");
      throw new ApiError(res.status, detail);
    }
    return data;
  }
  const list = (d) => (Array.isArray(d) ? d : (d && (d.items || d.data || d.databases || d.tokens)) || []);
  async function listAll(path) {
    let items = [], cursor = null;
    for (let i = 0; i < 50; i++) {
      const sep = path.includes("?") ? "&" : "?";
      const d = await api("GET", path + (cursor ? sep + "cursor=" + encodeURIComponent(cursor) : ""));
      items = items.concat(list(d));
      cursor = d && d.next_cursor;
      if (!cursor) break;
    }
    return items;
  }
  const enc = encodeURIComponent;

  // ---- Formatting.
  const fmtInt = (n) => (n == null ? "-" : Number(n).toLocaleString("en-US"));
  function fmtMoney(micros, currency) {
    if (micros == null) return "-";
    return (micros / 1e6).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 6 }) + " " + (currency || "");
  }
  function fmtUs(us) {
    if (us == null) return "-";
    return us >= 1000 ? (us / 1000).toFixed(us >= 100000 ? 0 : 2) + " ms" : us + " µs";
  }
  function fmtDur(s) {
    if (s < 120) return s + " s";
    if (s < 7200) return Math.round(s / 60) + " min";
    if (s < 172800) return Math.round(s / 3600) + " h";
    return Math.round(s / 86400) + " days";
  }
  const fmtTime = (t) => (t ? new Date(typeof t === "number" ? t * 1000 : t).toISOString().replace(".000Z", "Z") : "-");

  // ---- Sign in and out.
  function signOut(message) {
    sessionStorage.removeItem(KEY);
    state.token = null;
    $("app").hidden = true;
    $("signout").hidden = true;
    $("signin").hidden = false;
    $("who").textContent = "";
    $("signin-error").textContent = message || "";
  }
  function tenantOf(token) {
    try {
      const p = JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
      return p.sub || "";
    } catch (_) { return ""; }
  }
  async function signIn(token) {
    state.token = token.trim();
    try {
      state.databases = await listAll("/v1/databases");
    } catch (e) {
      signOut(e.status === 401 || e.status === 403 ? "This token is not a valid tenant token." : "Could not reach the API: " + e.message);
      return;
    }
    sessionStorage.setItem(KEY, state.token);
    $("signin").hidden = true;
    $("app").hidden = false;
    $("signout").hidden = false;
    $("who").textContent = "tenant " + tenantOf(state.token);
    renderDatabases();
    loadBill();
    if (state.databases.length) selectDb(state.databases[0].id);
    else $("db-name").textContent = "No database yet";
  }

  function renderDatabases() {
    const ul = $("databases");
    ul.replaceChildren();
    for (const d of state.databases) {
      ul.append(el("li", {}, el("button", { type: "button", "data-id": d.id, "aria-current": String(d.id === state.db),
        onclick: () => selectDb(d.id) }, d.name || d.id)));
    }
  }

  async function selectDb(id) {
    state.db = id;
    renderDatabases();
    const d = state.databases.find((x) => x.id === id) || { id };
    $("db-name").textContent = d.name || id;
    $("db-meta").textContent = [id, d.isolation, d.plan_id || (d.plan && d.plan.id), d.rest_url || d.url]
      .filter(Boolean).join(" · ");
    await Promise.allSettled([loadUsage(), loadQuota(), loadTokens()]);
  }

  // ---- Usage: chart, totals, latency, top commands.
  function range() {
    const to = Math.floor(Date.now() / 1000) + 1;
    return { from: to - Number($("range").value), to };
  }
  function chart(container, title, ts, series) {
    const width = Math.max(320, container.clientWidth || 640);
    const opts = {
      title, width, height: 220,
      scales: { x: { time: true } },
      axes: [{}, { size: 60 }],
      series: [{}].concat(series.map((s) => ({ label: s.label, stroke: s.color, width: 2, fill: s.fill, points: { show: ts.length < 90 } }))),
    };
    container.replaceChildren();
    return new uPlot(opts, [ts].concat(series.map((s) => s.values)), container);
  }
  async function loadUsage() {
    const { from, to } = range();
    const step = $("step").value, id = state.db;
    $("usage-error").textContent = "";
    let u;
    try {
      u = await api("GET", `/v1/databases/${enc(id)}/usage?from=${from}&to=${to}&step=${step}`);
    } catch (e) {
      $("usage-error").textContent = e.message;
      return;
    }
    if (id !== state.db) return;
    const b = u.buckets || [];
    const ts = b.map((x) => Date.parse(x.t) / 1000), col = (k) => b.map((x) => x[k] || 0);
    const sum = (k) => b.reduce((a, x) => a + (x[k] || 0), 0);
    $("sum-requests").textContent = fmtInt(sum("requests"));
    $("sum-commands").textContent = fmtInt(sum("commands"));
    $("sum-errors").textContent = fmtInt(sum("errors"));
    $("sum-rejected").textContent = fmtInt(sum("quota_rejected"));
    state.charts.forEach((c) => c.destroy());
    state.charts = [
      chart($("chart-traffic"), "", ts, [
        { label: "requests", color: "#1f6feb", fill: "rgba(31,111,235,.08)", values: col("requests") },
        { label: "commands", color: "#2da44e", values: col("commands") },
      ]),
      chart($("chart-errors"), "", ts, [
        { label: "errors", color: "#c62828", values: col("errors") },
        { label: "quota rejections", color: "#bf8700", values: col("quota_rejected") },
      ]),
    ];
    $("chart-traffic").dataset.requests = String(sum("requests"));
    const lat = u.latency_us || {};
    $("latency").replaceChildren(...["p50", "p90", "p99", "max"].map((k) =>
      el("tr", {}, el("td", {}, k), el("td", { class: "num" }, fmtUs(lat[k])))));
    const top = u.top_commands || [];
    $("top").replaceChildren(...(top.length ? top.map((c) =>
      el("tr", {}, el("td", {}, c.name), el("td", { class: "num" }, fmtInt(c.count))))
      : [el("tr", {}, el("td", { class: "muted" }, "no commands in this range"))]));
  }

  // ---- Quotas: one gauge per limit.
  async function loadQuota() {
    const box = $("quota");
    let q;
    try {
      q = await api("GET", `/v1/databases/${enc(state.db)}/quota`);
    } catch (e) {
      box.replaceChildren(el("p", { class: "muted" }, e.status === 404 ? "No quota data." : e.message));
      return;
    }
    let limits = q && q.limits;
    if (limits && !Array.isArray(limits)) limits = Object.entries(limits).map(([name, v]) => ({ name, ...v }));
    const gauges = (limits || []).map((l) => {
      const max = l.limit ?? l.value, used = l.used ?? l.use;
      const money = /_micros$/.test(l.name), fmt = money ? (v) => fmtMoney(v, state.currency) : fmtInt;
      const g = el("div", { class: "gauge", "data-limit": l.name },
        el("div", {}, l.name.replace(/_micros$/, "").replace(/_/g, " ")));
      if (max == null) {
        g.append(el("div", { class: "muted" }, "unlimited" + (used != null ? " · used " + fmt(used) : "")));
      } else if (used == null) {
        g.append(el("div", { class: "muted" }, "at most " + fmt(max)));
      } else {
        g.append(el("meter", { min: "0", max: String(max), value: String(Math.min(used || 0, max)), high: String(max * 0.8) }),
          el("div", { class: "muted" }, `${fmt(used)} of ${fmt(max)}` +
            (l.remaining != null ? ` · ${fmt(l.remaining)} left` : "") +
            (l.reset_s != null ? ` · resets in ${fmtDur(l.reset_s)}` : l.reset ? ` · resets ${l.reset}` : "")));
      }
      return g;
    });
    box.replaceChildren(...(gauges.length ? gauges : [el("p", { class: "muted" }, "No limits.")]));
  }

  // ---- Tokens, with their usage and cost over the selected range.
  async function loadTokens() {
    const id = state.db, { from, to } = range();
    const [toks, use] = await Promise.all([
      listAll(`/v1/databases/${enc(id)}/tokens`).catch((e) => { $("token-error").textContent = e.message; return []; }),
      api("GET", `/v1/databases/${enc(id)}/usage/tokens?from=${from}&to=${to}`).catch(() => ({ tokens: [] })),
    ]);
    if (id !== state.db) return;
    const byJti = new Map((use.tokens || []).map((t) => [t.jti, t]));
    const rows = toks.map((t) => ({ ...t, use: byJti.get(t.jti) }));
    for (const [jti, u] of byJti) if (!toks.some((t) => t.jti === jti)) rows.push({ jti, use: u, unknown: true });
    const currency = state.currency;
    $("tokens").tBodies[0].replaceChildren(...rows.map((t) => {
      const revoked = !!t.revoked_at || t.status === "revoked";
      const tr = el("tr", { "data-jti": t.jti, class: revoked ? "revoked" : "" },
        el("td", {}, el("code", {}, t.jti)), el("td", {}, t.scope || "-"),
        el("td", {}, t.expires_at ? fmtTime(t.expires_at) : "-"),
        el("td", { class: "num" }, fmtInt(t.use ? t.use.requests : 0)),
        el("td", { class: "num" }, fmtInt(t.use ? t.use.commands : 0)),
        el("td", { class: "num" }, fmtMoney(t.use ? t.use.cost_micros : 0, currency)));
      const act = el("td", {});
      if (!revoked && !t.unknown)
        act.append(el("button", { type: "button", class: "revoke", onclick: () => revoke(t.jti) }, "Revoke"));
      else if (revoked) act.append("revoked");
      tr.append(act);
      return tr;
    }));
  }
  async function createToken(ev) {
    ev.preventDefault();
    $("token-error").textContent = "";
    try {
      const t = await api("POST", `/v1/databases/${enc(state.db)}/tokens`,
        { scope: $("token-scope").value, ttl_s: Number($("token-ttl").value) });
      $("new-token-value").textContent = t.token;
      $("new-token").hidden = false;
    } catch (e) {
      $("token-error").textContent = e.message;
    }
    loadTokens();
  }
  async function revoke(jti) {
    if (!window.confirm("Revoke token " + jti + "? Requests with it are refused within a second.")) return;
    try {
      await api("DELETE", `/v1/tokens/${enc(jti)}`);
    } catch (e) {
      $("token-error").textContent = e.message;
    }
    loadTokens();
  }

  // ---- The period's cost so far.
  async function loadBill() {
    const box = $("bill");
    let b;
    try {
      b = await api("GET", "/v1/billing/current");
    } catch (e) {
      box.replaceChildren(el("p", { class: "muted" }, e.message));
      return;
    }
    state.currency = b.currency;
    const kids = [el("p", {}, el("span", { class: "label" }, b.period + " so far: "),
      el("strong", { id: "bill-total" }, fmtMoney(b.total_micros, b.currency)))];
    if (b.budget_micros != null) {
      kids.push(el("meter", { min: "0", max: String(b.budget_micros), value: String(Math.min(b.total_micros, b.budget_micros)) }),
        el("p", { class: "muted" }, "budget " + fmtMoney(b.budget_micros, b.currency)));
    }
    // The lines that cost something (the export's full list is in the API).
    const name = (id) => (state.databases.find((d) => d.id === id) || {}).name || id;
    const lines = (b.lines || []).filter((l) => l.amount_micros);
    kids.push(lines.length
      ? el("table", { id: "bill-lines" }, ...lines.map((l) => el("tr", {},
          el("td", {}, l.line === "included" ? `${l.meter} included` : `${l.meter} · ${name(l.database_id)}`),
          el("td", { class: "num" }, fmtMoney(l.amount_micros, "")))))
      : el("p", { class: "muted" }, "Nothing billed yet this period."));
    box.replaceChildren(...kids);
  }

  // ---- Wiring.
  function refresh() {
    if (!state.db) return;
    loadUsage();
    loadTokens();
    loadQuota();
    loadBill();
  }
  function pickStep() {
    const r = Number($("range").value);
    $("step").value = r <= 86400 ? "minute" : r <= 604800 ? "hour" : "day";
  }
  document.addEventListener("DOMContentLoaded", () => {
    $("signin-form").addEventListener("submit", (ev) => { ev.preventDefault(); signIn($("token-input").value); $("token-input").value = ""; });
    $("signout").addEventListener("click", () => signOut(""));
    $("range").addEventListener("change", () => { pickStep(); loadUsage(); loadTokens(); });
    $("step").addEventListener("change", loadUsage);
    $("refresh").addEventListener("click", refresh);
    $("token-form").addEventListener("submit", createToken);
    $("new-token-copy").addEventListener("click", () => navigator.clipboard && navigator.clipboard.writeText($("new-token-value").textContent));
    $("new-token-done").addEventListener("click", () => { $("new-token-value").textContent = ""; $("new-token").hidden = true; });
    // A token in the fragment: take it and drop it from the address bar.
    const m = /(?:^|[#&])token=([^&]+)/.exec(location.hash);
    if (m) history.replaceState(null, "", location.pathname);
    const token = m ? decodeURIComponent(m[1]) : sessionStorage.getItem(KEY);
    if (token) signIn(token);
  });
})();
