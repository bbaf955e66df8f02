/* frictionkit browser agent v1. Load with one tag (docs/dashboard.md):
   <script src="https://fk.example/sdk.js" data-key="INGEST_KEY" data-org="acme" data-product="crm" defer></script>
   Sends clicks (element type + a hash of its label, never its text), navigation, focus changes, errors and
   task markers to /v1/events/batch. Never reads input values or page text; [data-fk-ignore] opts out.
   A click nothing answers is sent with dead: true. */
(function (w, d) {
  "use strict";
  if (w.frictionkit && w.frictionkit.version) return;
  var V = "1.0.0", s = d.currentScript || d.querySelector("script[src*='sdk.js'][data-key]");
  var c = (s && s.dataset) || {};
  if (!c.key || !c.org || !c.product) { return; }
  var base = (c.endpoint || new URL(s.src, location.href).origin).replace(/\/+$/, "");
  var url = base + "/v1/events/batch", hdr = { "Content-Type": "application/json", Authorization: "Bearer " + c.key };
  var q = [], busy = 0, tries = 0, timer = 0, seq = 0, away = 0, MAX = 1000, GAP = 30 * 60 * 1000, EVERY = +c.flushMs || 2000;
  var ss = store(w.sessionStorage), ls = store(w.localStorage);

  function store(st) {
    return { get: function (k) { try { return st.getItem(k); } catch (e) { return null; } },
      set: function (k, v) { try { st.setItem(k, v); } catch (e) { /* private mode */ } } };
  }
  function rid() {
    return w.crypto && crypto.randomUUID ? crypto.randomUUID() : Date.now().toString(36) + Math.random().toString(36).slice(2);
  }
  var uid = c.userHash || ls.get("fk_uid") || rid(); ls.set("fk_uid", uid);
  function sid() { // one session per tab; a new one after 30 idle minutes
    var id = ss.get("fk_sid"), last = +ss.get("fk_last") || 0, now = Date.now();
    if (!id || now - last > GAP) { id = rid(); ss.set("fk_sid", id); }
    ss.set("fk_last", String(now));
    return id;
  }
  function hash(t) { // cyrb53: 53-bit string hash, hex; the label itself never leaves the page
    var h1 = 0xdeadbeef, h2 = 0x41c6ce57;
    for (var i = 0, ch; i < t.length; i++) {
      ch = t.charCodeAt(i); h1 = Math.imul(h1 ^ ch, 2654435761); h2 = Math.imul(h2 ^ ch, 1597334677);
    }
    h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
    h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
    return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(16);
  }
  function screen() {
    var el = d.querySelector("[data-fk-screen]");
    return ((el && el.getAttribute("data-fk-screen")) || location.pathname || "/").slice(0, 256);
  }
  function route() { // the path (and a #/ route), never the query string
    var h = location.hash.indexOf("#/") === 0 ? location.hash.split("?")[0] : "";
    return (location.pathname + h).slice(0, 2048);
  }
  function device() {
    var coarse = w.matchMedia && matchMedia("(pointer: coarse)").matches, wd = w.innerWidth || 1024;
    return coarse ? (wd < 768 ? "mobile" : "tablet") : "desktop";
  }
  function make(type, f) {
    var e = { eventId: "", orgId: c.org, productId: c.product, sessionId: sid(), userHash: uid,
      ts: new Date().toISOString(), eventType: type, screenId: screen(), route: route(), deviceType: device() };
    e.eventId = (e.sessionId.slice(0, 36) + "-" + Date.now().toString(36) + "-" + (seq++)).slice(0, 64);
    for (var k in f) if (f[k] != null) e[k] = f[k];
    return e;
  }
  function push(type, f) { enqueue(make(type, f)); }
  function enqueue(e) {
    q.push(e);
    if (q.length > MAX) q.splice(0, q.length - MAX);
    if (q.length >= 20) flush(); else if (!timer) timer = setTimeout(flush, EVERY);
  }
  function body(evs) { return JSON.stringify({ agentId: "fk-web", sdkVersion: V, sentAt: new Date().toISOString(), events: evs }); }
  function flush() {
    clearTimeout(timer); timer = 0;
    if (busy || !q.length) return Promise.resolve();
    var evs = q.splice(0, 100); busy = 1;
    return fetch(url, { method: "POST", headers: hdr, body: body(evs), credentials: "omit" }).then(function (r) {
      busy = 0;
      if (r.status === 429 || r.status >= 500) return retry(evs, +r.headers.get("Retry-After"));
      tries = 0; // 200, or a 4xx that a retry cannot fix: either way this batch is done
      if (q.length) return flush();
    }, function () { busy = 0; return retry(evs, 0); });
  }
  function retry(evs, after) {
    if (++tries > 8) { tries = 0; return; } // give up on this batch, keep the rest
    q = evs.concat(q);
    var ms = after > 0 ? after * 1000 : Math.min(30000, 500 * Math.pow(2, tries)) * (0.75 + Math.random() / 2);
    timer = setTimeout(flush, ms);
  }
  function beacon() { // page hides: hand what is left to the browser, which sends it after the page is gone
    clearTimeout(timer); timer = 0;
    while (q.length) {
      var evs = q.splice(0, 50);
      try { fetch(url, { method: "POST", headers: hdr, body: body(evs), keepalive: true, credentials: "omit" }).catch(function () {}); }
      catch (e) { /* too large for keepalive: dropped */ }
    }
  }
  function label(el) {
    var t = el.getAttribute("aria-label") || el.getAttribute("data-fk-label") || el.getAttribute("title") || el.getAttribute("alt");
    var by = el.getAttribute("aria-labelledby"), tag = el.tagName;
    if (!t && by) { var l = d.getElementById(by.split(" ")[0]); t = l && l.textContent; }
    if (!t && /^(INPUT|SELECT|TEXTAREA)$/.test(tag)) { // never the value: its <label>, name or id
      var lab = el.id && d.querySelector("label[for='" + (w.CSS && CSS.escape ? CSS.escape(el.id) : el.id) + "']");
      t = (lab && lab.textContent) || el.getAttribute("name") || el.id || el.getAttribute("type");
    }
    if (!t && /^(BUTTON|A|SUMMARY|LABEL|OPTION)$/.test(tag) || !t && el.getAttribute("role")) t = el.textContent;
    return (t || "").replace(/\s+/g, " ").trim().slice(0, 200);
  }
  // Dead clicks (docs/semantics.md): a click waits in `held` for a sign of life: a DOM change within 2.5 s,
  // a scroll or text selection within 100 ms, a navigation, hide or focus move within 1 s. None: dead: true.
  var held = [], mo = 0, downAt = 0, selAt = 0;
  function some() { var g = w.getSelection && getSelection(); return g && !g.isCollapsed; } // never its text
  function settle(p, dead) {
    var i = held.indexOf(p);
    if (i < 0) return;
    held.splice(i, 1); clearTimeout(p.t);
    if (dead) p.e.dead = true;
    enqueue(p.e);
    if (!held.length && mo) { mo.disconnect(); mo = 0; }
  }
  function life(ms) { var t = performance.now(); held.slice().forEach(function (p) { if (t - p.at <= ms) settle(p); }); }
  d.addEventListener("mousedown", function () { downAt = performance.now(); }, true);
  d.addEventListener("scroll", function () { life(100); }, true); // capture: element scrolls too
  d.addEventListener("selectionchange", function () { if (some()) { selAt = performance.now(); life(100); } });
  d.addEventListener("focusin", function () { life(1000); }, true); // after the click: the app moved focus
  d.addEventListener("click", function (ev) {
    var t = ev.target && ev.target.closest ? ev.target : ev.target && ev.target.parentElement;
    if (!t || t.closest("[data-fk-ignore]")) return;
    var el = t.closest("a,button,input,select,textarea,summary,label,[role],[data-fk-label],[onclick]") || t;
    var lb = label(el);
    var e = make("click", { elementType: (el.getAttribute("role") || el.tagName.toLowerCase()).slice(0, 256),
      elementLabelHash: lb ? hash(lb) : null });
    // Links, form inputs and modifier keys act where the page cannot show it: sent without a verdict.
    if (ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.altKey || t.isContentEditable ||
        t.closest("a[href],input,select,textarea,option,label") || some() && selAt >= downAt) return enqueue(e);
    var p = { e: e, at: performance.now() };
    held.push(p); p.t = setTimeout(function () { settle(p, 1); }, 2500);
    if (!mo && w.MutationObserver) { // only while a click waits
      mo = new MutationObserver(function () { life(2500); });
      mo.observe(d.documentElement, { childList: true, subtree: true, attributes: true, characterData: true });
    }
  }, true);
  var last = "";
  function nav(how) {
    life(1000);
    setTimeout(function () { // after the app has rendered the new screen
      var k = screen() + " " + route();
      if (k !== last) { last = k; push("navigation", { extra: { how: how } }); }
    }, 0);
  }
  ["pushState", "replaceState"].forEach(function (m) {
    var orig = history[m];
    history[m] = function () { var r = orig.apply(this, arguments); nav(m); return r; };
  });
  w.addEventListener("popstate", function () { nav("popstate"); });
  w.addEventListener("hashchange", function () { nav("hashchange"); });
  function focus(state) {
    var leaving = state !== "focus";
    if (leaving === !!away) return; // hidden + blur of one tab switch count once
    away = leaving; push("focus_change", { extra: { state: state } });
  }
  w.addEventListener("blur", function () { life(1000); focus("blur"); });
  w.addEventListener("focus", function () { focus("focus"); });
  d.addEventListener("visibilitychange", function () {
    if (d.visibilityState === "hidden") { life(1000); focus("hidden"); beacon(); } else focus("focus");
  });
  w.addEventListener("pagehide", function () {
    life(1000); // the page goes: nothing can answer the older clicks now
    held.slice().forEach(function (p) { settle(p, 1); });
    beacon();
  });
  w.addEventListener("error", function (e) {
    if (e.error === undefined && e.target && e.target !== w) return; // a resource failed to load, not a script
    push("custom", { errorCode: String((e.error && e.error.name) || "Error").slice(0, 200), extra: { kind: "error" } });
  });
  w.addEventListener("unhandledrejection", function (e) {
    var r = e.reason;
    push("custom", { errorCode: ("unhandledrejection:" + ((r && r.name) || typeof r)).slice(0, 200), extra: { kind: "error" } });
  });
  function task(action) {
    return function (name) { push("custom", { extra: { task_name: String(name).slice(0, 256), action: action } }); };
  }
  w.frictionkit = { version: V, startTask: task("start"), completeTask: task("complete"), failTask: task("fail"), flush: flush };
  nav(performance.getEntriesByType && (performance.getEntriesByType("navigation")[0] || {}).type || "load");
})(window, document);
