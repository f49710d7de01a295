// The remote opening hall, live (templates/opening/hall.html). No inline scripts (strict CSP).
// One EventSource per page: the server sends the snapshot "hall:state" first, then each event as it
// commits; a dropped connection reconnects by itself with Last-Event-ID and misses nothing.
// The server clock and the countdown run on the server's time: every event carries server_now.
(function () {
  "use strict";
  var root = document.getElementById("hall");
  if (!root || !window.EventSource) { return; }

  var en = root.getAttribute("data-lang") === "en";
  var labels = {};
  try { labels = JSON.parse(root.getAttribute("data-stage-labels") || "{}"); } catch (e) { labels = {}; }
  var offset = 0;   // server time − local time, in ms
  var seen = {};    // message ids already shown
  var beforeDeadline = root.getAttribute("data-before-deadline") === "true";

  function q(sel) { return root.querySelector(sel); }
  function setText(sel, text) { var el = q(sel); if (el) { el.textContent = text; } }
  function sync(serverNow) {
    var t = Date.parse(serverNow);
    if (!isNaN(t)) { offset = t - Date.now(); }
  }
  function pad(n) { return n < 10 ? "0" + n : "" + n; }
  function beijing(ms) {
    var d = new Date(ms + 8 * 3600 * 1000);
    return d.toISOString().slice(0, 19).replace("T", " ");
  }
  function remaining(ms) {
    var s = Math.floor(ms / 1000), d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600),
        m = Math.floor(s % 3600 / 60), sec = s % 60;
    if (d > 0) { return en ? d + "d " + pad(h) + ":" + pad(m) + ":" + pad(sec) : d + "天 " + pad(h) + ":" + pad(m) + ":" + pad(sec); }
    return pad(h) + ":" + pad(m) + ":" + pad(sec);
  }

  // --- clock and countdown ---------------------------------------------------------------------
  sync(root.getAttribute("data-server-now"));
  function tick() {
    var now = Date.now() + offset;
    setText("[data-hall-clock]", beijing(now));
    var cd = q("[data-hall-countdown]");
    if (cd) {
      var left = Date.parse(cd.getAttribute("data-hall-countdown")) - now;
      cd.textContent = left > 0 ? remaining(left) : cd.getAttribute("data-text-ended");
    }
  }
  tick();
  setInterval(tick, 1000);

  // --- connection indicator --------------------------------------------------------------------
  var conn = q("[data-hall-conn]");
  function connection(kind) {
    if (!conn) { return; }
    var cls = { live: "text-bg-success", retry: "text-bg-warning", off: "text-bg-danger" }[kind];
    var icon = { live: "bi-wifi", retry: "bi-arrow-repeat", off: "bi-wifi-off" }[kind];
    conn.className = "badge " + cls;
    conn.setAttribute("data-state", kind);
    conn.replaceChildren();
    var i = document.createElement("i");
    i.className = "bi " + icon;
    i.setAttribute("aria-hidden", "true");
    var span = document.createElement("span");
    span.textContent = conn.getAttribute("data-text-" + kind);
    conn.append(i, " ", span);
  }

  // --- widgets ---------------------------------------------------------------------------------
  function stage(name) {
    if (!name) { return; }
    root.setAttribute("data-stage", name);
    setText("[data-hall-stage]", labels[name] || name);
  }
  function custody(c) {
    if (!c) { return; }
    setText("[data-hall-custody-accepted]", c.accepted);
    setText("[data-hall-custody-k]", c.k);
    var bar = q("[data-hall-custody-bar]");
    if (bar) { bar.max = c.k; bar.value = Math.min(c.accepted, c.k); }
  }
  function decrypt(d) {
    if (!d) { return; }
    setText("[data-hall-decrypt-done]", d.done);
    setText("[data-hall-decrypt-total]", d.total);
    var bar = q("[data-hall-decrypt-bar]");
    if (bar) { bar.max = Math.max(1, d.total); bar.value = d.done; }
  }
  function checkins(n) { if (n !== null && n !== undefined) { setText("[data-hall-checkins]", n); } }
  function dropEmpty(list) { var e = list.querySelector("[data-empty]"); if (e) { e.remove(); } }
  function message(id, m) {
    var list = document.getElementById("hall-messages");
    if (!list || seen[id]) { return; }
    seen[id] = true;
    dropEmpty(list);
    var li = document.createElement("li");
    li.className = "border-start border-3 ps-2 mb-2";
    li.setAttribute("data-message-id", id);
    var when = document.createElement("div");
    when.className = "small text-muted";
    when.textContent = m.at ? beijing(Date.parse(m.at)) : "";
    var text = document.createElement("div");
    text.className = "text-break";
    text.textContent = m.text;
    li.append(when, text);
    list.append(li);
  }
  function attendee(a) {
    var list = q("[data-hall-attendees]");
    if (!list) { return; }
    dropEmpty(list);
    var li = document.createElement("li");
    li.textContent = a.bidder + " ";
    var when = document.createElement("span");
    when.className = "small text-muted";
    when.textContent = beijing(Date.parse(a.at));
    li.append(when);
    list.append(li);
  }
  var recordTimer = null;
  function refreshRecord() {
    // Several events arrive together when envelopes open: fetch the server-rendered table once.
    if (recordTimer) { return; }
    recordTimer = setTimeout(function () {
      recordTimer = null;
      fetch(root.getAttribute("data-record-url"), { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          var box = document.getElementById("hall-record");
          if (html !== null && box) { box.innerHTML = html; }
        })
        .catch(function () { /* the next event or the reconnect's snapshot tries again */ });
    }, 300);
  }

  document.querySelectorAll("#hall-messages [data-message-id]").forEach(function (li) {
    seen[li.getAttribute("data-message-id")] = true;
  });

  // --- the stream ------------------------------------------------------------------------------
  var source = new EventSource(root.getAttribute("data-stream-url"));
  function on(name, fn) {
    source.addEventListener(name, function (ev) {
      var data = {};
      try { data = JSON.parse(ev.data); } catch (e) { return; }
      if (data.server_now) { sync(data.server_now); tick(); }
      fn(data, ev.lastEventId);
    });
  }
  source.onopen = function () { connection("live"); };
  source.onerror = function () { connection(source.readyState === EventSource.CLOSED ? "off" : "retry"); };

  on("hall:state", function (s) {
    if (s.before_deadline !== beforeDeadline) {
      // The deadline passed: check-in opens and counts appear; the server renders that page.
      window.location.reload();
      return;
    }
    stage(s.stage);
    custody(s.custody);
    decrypt(s.decrypt);
    if (s.checkin) { checkins(s.checkin.count); }
    (s.messages || []).forEach(function (m) { message(String(m.id), m); });
    if (s.record || s.stage === "decrypting") { refreshRecord(); }
  });
  on("tick", function () {});
  on("hall:message", function (m, id) { message(String(id), m); });
  on("hall:checkin", function (d) { checkins(d.count); });
  on("hall:attendee", attendee);
  on("custody:progress", custody);
  on("decrypt:status", function (d) { decrypt(d); refreshRecord(); });
  on("opening:stage", function (d) { stage(d.stage); refreshRecord(); });
  ["opening:record", "opening:confirmed", "opening:disputed", "opening:dispute_resolved",
   "opening:completed"].forEach(function (name) { on(name, refreshRecord); });
})();
