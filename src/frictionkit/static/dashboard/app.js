/* frictionkit dashboard: one page over the JSON API (docs/dashboard.md).
   Every value from the API reaches the page through textContent (the el() helper) or,
   for chart labels, through plotText(); never as HTML markup. */
(function () {
  "use strict";

  var KEY_SLOT = "frictionkit.readKey";
  var view = document.getElementById("view");
  var statusLine = document.getElementById("status");
  var filtersForm = document.getElementById("filters");
  var renderToken = 0;
  var scopes = [];

  // ---------------------------------------------------------------- DOM helpers
  function el(tag, attrs) {
    var node = document.createElement(tag);
    var a = attrs || {};
    Object.keys(a).forEach(function (k) {
      var v = a[k];
      if (v == null || v === false) return;
      if (k === "text") node.textContent = String(v);
      else if (k === "class") node.className = v;
      else if (k.slice(0, 2) === "on") node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : String(v));
    });
    for (var i = 2; i < arguments.length; i++) append(node, arguments[i]);
    return node;
  }
  function append(node, child) {
    if (child == null || child === false) return;
    if (Array.isArray(child)) { child.forEach(function (c) { append(node, c); }); return; }
    node.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  // Plotly renders a small subset of HTML in labels: entities keep data as text.
  function plotText(s) {
    return String(s == null ? "" : s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }
  // Category axis ticks cut to fit the chart's width (the full text stays in the hover).
  function ticks(values, box) {
    var max = box.clientWidth < 600 ? 16 : 40;
    return { type: "category", automargin: true, tickvals: values,
      ticktext: values.map(function (v) { var t = String(v); return t.length > max ? plotText(String(v).slice(0, max - 1)) + "…" : plotText(t); }) };
  }
  function say(text, isError) {
    statusLine.textContent = text || "";
    statusLine.className = isError ? "error" : "";
  }

  // ---------------------------------------------------------------- formatting
  function pct(x) { return x == null ? "–" : (100 * x).toFixed(1) + " %"; }
  function score(x) { return x == null ? "–" : Number(x).toFixed(3); }
  function int(x) { return x == null ? "–" : Math.round(x).toLocaleString("en-US"); }
  function dur(ms) {
    if (ms == null) return "–";
    var s = ms / 1000;
    if (s < 60) return s.toFixed(1) + " s";
    if (s < 3600) { var r = Math.round(s); return Math.floor(r / 60) + " min " + (r % 60) + " s"; }
    return (s / 3600).toFixed(1) + " h";
  }
  function when(ts) { return ts ? ts.replace("T", " ").replace(/\.\d+Z$/, " UTC").replace(/Z$/, " UTC") : "–"; }
  function plural(n, one, many) { return int(n) + " " + (n === 1 ? one : many); }

  // ---------------------------------------------------------------- URL state
  /* The segment filters (docs/api.md, "Segments"): URL parameter, API parameter, filter-bar field, datalist. */
  var SEGMENT = [
    { param: "device", api: "deviceType", input: "f-device" },
    { param: "browser", api: "browser", input: "f-browser", list: "l-browser" },
    { param: "os", api: "os", input: "f-os", list: "l-os" },
    { param: "app", api: "appName", input: "f-app", list: "l-app" },
    { param: "appVersion", api: "appVersion", input: "f-app-version", list: "l-app-version" }
  ];
  var FILTER_KEYS = ["org", "product", "from", "to"].concat(SEGMENT.map(function (s) { return s.param; }));
  function route() {
    var raw = location.hash.replace(/^#\/?/, "");
    var q = raw.indexOf("?");
    var name = (q < 0 ? raw : raw.slice(0, q)) || "overview";
    return { name: name, params: new URLSearchParams(q < 0 ? "" : raw.slice(q + 1)) };
  }
  function filterParams() {
    var p = route().params, out = new URLSearchParams();
    FILTER_KEYS.forEach(function (k) { if (p.get(k)) out.set(k, p.get(k)); });
    return out;
  }
  function href(name, extra) {
    var p = filterParams();
    Object.keys(extra || {}).forEach(function (k) { if (extra[k] != null && extra[k] !== "") p.set(k, extra[k]); });
    var qs = p.toString();
    return "#/" + name + (qs ? "?" + qs : "");
  }
  function go(name, extra) { location.hash = href(name, extra); }
  function apiFilters(overrides) {
    var p = filterParams(), q = {};
    if (p.get("org")) q.orgId = p.get("org");
    if (p.get("product")) q.productId = p.get("product");
    if (p.get("from")) q.from = p.get("from");
    if (p.get("to")) q.to = p.get("to");
    SEGMENT.forEach(function (s) { if (p.get(s.param)) q[s.api] = p.get(s.param); });
    return Object.assign(q, overrides || {});
  }

  // ---------------------------------------------------------------- API
  function readKey() { try { return sessionStorage.getItem(KEY_SLOT); } catch (e) { return null; } }
  function setKey(k) { try { if (k) sessionStorage.setItem(KEY_SLOT, k); else sessionStorage.removeItem(KEY_SLOT); } catch (e) { /* */ } }

  function ApiFailure(status, body) { this.status = status; this.body = body || {}; this.message = this.body.error || ("HTTP " + status); }
  function api(path, params) {
    var qs = new URLSearchParams();
    Object.keys(params || {}).forEach(function (k) { if (params[k] != null && params[k] !== "") qs.set(k, params[k]); });
    var url = path + (qs.toString() ? "?" + qs.toString() : "");
    return fetch(url, { headers: { Authorization: "Bearer " + readKey(), Accept: "application/json" }, credentials: "omit" })
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (body) {
          if (!r.ok) throw new ApiFailure(r.status, body);
          return body;
        });
      });
  }

  // ---------------------------------------------------------------- sign-in
  function showLogin(message) {
    document.getElementById("login").hidden = false;
    filtersForm.hidden = true;
    document.getElementById("signout").hidden = true;
    clear(view);
    say("");
    document.getElementById("login-error").textContent = message || "";
    document.getElementById("login-key").focus();
  }
  document.getElementById("login-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var input = document.getElementById("login-key");
    setKey(input.value.trim());
    input.value = "";
    start();
  });
  document.getElementById("signout").addEventListener("click", function () { setKey(null); showLogin("Signed out."); });

  function bootstrapKey() {
    if (readKey()) return Promise.resolve(readKey());
    return fetch("/dashboard/bootstrap", { headers: { "X-Frictionkit-Dashboard": "1" }, credentials: "omit" })
      .then(function (r) { return r.json(); })
      .then(function (b) { if (b.devKey) setKey(b.devKey); return readKey(); })
      .catch(function () { return null; });
  }

  // ---------------------------------------------------------------- filters
  function fillFilters() {
    var p = filterParams();
    var orgSel = document.getElementById("f-org"), prodSel = document.getElementById("f-product");
    var orgs = [];
    scopes.forEach(function (s) { if (orgs.indexOf(s.orgId) < 0) orgs.push(s.orgId); });
    clear(orgSel);
    orgs.forEach(function (o) { orgSel.appendChild(el("option", { value: o, text: o })); });
    orgSel.value = p.get("org") || "";
    function products() {
      clear(prodSel);
      scopes.filter(function (s) { return s.orgId === orgSel.value; }).forEach(function (s) {
        prodSel.appendChild(el("option", { value: s.productId, text: s.productId + " (" + int(s.sessions) + (s.sessions === 1 ? " session)" : " sessions)") }));
      });
    }
    products();
    prodSel.value = p.get("product") || "";
    orgSel.onchange = function () { products(); };
    document.getElementById("f-from").value = p.get("from") || "";
    document.getElementById("f-to").value = p.get("to") || "";
    SEGMENT.forEach(function (s) { document.getElementById(s.input).value = p.get(s.param) || ""; });
    var chosen = SEGMENT.filter(function (s) { return p.get(s.param); }).map(function (s) { return p.get(s.param); });
    document.getElementById("f-segment-text").textContent = chosen.length ? chosen.join(" · ") : "all sessions";
    suggestSegments(p.get("org"), p.get("product"));
  }
  // The values the scope's sessions have, as suggestions (any text is accepted).
  var suggested = null;
  function suggestSegments(org, product) {
    if (!org || !product || suggested === org + "/" + product) return;
    suggested = org + "/" + product;
    api("/dashboard/segments", { orgId: org, productId: product }).then(function (values) {
      SEGMENT.forEach(function (s) {
        if (!s.list) return;
        var list = document.getElementById(s.list);
        clear(list);
        (values[s.api] || []).forEach(function (v) {
          list.appendChild(el("option", { value: v.value, label: v.value + " (" + plural(v.sessions, "session", "sessions") + ")" }));
        });
      });
    }).catch(function () { suggested = null; });
  }
  filtersForm.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var r = route(), p = new URLSearchParams();
    var vals = { org: document.getElementById("f-org").value, product: document.getElementById("f-product").value,
      from: document.getElementById("f-from").value, to: document.getElementById("f-to").value };
    SEGMENT.forEach(function (s) { vals[s.param] = document.getElementById(s.input).value.trim(); });
    Object.keys(vals).forEach(function (k) { if (vals[k]) p.set(k, vals[k]); });
    // Screen, task and session choices belong to one org/product: keep them only when it is unchanged.
    var same = vals.org === filterParams().get("org") && vals.product === filterParams().get("product");
    if (same) r.params.forEach(function (v, k) { if (FILTER_KEYS.indexOf(k) < 0) p.set(k, v); });
    var name = same ? r.name : (r.name === "session" || r.name === "sessions" ? "sessions" : r.name);
    location.hash = "#/" + name + "?" + p.toString();
  });
  document.getElementById("f-clear").addEventListener("click", function () {
    document.getElementById("f-from").value = "";
    document.getElementById("f-to").value = "";
    filtersForm.requestSubmit();
  });
  document.getElementById("f-any").addEventListener("click", function () {
    SEGMENT.forEach(function (s) { document.getElementById(s.input).value = ""; });
    filtersForm.requestSubmit();
  });

  // The org/product in the URL, or the pair with the most sessions.
  function ensureScope() {
    var p = filterParams();
    var ok = scopes.some(function (s) { return s.orgId === p.get("org") && s.productId === p.get("product"); });
    if (ok || !scopes.length) return true;
    var best = scopes.slice().sort(function (a, b) { return b.sessions - a.sessions; })[0];
    var r = route();
    r.params.set("org", best.orgId);
    r.params.set("product", best.productId);
    history.replaceState(null, "", "#/" + r.name + "?" + r.params.toString());
    return true;
  }

  // ---------------------------------------------------------------- shared pieces
  function chart(node, data, layout) {
    if (!window.Plotly) { node.appendChild(el("p", { class: "muted", text: "Charts need plotly (pip install 'frictionkit[serve]')." })); return; }
    var base = { margin: { l: 40, r: 10, t: 10, b: 40 }, paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)",
      font: { family: "system-ui, sans-serif", size: 12 }, autosize: true };
    window.Plotly.newPlot(node, data, Object.assign(base, layout || {}), { displayModeBar: false, responsive: true });
  }
  // An error the app reported vs the incident of a click an error followed: never both "error".
  var ERROR_EVENT = "error event";
  var INCIDENT_LABELS = { rage_click: "rage click", backtrack: "backtrack", abandoned_task: "abandoned task",
    error_click: "click on an error" };
  function incidentLabel(type) { return INCIDENT_LABELS[type] || type.replace(/_/g, " "); }
  function symptoms(h) {
    var list = [
      { key: "rage", label: "rage clicks", n: h.rageClicks || 0 },
      { key: "backtrack", label: "backtracks", n: h.backtracks || 0 },
      { key: "error", label: "error events", n: h.errors || 0 },  // every error reported, not the clicks on errors (incidents)
      { key: "dropoff", label: "drop-offs", n: h.abandonedTasks || 0 },
      { key: "loop", label: "loops", n: h.loops || 0 },
      { key: "dead", label: "dead clicks", n: h.deadClicks || 0 }
    ].filter(function (s) { return s.n > 0; });
    list.sort(function (a, b) { return b.n - a.n; });
    return list;
  }
  function chips(list, max) {
    if (!list.length) return el("span", { class: "muted", text: "none" });
    return el("span", { class: "chips" }, list.slice(0, max || 4).map(function (s) {
      return el("span", { class: "chip " + s.key, text: s.label + " " + int(s.n) });
    }));
  }
  function screenLink(screenId) {
    return el("a", { class: "screen", href: href("sessions", { screen: screenId }), text: screenId,
      title: "Sessions with an event on this screen" });
  }
  function heading(text, sub) {
    var p = filterParams();
    var segment = SEGMENT.filter(function (s) { return p.get(s.param); }).map(function (s) { return p.get(s.param); });
    // sub: text, or a node the view keeps updating (the hotspots' sort)
    return [el("h1", { text: text }), el("p", { class: "muted subtitle" }, sub || null, sub ? " · " : null, (p.get("org") || "") + " / " +
      (p.get("product") || "") + " · " + (p.get("from") || p.get("to") ? (p.get("from") || "…") + " → " + (p.get("to") || "…") : "all dates") +
      (segment.length ? " · " + segment.join(" · ") : ""))];
  }

  /* A sortable table. columns: {key, label, num, value(row) -> sortable, cell(row) -> node|text, hideNarrow}. */
  function sortableTable(caption, columns, rows, opts) {
    opts = opts || {};
    var state = { key: opts.sortKey || columns[0].key, dir: opts.sortDir || "desc" };
    var table = el("table", { class: "responsive" });
    table.appendChild(el("caption", { class: "muted", text: caption }));
    var thead = el("thead"), headRow = el("tr"), tbody = el("tbody");
    thead.appendChild(headRow); table.appendChild(thead); table.appendChild(tbody);
    columns.forEach(function (c) {
      var th = el("th", { scope: "col", class: (c.num ? "num " : "") + (c.hideNarrow ? "hide-narrow" : "") });
      if (c.value) {
        th.appendChild(el("button", { type: "button", text: c.label, onclick: function () {
          state.dir = state.key === c.key && state.dir === "desc" ? "asc" : "desc";
          state.key = c.key;
          draw();
        } }));
      } else th.textContent = c.label;
      c.th = th;
      headRow.appendChild(th);
    });
    function draw() {
      var col = columns.filter(function (c) { return c.key === state.key; })[0];
      var sorted = rows.slice().sort(function (a, b) {
        var x = col.value(a), y = col.value(b), r = x < y ? -1 : x > y ? 1 : 0;
        return state.dir === "asc" ? r : -r;
      });
      if (opts.onSort) opts.onSort(col, state.dir);
      columns.forEach(function (c) {
        if (c.value) c.th.setAttribute("aria-sort", c.key === state.key ? (state.dir === "asc" ? "ascending" : "descending") : "none");
      });
      clear(tbody);
      sorted.forEach(function (row) {
        var tr = el("tr", { class: opts.onRow ? "clickable" : "" });
        columns.forEach(function (c) {
          var v = c.cell ? c.cell(row) : c.value(row);
          tr.appendChild(el("td", { class: (c.num ? "num " : "") + (c.hideNarrow ? "hide-narrow" : ""), "data-label": c.label }, v));
        });
        if (opts.onRow) tr.addEventListener("click", function (ev) { if (!ev.target.closest("a,button")) opts.onRow(row); });
        tbody.appendChild(tr);
      });
      if (!sorted.length) tbody.appendChild(el("tr", {}, el("td", { colspan: columns.length, class: "muted", text: "No data in this window." })));
    }
    draw();
    return el("div", { class: "tablewrap" }, table);
  }

  // ---------------------------------------------------------------- views
  function previousWindow(o) {
    var from = Date.parse(o.from), to = Date.parse(o.to);
    return { from: new Date(from - (to - from)).toISOString(), to: new Date(from).toISOString() };
  }
  /* The change against the previous window. kind: "count" (relative, %), "score" (absolute, 3 decimals) or
     "share" (a fraction shown as a percentage: the change in percentage points). No previous window: nothing
     (the overview says so once, above the cards). */
  function trend(cur, prev, better, kind) {
    if (prev == null || cur == null) return null;
    var diff = cur - prev;
    var rel = kind === "count" && prev ? diff / prev : null;
    var flat = Math.abs(diff) < 1e-9;
    var cls = flat ? "flat" : ((diff > 0) === (better === "up") ? "good" : "bad");
    var arrow = flat ? "■" : diff > 0 ? "▲" : "▼";
    var sign = diff >= 0 ? "+" : "−";
    var amount = kind === "share" ? sign + Math.abs(100 * diff).toFixed(1) + " pp"
      : kind === "score" ? sign + Math.abs(diff).toFixed(3)
      : rel == null ? sign + int(Math.abs(diff)) : sign + Math.abs(100 * rel).toFixed(0) + " %";
    return el("span", { class: "trend " + cls, text: arrow + " " + amount + " vs previous" });
  }
  function kpi(name, value, trendNode, id) {
    return el("div", { class: "kpi", "data-kpi": id }, el("div", { class: "name", text: name }), el("div", { class: "value", text: value }), trendNode);
  }

  /* The overview payload's notes: up to 3 significant changes against the baseline window (docs/semantics.md,
     "What changed"). Text only, through el(). */
  function notesCard(notes) {
    var list = el("ul", { class: "notes" });
    (notes || []).forEach(function (n) {
      list.appendChild(el("li", { class: "note " + n.severity, "data-signal": n.signal },
        el("span", { class: "severity " + n.severity, text: n.severity }),
        el("strong", { text: n.title }),
        el("p", { text: n.summary }),
        el("span", { class: "muted", text: "confidence " + (100 * n.confidence).toFixed(1) + " % · " }),
        n.relatedScreens.map(screenLink)));
    });
    if (!list.firstChild) list.appendChild(el("li", { class: "muted", text: "No significant change found for this window." }));
    return el("section", { class: "card", id: "notes", "aria-labelledby": "notes-h" }, el("h2", { id: "notes-h", text: "What changed" }), list);
  }

  function viewOverview(token) {
    return api("/v1/insights/overview", apiFilters()).then(function (cur) {
      var win = previousWindow(cur);
      return Promise.all([
        api("/v1/insights/overview", apiFilters(win)).catch(function () { return null; }),
        api("/v1/insights/hotspots", apiFilters({ limit: 100 }))
      ]).then(function (res) {
        if (token !== renderToken) return;
        var prev = res[0] && res[0].sessions ? res[0] : null, hot = res[1].items;
        var P = function (f) { return prev ? f(prev) : null; };
        clear(view);
        append(view, heading("Overview", "window " + when(cur.from) + " → " + when(cur.to)));
        if (!prev) append(view, el("p", { class: "muted", id: "no-previous",
          text: "No sessions in the previous window (" + when(win.from) + " → " + when(win.to) + "): no trends to show." }));
        var rate = cur.tasks.completionRate;
        append(view, el("div", { class: "kpis" },
          kpi("Friction index", score(cur.frictionIndex), trend(cur.frictionIndex, P(function (p) { return p.frictionIndex; }), "down", "score"), "friction"),
          kpi("Efficiency", score(cur.efficiencyScore), trend(cur.efficiencyScore, P(function (p) { return p.efficiencyScore; }), "up", "score"), "efficiency"),
          kpi("Sessions", int(cur.sessions), trend(cur.sessions, P(function (p) { return p.sessions; }), "up", "count"), "sessions"),
          kpi("Users", int(cur.users), trend(cur.users, P(function (p) { return p.users; }), "up", "count"), "users"),
          kpi("Task completion", rate == null ? "–" : pct(rate), rate == null ? el("span", { class: "trend flat", text: "no tasks" }) :
            trend(rate, P(function (p) { return p.tasks.completionRate; }), "up", "share"), "completion"),
          kpi("Rage clicks", int(cur.incidents.rageClick), trend(cur.incidents.rageClick, P(function (p) { return p.incidents.rageClick; }), "down", "count"), "rageClick"),
          kpi("Backtracks", int(cur.incidents.backtrack), trend(cur.incidents.backtrack, P(function (p) { return p.incidents.backtrack; }), "down", "count"), "backtrack"),
          kpi("Abandoned tasks", int(cur.incidents.abandonedTask), trend(cur.incidents.abandonedTask, P(function (p) { return p.incidents.abandonedTask; }), "down", "count"), "abandonedTask"),
          // clicks an error followed (an incident), not the error events the hotspots count: the
          // labels differ everywhere ("clicks on errors" / "error events") so 0 next to 16 reads right
          kpi("Clicks on errors", int(cur.incidents.errorClick), trend(cur.incidents.errorClick, P(function (p) { return p.incidents.errorClick; }), "down", "count"), "errorClick"),
          kpi("Loops", int(cur.incidents.loop), trend(cur.incidents.loop, P(function (p) { return p.incidents.loop; }), "down", "count"), "loop"),
          kpi("Dead clicks", int(cur.incidents.deadClick), trend(cur.incidents.deadClick, P(function (p) { return p.incidents.deadClick; }), "down", "count"), "deadClick")
        ));
        append(view, notesCard(cur.notes));
        var byScreen = {};
        hot.forEach(function (h) { byScreen[h.screenId] = h; });
        var list = el("ul", { class: "hot-list" });
        cur.topHotspots.forEach(function (t) {
          var h = byScreen[t.screenId] || {};
          list.appendChild(el("li", { "data-screen": t.screenId }, screenLink(t.screenId),
            el("span", { text: "friction " + score(t.friction) }),
            el("span", { class: "muted", text: plural(t.impactSessions, "session", "sessions") + " hit · trend " + t.trend }),
            chips(symptoms(h), 2)));
        });
        if (!cur.topHotspots.length) list.appendChild(el("li", { class: "muted", text: "No hotspots in this window." }));
        var chartBox = el("div", { class: "chart", id: "incidents-chart", role: "img",
          "aria-label": "Incidents by type, this window and the previous one" });
        append(view, el("div", { class: "grid2" },
          el("section", { class: "card", "aria-labelledby": "top-h" }, el("h2", { id: "top-h", text: "Top hotspots" }), list,
            el("p", {}, el("a", { href: href("hotspots"), text: "All hotspots →" }))),
          el("section", { class: "card", "aria-labelledby": "inc-h" }, el("h2", { id: "inc-h", text: "Incidents by type" }), chartBox)));
        var names = ["Rage clicks", "Backtracks", "Abandoned tasks", "Clicks on errors", "Loops", "Dead clicks"];
        var keys = ["rageClick", "backtrack", "abandonedTask", "errorClick", "loop", "deadClick"];
        var data = [{ type: "bar", name: "this window", x: names, y: keys.map(function (k) { return cur.incidents[k]; }), marker: { color: "#1f5fbf" } }];
        if (prev) data.push({ type: "bar", name: "previous window", x: names, y: keys.map(function (k) { return prev.incidents[k]; }), marker: { color: "#9fb7dc" } });
        // automargin: the category names get the room they need below the bars instead of being cut
        chart(chartBox, data, { barmode: "group", legend: { orientation: "h", y: 1.15 }, height: 300,
          xaxis: { automargin: true, tickangle: chartBox.clientWidth < 420 ? -35 : 0 }, margin: { l: 40, r: 30, t: 10, b: 40 } });
      });
    });
  }

  /* The API's hotspot orders (sort=): which column the table starts sorted by. */
  var HOTSPOT_SORTS = [
    { value: "impact", label: "sessions hit", column: "symptoms" },
    { value: "rate", label: "share of sessions hit", column: "rate" },
    { value: "friction", label: "mean friction", column: "friction" }
  ];
  function viewHotspots(token) {
    var want = route().params.get("sort");
    var order = HOTSPOT_SORTS.filter(function (o) { return o.value === want; })[0] || HOTSPOT_SORTS[0];
    return api("/v1/insights/hotspots", apiFilters({ limit: 200, sort: order.value })).then(function (res) {
      if (token !== renderToken) return;
      var rows = res.items;
      clear(view);
      var sub = el("span");
      append(view, heading("Hotspots", sub));
      var pick = el("select", { id: "hs-sort", onchange: function () { go("hotspots", { sort: pick.value === "impact" ? null : pick.value }); } },
        HOTSPOT_SORTS.map(function (o) { return el("option", { value: o.value, text: o.label, selected: o.value === order.value }); }));
      append(view, el("p", { class: "rank" }, el("label", { for: "hs-sort", text: "Rank screens by " }), pick));
      var cols = [
        { key: "screen", label: "Screen", value: function (r) { return r.screenId; }, cell: function (r) { return screenLink(r.screenId); } },
        { key: "sessions", label: "Sessions", num: true, value: function (r) { return r.sessions; }, cell: function (r) { return int(r.sessions); } },
        { key: "rate", label: "Hit rate", num: true, value: function (r) { return r.sessions ? r.impactSessions / r.sessions : 0; },
          cell: function (r) { return pct(r.sessions ? r.impactSessions / r.sessions : null); } },
        { key: "friction", label: "Friction", num: true, value: function (r) { return r.avgFriction; }, cell: function (r) { return score(r.avgFriction); } },
        { key: "rage", label: "Rage-click rate", num: true, value: function (r) { return r.rageClickRate; }, cell: function (r) { return pct(r.rageClickRate); } },
        { key: "dead", label: "Dead-click rate", num: true, hideNarrow: true, value: function (r) { return r.deadClickRate; }, cell: function (r) { return pct(r.deadClickRate); } },
        { key: "dropoff", label: "Dropoff rate", num: true, value: function (r) { return r.dropoffRate; }, cell: function (r) { return pct(r.dropoffRate); } },
        { key: "time", label: "Time spent", num: true, hideNarrow: true, value: function (r) { return r.avgTimeSpentMs; }, cell: function (r) { return dur(r.avgTimeSpentMs); } },
        { key: "symptoms", label: "Symptoms", value: function (r) { return r.impactSessions; }, cell: function (r) { return chips(symptoms(r), 4); } }
      ];
      var card = el("section", { class: "card", "aria-labelledby": "hs-h" }, el("h2", { id: "hs-h", text: plural(rows.length, "screen", "screens") }),
        sortableTable("Sort by a column header (Enter or Space on it). Symptoms sort by sessions hit.", cols, rows,
          // the table starts in the API's order (a stable sort on its first key keeps its tie-breaks)
          { sortKey: order.column, sortDir: "desc", onRow: function (r) { go("sessions", { screen: r.screenId }); },
            onSort: function (col, dir) { sub.textContent = "screens ranked by " + (col.key === "symptoms" ? "sessions with a symptom" : col.label.toLowerCase()) +
              (dir === "asc" ? ", lowest first" : "") + "; open a screen for its sessions"; } }));
      var top = rows.slice().sort(function (a, b) { return b.avgFriction - a.avgFriction; }).slice(0, 12).reverse();
      var box = el("div", { class: "chart", role: "img", "aria-label": "Mean friction of the screens' sessions, highest first" });
      append(view, [card, el("section", { class: "card", "aria-labelledby": "hc-h" }, el("h2", { id: "hc-h", text: "Friction by screen" }), box)]);
      chart(box, [{ type: "bar", orientation: "h", x: top.map(function (r) { return r.avgFriction; }),
        y: top.map(function (r) { return r.screenId; }), customdata: top.map(function (r) { return plotText(r.screenId); }),
        marker: { color: "#b3261e" }, hovertemplate: "%{customdata}: %{x:.3f}<extra></extra>" }],
        { height: Math.max(260, 28 * top.length + 60), margin: { l: 10, r: 10, t: 10, b: 40 }, xaxis: { title: { text: "mean frustration" } },
          yaxis: ticks(top.map(function (r) { return r.screenId; }), box) });
    });
  }

  function viewSessions(token) {
    var p = route().params, screenId = p.get("screen");
    var rows = [], cursor = null, total = 0;
    var body = el("div");
    var more = el("button", { type: "button", class: "secondary", text: "Load more" });
    var info = el("span", { class: "muted" });
    function load() {
      return api("/v1/sessions", apiFilters({ limit: 50, screenId: screenId, cursor: cursor })).then(function (res) {
        if (token !== renderToken) return;
        rows = rows.concat(res.items); cursor = res.nextCursor; total = res.total;
        clear(body);
        body.appendChild(sortableTable("Newest first; sort by a column header.", [
          { key: "start", label: "Start", value: function (r) { return r.startTs; }, cell: function (r) {
            return el("a", { href: href("session", { id: r.sessionId }), text: when(r.startTs) }); } },
          { key: "user", label: "User", hideNarrow: true, value: function (r) { return r.userHash; }, cell: function (r) { return el("span", { class: "screen", text: r.userHash }); } },
          { key: "dur", label: "Duration", num: true, value: function (r) { return r.durationMs; }, cell: function (r) { return dur(r.durationMs); } },
          { key: "clicks", label: "Clicks", num: true, hideNarrow: true, value: function (r) { return r.clickCount; } },
          { key: "inc", label: "Incidents", value: function (r) { return r.rageClicks + r.backtracks + r.tasksAbandoned + r.errorClicks + r.loops + r.deadClicks; },
            cell: function (r) {
              return chips([{ key: "rage", label: "rage", n: r.rageClicks }, { key: "backtrack", label: "backtrack", n: r.backtracks },
                { key: "dropoff", label: "abandoned", n: r.tasksAbandoned }, { key: "error", label: "clicks on errors", n: r.errorClicks },
                { key: "loop", label: "loop", n: r.loops }, { key: "dead", label: "dead click", n: r.deadClicks },
                { key: "error", label: "error events", n: r.errorEvents }].filter(function (s) { return s.n > 0; }), 7);
            } },
          { key: "fr", label: "Frustration", num: true, value: function (r) { return r.frustrationScore; }, cell: function (r) { return score(r.frustrationScore); } }
        ], rows, { sortKey: "start", sortDir: "desc", onRow: function (r) { go("session", { id: r.sessionId }); } }));
        info.textContent = int(rows.length) + " of " + int(total) + " sessions shown";
        more.hidden = !cursor;
      });
    }
    more.addEventListener("click", function () { load().catch(fail); });
    return load().then(function () {
      if (token !== renderToken) return;
      clear(view);
      append(view, heading(screenId ? "Sessions on a screen" : "Sessions", null));
      if (screenId) {
        append(view, el("p", {}, "Screen ", el("strong", { class: "screen", "data-screen-filter": screenId, text: screenId }), " · ",
          el("a", { href: href("sessions"), text: "all sessions" })));
      }
      append(view, el("section", { class: "card" }, body, el("div", { class: "pager" }, info, more)));
    });
  }

  function viewSession(token) {
    var id = route().params.get("id"), f = filterParams();
    if (!id) { go("sessions"); return Promise.resolve(); }
    return api("/v1/sessions/" + encodeURIComponent(id), { orgId: f.get("org"), productId: f.get("product") }).then(function (res) {
      if (token !== renderToken) return;
      var s = res.session;
      clear(view);
      append(view, heading("Session", null));
      append(view, el("section", { class: "card" }, el("dl", { class: "facts" },
        [["Session", s.sessionId], ["User", s.userHash], ["Start", when(s.startTs)], ["Duration", dur(s.durationMs)],
          ["Device", s.deviceType], ["Entry → exit", s.entryScreen + " → " + s.exitScreen], ["Events", int(s.eventCount)],
          ["Frustration", score(s.frustrationScore)], ["Efficiency", score(s.efficiencyScore)],
          ["Tasks", int(s.tasksStarted) + " started, " + int(s.tasksCompleted) + " completed, " + int(s.tasksAbandoned) + " abandoned"]
        ].map(function (kv) { return el("div", {}, el("dt", { text: kv[0] }), el("dd", { text: kv[1] })); }))));
      var box = el("div", { class: "chart", role: "img", "aria-label": "Timeline of the session's events by screen; incidents marked with a cross" });
      append(view, el("section", { class: "card" }, el("h2", { text: "Timeline" }), box));
      var symbols = { click: "circle", navigation: "triangle-right", focus_change: "diamond", custom: "square", scroll: "hourglass", input_meta: "star" };
      var types = {};
      res.events.forEach(function (e) { (types[e.errorCode ? ERROR_EVENT : e.eventType] = types[e.errorCode ? ERROR_EVENT : e.eventType] || []).push(e); });
      var data = Object.keys(types).map(function (t) {
        return { type: "scatter", mode: "markers", name: t, x: types[t].map(function (e) { return e.ts; }),
          y: types[t].map(function (e) { return e.screenId; }), customdata: types[t].map(function (e) { return plotText(e.screenId); }),
          hovertemplate: "%{customdata}<br>%{x}<extra>" + plotText(t) + "</extra>",
          marker: { size: 9, symbol: t === ERROR_EVENT ? "x-thin-open" : symbols[t] || "circle", line: { width: t === ERROR_EVENT ? 2 : 0 } } };
      });
      if (res.incidents.length) data.push({ type: "scatter", mode: "markers", name: "incident",
        x: res.incidents.map(function (i) { return i.ts; }), y: res.incidents.map(function (i) { return i.screenId; }),
        text: res.incidents.map(function (i) { return plotText(incidentLabel(i.type)); }), customdata: res.incidents.map(function (i) { return plotText(i.screenId); }),
        hovertemplate: "%{text} on %{customdata}<extra></extra>",
        marker: { size: 16, symbol: "x", color: "#b3261e" } });
      var screens = {};
      res.events.forEach(function (e) { screens[e.screenId] = 1; });
      chart(box, data, { height: Math.max(260, 34 * Object.keys(screens).length + 150), margin: { l: 10, r: 10, t: 10, b: 40 },
        legend: { orientation: "h", y: -0.25 }, yaxis: ticks(Object.keys(screens), box) });
      var rows = res.events.map(function (e) {
        var detail = [];
        if (e.elementType) detail.push(e.elementType);
        if (e.errorCode) detail.push("error " + e.errorCode);
        if (e.extra && e.extra.task_name) detail.push("task " + e.extra.task_name + " " + (e.extra.action || ""));
        else if (e.extra && e.extra.state) detail.push(e.extra.state);
        return { ts: e.ts, kind: e.errorCode ? ERROR_EVENT : e.eventType, screen: e.screenId, detail: detail.join(" · "), incident: false };
      }).concat(res.incidents.map(function (i) {
        var d = i.type === "rage_click" ? i.clickCount + " clicks in " + dur(i.durationMs) : i.taskName ? "task " + i.taskName :
          i.type === "loop" ? "back after " + dur(i.durationMs) : "";
        return { ts: i.ts, kind: i.type, screen: i.screenId, detail: d, incident: true };
      }));
      rows.sort(function (a, b) { return a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : (a.incident ? 1 : 0) - (b.incident ? 1 : 0); });
      var table = el("table", { id: "timeline", class: "responsive" }, el("thead", {}, el("tr", {}, ["Time", "What", "Screen", "Detail"].map(function (h) { return el("th", { scope: "col", text: h }); }))));
      var tb = el("tbody");
      rows.forEach(function (r) {
        tb.appendChild(el("tr", { class: r.incident ? "incident" : "", "data-kind": r.kind, "data-screen": r.screen },
          el("td", { "data-label": "Time", text: r.ts.slice(11, 23) }),
          el("td", { "data-label": "What" }, r.incident ? el("span", { class: "chip " + r.kind, text: incidentLabel(r.kind) }) : r.kind),
          el("td", { "data-label": "Screen", class: "screen", text: r.screen }), el("td", { "data-label": "Detail", text: r.detail })));
      });
      table.appendChild(tb);
      append(view, el("section", { class: "card" }, el("h2", { text: "Events and incidents (" + res.events.length + " events, " + res.incidents.length + " incidents)" }),
        el("div", { class: "tablewrap" }, table)));
    });
  }

  function viewFlows(token) {
    var chosen = route().params.get("task");
    return api("/v1/flows/top", apiFilters({ limit: 200 })).then(function (all) {
      var tasks = {};
      all.flows.forEach(function (f) { if (f.task) tasks[f.task] = (tasks[f.task] || 0) + f.sessions; });
      var names = Object.keys(tasks).sort(function (a, b) { return tasks[b] - tasks[a] || (a < b ? -1 : 1); });
      var task = chosen && names.indexOf(chosen) >= 0 ? chosen : names[0] || null;
      return Promise.all([
        task ? api("/v1/flows/top", apiFilters({ limit: 200, task: task })) : Promise.resolve(all),
        api("/v1/flows/graph", apiFilters({ task: task }))
      ]).then(function (res) {
        if (token !== renderToken) return;
        var flows = res[0].flows, graph = res[1];
        clear(view);
        append(view, heading("Flows", "task runs and the screens they pass"));
        var bar = el("div", { class: "taskbar", role: "group", "aria-label": "Task" });
        names.forEach(function (n) {
          bar.appendChild(el("button", { type: "button", "aria-pressed": n === task ? "true" : "false", text: n + " (" + int(tasks[n]) + ")",
            onclick: function () { go("flows", { task: n }); } }));
        });
        if (!names.length) bar.appendChild(el("span", { class: "muted", text: "No task markers in this window: session flows (entry → exit) are shown." }));
        append(view, bar);
        var done = 0, runs = 0;
        flows.forEach(function (f) { runs += f.sessions; done += f.sessions * (f.completionRate || 0); });
        append(view, el("section", { class: "card", "aria-labelledby": "fl-h" }, el("h2", { id: "fl-h", text: "Top flows" + (task ? " of " + task : "") +
          " · " + plural(runs, "run", "runs") + ", " + pct(runs ? done / runs : null) + " completed" }),
          sortableTable("Variants ranked by runs; sort by a column header.", [
            { key: "path", label: "Path", value: function (f) { return f.label; }, cell: function (f) {
              return el("span", { class: "screen", text: f.path.join(" → ") }); } },
            { key: "runs", label: "Runs", num: true, value: function (f) { return f.sessions; }, cell: function (f) { return int(f.sessions); } },
            { key: "done", label: "Completion", num: true, value: function (f) { return f.completionRate; }, cell: function (f) { return pct(f.completionRate); } },
            { key: "avg", label: "Avg duration", num: true, value: function (f) { return f.avgDurationSec; }, cell: function (f) { return dur(1000 * f.avgDurationSec); } },
            { key: "med", label: "Median", num: true, hideNarrow: true, value: function (f) { return f.medianDurationSec; }, cell: function (f) { return dur(1000 * f.medianDurationSec); } },
            { key: "drop", label: "Drop-offs", value: function (f) { return f.dropoffs.length ? f.dropoffs[0].rate : 0; }, cell: function (f) {
              if (!f.dropoffs.length) return el("span", { class: "muted", text: "none" });
              return el("span", { class: "chips" }, f.dropoffs.map(function (d) { return el("span", { class: "chip dropoff", text: d.screenId + " " + pct(d.rate) }); }));
            } }
          ], flows, { sortKey: "runs", sortDir: "desc" })));
        var box = el("div", { class: "chart", id: "flow-sankey", role: "img",
          "aria-label": "Directly-follows graph of screens as a Sankey diagram; red links are drop-offs" });
        append(view, el("section", { class: "card", "aria-labelledby": "sk-h" }, el("h2", { id: "sk-h", text: "Screen flow" + (task ? " of " + task : "") }),
          el("p", { class: "muted", text: "Width = transitions between screens. Red: runs that dropped off at that screen; green: runs that ended there otherwise." }), box));
        sankey(box, graph, flows);
      });
    });
  }

  /* The edges that close a cycle, by a depth-first walk from the screens flows enter by (no incoming edge,
     else the most visited first): "from\u0000to" -> true. */
  function backEdges(graph) {
    var next = {}, incoming = {}, state = {}, back = {};
    graph.edges.forEach(function (e) {
      if (e.from === e.to) return;
      (next[e.from] = next[e.from] || []).push(e.to);
      incoming[e.to] = (incoming[e.to] || 0) + 1;
    });
    var roots = graph.nodes.map(function (n) { return n; }).sort(function (a, b) {
      return (incoming[a.screenId] ? 1 : 0) - (incoming[b.screenId] ? 1 : 0) || b.visits - a.visits; });
    function walk(id) {
      state[id] = 1;  // on the path
      (next[id] || []).forEach(function (to) {
        if (state[to] === 1) back[id + "\u0000" + to] = true;
        else if (!state[to]) walk(to);
      });
      state[id] = 2;
    }
    roots.forEach(function (n) { if (!state[n.screenId]) walk(n.screenId); });
    return back;
  }

  function sankey(box, graph, flows) {
    var narrow = box.clientWidth < 600; // top-down on phones: the labels then have the width to themselves
    // On a phone a layer's nodes share 390 px: each label is the screen id's last part, no count (the hover has it all).
    function name(id) {
      if (!narrow) return id;
      var parts = String(id).split("/"), last = parts.pop();
      var t = last.charAt(0) === ":" && parts.length ? parts.pop() + "/" + last : last;
      return t.length > 10 ? t.slice(0, 9) + "…" : t;
    }
    var index = {}, labels = [], full = [], colors = [];
    graph.nodes.forEach(function (n) {
      index[n.screenId] = labels.length; labels.push(plotText(narrow ? name(n.screenId) : n.screenId + " (" + n.visits + ")"));
      full.push(plotText(n.screenId + " (" + n.visits + ")")); colors.push("#1f5fbf"); });
    var src = [], dst = [], val = [], linkColors = [], out = {};
    var back = backEdges(graph), again = {};
    graph.edges.forEach(function (e) {
      if (!(e.from in index) || !(e.to in index) || e.from === e.to) return;
      var to = index[e.to];
      if (back[e.from + "\u0000" + e.to]) {
        // A loop (A → B → A): plotly draws a cycle's band around the outside of the diagram, clipped by the
        // frame. The return goes to a node of its own ("↩ A"), so the diagram stays a left-to-right DAG.
        if (!(e.to in again)) {
          again[e.to] = labels.length; labels.push(plotText((narrow ? "↩ " : "↩ back to ") + name(e.to))); full.push(plotText("↩ back to " + e.to)); colors.push("#6b7fa3");
        }
        to = again[e.to];
      }
      src.push(index[e.from]); dst.push(to); val.push(e.count); linkColors.push("rgba(31,95,191,0.25)");
      out[e.from] = (out[e.from] || 0) + e.count;
    });
    var dropped = {};
    flows.forEach(function (f) { f.dropoffs.forEach(function (d) { dropped[d.screenId] = (dropped[d.screenId] || 0) + f.sessions * d.rate; }); });
    var DROP = labels.length, END = DROP + 1, anyDrop = false, anyEnd = false;
    graph.nodes.forEach(function (n) {
      var ends = Math.max(0, n.visits - (out[n.screenId] || 0));
      var drop = Math.min(ends, Math.round(dropped[n.screenId] || 0));
      if (drop > 0) { src.push(index[n.screenId]); dst.push(DROP); val.push(drop); linkColors.push("rgba(179,38,30,0.55)"); anyDrop = true; }
      if (ends - drop > 0) { src.push(index[n.screenId]); dst.push(END); val.push(ends - drop); linkColors.push("rgba(27,122,58,0.25)"); anyEnd = true; }
    });
    labels.push("✗ dropped off"); full.push("✗ dropped off"); colors.push("#b3261e");
    labels.push("✓ ended"); full.push("✓ ended"); colors.push("#1b7a3a");
    if (!val.length) { box.appendChild(el("p", { class: "muted", text: "No transitions in this window." })); return; }
    chart(box, [{ type: "sankey", arrangement: "snap", orientation: narrow ? "v" : "h",
      node: { label: labels, customdata: full, hovertemplate: "%{customdata}<extra></extra>", color: colors,
        pad: narrow ? 22 : 14, thickness: 14 },
      link: { source: src, target: dst, value: val, color: linkColors } }],
      { height: narrow ? Math.max(420, 90 * labels.length) : Math.max(360, 38 * labels.length),
        // narrow: the labels start at their node's left edge, so the last one needs room on the right
        margin: { l: 10, r: narrow ? 56 : 10, t: 10, b: 10 }, font: { size: narrow ? 10 : 12 } });
    box.setAttribute("data-drop-links", anyDrop ? "yes" : "no");
    box.setAttribute("data-loops", String(Object.keys(again).length));
    box.setAttribute("data-end-links", anyEnd ? "yes" : "no");
  }

  var VIEWS = { overview: viewOverview, hotspots: viewHotspots, flows: viewFlows, sessions: viewSessions, session: viewSession };

  function fail(err) {
    if (err instanceof ApiFailure && (err.status === 401 || (err.status === 403 && !err.body.param))) {
      setKey(null);
      showLogin(err.status === 401 ? "That key was not accepted." : "That key cannot read insights (no read scope).");
      return;
    }
    clear(view);
    say(err instanceof ApiFailure ? "The API answered " + err.status + ": " + err.message : "Could not load: " + (err && err.message), true);
  }

  function render() {
    ensureScope();
    var r = route();
    var fn = VIEWS[r.name] || viewOverview;
    var token = ++renderToken;
    document.body.removeAttribute("data-ready");
    document.querySelectorAll(".tabs a").forEach(function (a) {
      var v = a.getAttribute("data-view");
      a.setAttribute("href", href(v));
      if (v === r.name || (v === "sessions" && r.name === "session")) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
    });
    fillFilters();
    document.title = "frictionkit · " + r.name;
    say("Loading…");
    view.setAttribute("aria-busy", "true");
    fn(token).then(function () {
      if (token !== renderToken) return;
      say("");
      view.setAttribute("aria-busy", "false");
      document.body.setAttribute("data-ready", r.name);
    }).catch(function (err) { if (token === renderToken) { view.setAttribute("aria-busy", "false"); fail(err); } });
  }

  function start() {
    document.body.removeAttribute("data-ready");
    bootstrapKey().then(function (key) {
      if (!key) { showLogin(""); return; }
      return api("/dashboard/scopes").then(function (res) {
        scopes = res.items;
        document.getElementById("login").hidden = true;
        document.getElementById("signout").hidden = false;
        filtersForm.hidden = false;
        if (!scopes.length) { clear(view); say("The store holds no sessions yet: replay or ingest some events first (docs/dashboard.md)."); return; }
        render();
      });
    }).catch(fail);
  }

  window.addEventListener("hashchange", function () {
    if (!readKey()) return;
    render();
    document.getElementById("main").focus({ preventScroll: true });
  });
  start();
})();
