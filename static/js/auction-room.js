// The bidding room (竞价大厅), live: templates/auctions/room.html. No inline scripts (strict CSP).
// One EventSource per page: the server sends "auction:state" first, then each event as it commits; a
// dropped connection reconnects by itself with Last-Event-ID and misses no bid. The clock and the
// countdown run on the server's time: every event carries server_now_ms, the offset is shown.
// Bids: the two-step confirmation (amount, 大写, jump size, large-jump warning) then a POST.
(function () {
  "use strict";
  var root = document.getElementById("auction-room");
  if (!root) { return; }

  function attr(name) { return root.getAttribute("data-" + name); }
  function text(name) { return attr("text-" + name) || ""; }
  function q(sel) { return root.querySelector(sel); }
  function setText(sel, value) { var el = q(sel); if (el) { el.textContent = value; } }
  function num(v) { var n = parseInt(v, 10); return isNaN(n) ? null : n; }

  var en = attr("lang") === "en";
  var st = {
    phase: attr("phase"), price: num(attr("price")), starting: num(attr("starting")),
    increment: num(attr("increment")), answers: num(attr("answers-price")), minimum: num(attr("minimum")),
    deadline: num(attr("deadline-ms")), pausedLeft: num(attr("paused-left-ms")),
    largeSteps: num(attr("large-steps")), largeBp: num(attr("large-bp"))
  };
  var offset = 0;     // server time − local time, ms

  function yuan(fen) {
    var y = Math.floor(fen / 100), f = fen % 100;
    var s = String(y).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return s + "." + (f < 10 ? "0" : "") + f;
  }
  function capitals(fen) {
    return (window.Trading && window.Trading.capitals) ? window.Trading.capitals((fen / 100).toFixed(2)) : "";
  }
  function pad(n) { return n < 10 ? "0" + n : "" + n; }
  function beijing(ms) { return new Date(ms + 8 * 3600 * 1000).toISOString().slice(0, 19).replace("T", " "); }
  function remaining(ms) {
    var s = Math.floor(ms / 1000), d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600),
        m = Math.floor(s % 3600 / 60), sec = s % 60;
    if (d > 0) { return d + (en ? "d " : text("days") + " ") + pad(h) + ":" + pad(m) + ":" + pad(sec); }
    return pad(h) + ":" + pad(m) + ":" + pad(sec);
  }
  function sync(serverMs) {
    if (typeof serverMs !== "number") { return; }
    offset = serverMs - Date.now();
    var sign = offset >= 0 ? "+" : "−", abs = Math.abs(offset);
    setText("[data-room-offset]", abs < 60000 ? text("offset").replace("%(s)s", sign + (abs / 1000).toFixed(1))
      : text("offset-min").replace("%(m)s", sign + Math.round(abs / 60000).toLocaleString()));
  }

  // --- clock and countdown ---------------------------------------------------------------------
  sync(num(attr("server-now-ms")));
  function tick() {
    var now = Date.now() + offset;
    setText("[data-room-clock]", beijing(now));
    var cd = q("[data-room-countdown]");
    if (!cd) { return; }
    if (st.pausedLeft !== null) { cd.textContent = remaining(st.pausedLeft); cd.classList.remove("urgent"); return; }
    if (st.deadline === null) { return; }
    var left = st.deadline - now;
    cd.textContent = left > 0 ? remaining(left) : text("ended");
    cd.classList.toggle("urgent", st.phase === "timed" && left < 60000);
  }
  tick();
  setInterval(tick, 250);

  // --- connection indicator --------------------------------------------------------------------
  var conn = q("[data-room-conn]");
  function connection(kind) {
    if (!conn) { return; }
    conn.className = "badge " + { live: "text-bg-success", retry: "text-bg-warning", off: "text-bg-danger" }[kind];
    conn.setAttribute("data-state", kind);
    conn.replaceChildren();
    var i = document.createElement("i");
    i.className = "bi " + { live: "bi-wifi", retry: "bi-arrow-repeat", off: "bi-wifi-off" }[kind];
    i.setAttribute("aria-hidden", "true");
    var span = document.createElement("span");
    span.textContent = conn.getAttribute("data-text-" + kind);
    conn.append(i, " ", span);
  }

  // --- rendering the state ---------------------------------------------------------------------
  function historyRow(h, fresh) {
    var tr = document.createElement("tr");
    tr.setAttribute("data-seq", h.seq);
    if (fresh) { tr.className = "fresh"; }
    var a = document.createElement("td"); a.textContent = h.seq;
    var b = document.createElement("td"); b.className = "font-monospace"; b.textContent = h.bidder;
    if (h.mine) {
      var badge = document.createElement("span");
      badge.className = "badge text-bg-info"; badge.textContent = text("mine");
      b.append(" ", badge);
    }
    var c = document.createElement("td"); c.className = "text-end money"; c.textContent = yuan(h.amount_fen);
    var d = document.createElement("td"); d.className = "small"; d.textContent = beijing(Date.parse(h.at));
    tr.append(a, b, c, d);
    return tr;
  }
  function addBid(h, fresh) {
    var body = q("[data-room-history]");
    if (!body || body.querySelector('tr[data-seq="' + h.seq + '"]')) { return; }
    var empty = body.querySelector("[data-empty]");
    if (empty) { empty.remove(); }
    var row = historyRow(h, fresh), rows = body.querySelectorAll("tr[data-seq]"), placed = false;
    for (var i = 0; i < rows.length; i++) {
      if (num(rows[i].getAttribute("data-seq")) < h.seq) { body.insertBefore(row, rows[i]); placed = true; break; }
    }
    if (!placed) { body.append(row); }
  }
  function showPrice() {
    setText("[data-room-price]", st.price ? "¥" + yuan(st.price) : text("no-price"));
    setText("[data-room-capitals]", st.price ? capitals(st.price) : "");
  }
  function render(s) {
    // a phase with its own section (the outcome, the opt-in window): the page again
    var reload = s.phase !== st.phase && (s.phase === "ended" || st.phase === "scheduled" ||
                                          s.phase === "opt_in" || st.phase === "opt_in");
    st.phase = s.phase; st.price = s.price_fen; st.answers = s.answers_price;
    st.increment = s.increment_fen; st.minimum = s.next_minimum_fen;
    st.deadline = s.deadline_ms; st.pausedLeft = s.paused ? s.paused_left_ms : null;
    if (reload) { window.location.reload(); return; }
    root.setAttribute("data-phase", s.phase);
    showPrice();
    setText("[data-room-bids]", s.bids);
    setText("[data-room-phase]", s.phase_label);
    var title = q("[data-room-countdown-title]");
    if (title) { title.textContent = title.getAttribute("data-text-" + s.phase) || ""; }
    setText("[data-room-deadline]", s.paused ? text("paused") : (s.deadline_ms ? beijing(s.deadline_ms) : "—"));
    var status = q("[data-room-status]");
    if (status && s.me) {
      status.textContent = text(s.me.status);
      status.className = "badge fs-6 status-" + s.me.status;
    }
    var banner = q("[data-room-paused]");
    if (banner) { banner.classList.toggle("d-none", !s.paused); }
    setText("[data-room-pause-reason]", s.pause_reason || "");
    root.querySelectorAll("[data-answers]").forEach(function (el) { el.value = s.answers_price; });
    root.querySelectorAll("[data-answers-increment]").forEach(function (el) { el.value = s.increment_fen; });
    root.querySelectorAll("[data-room-increment]").forEach(function (el) { el.textContent = yuan(s.increment_fen); });
    (s.quick || []).forEach(function (qk) {
      var btn = q('[data-quick="' + qk.multiple + '"]');
      if (btn) { btn.querySelector("[data-quick-amount]").textContent = yuan(qk.amount_fen); btn.disabled = !s.bidding_open; }
    });
    var submit = q('[data-testid="bid-submit"]');
    if (submit) { submit.disabled = !s.bidding_open; }
    var body = q("[data-room-history]");
    if (body) {
      body.querySelectorAll("tr[data-seq]").forEach(function (tr) { tr.remove(); });
      (s.history || []).slice().reverse().forEach(function (h) { addBid(h, false); });
    }
    tick();
  }

  var stateTimer = null;
  function refresh() {
    if (stateTimer) { return; }
    stateTimer = setTimeout(function () {
      stateTimer = null;
      fetch(attr("state-url"), { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (s) { if (s) { sync(s.server_now_ms); render(s); } })
        .catch(function () { /* the next event or the reconnect's snapshot tries again */ });
    }, 100);
  }

  // --- bidding: the two-step confirmation --------------------------------------------------------
  var form = q("[data-bid-form]");
  var dialog = q("[data-bid-dialog]");
  var result = q("[data-room-result]");
  function say(kind, message) {
    if (!result) { return; }
    result.className = "alert alert-" + kind;
    result.textContent = message;
  }
  function newId() {
    var a = new Uint8Array(12);
    window.crypto.getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return (b < 16 ? "0" : "") + b.toString(16); }).join("");
  }
  function parseYuan(v) {
    var m = /^\s*(\d{1,13})(?:\.(\d{1,2}))?\s*$/.exec(String(v).replace(/[,，¥元]/g, ""));
    if (!m) { return null; }
    return parseInt(m[1], 10) * 100 + parseInt(((m[2] || "") + "00").slice(0, 2), 10);
  }
  function amountFor(multiple) {
    if (multiple) {
      var k = parseInt(multiple, 10);
      return st.minimum + (k - 1) * st.increment;
    }
    return parseYuan(q("[data-bid-amount]").value);
  }
  if (form && dialog && typeof dialog.showModal === "function") {
    var pending = null;
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var multiple = ev.submitter && ev.submitter.name === "multiple" ? ev.submitter.value : "";
      var amount = amountFor(multiple);
      var base = st.answers;
      if (amount === null) { say("danger", text("not-multiple")); return; }
      var minimum = st.minimum;
      if (amount < minimum) { say("danger", text("below")); return; }
      if ((amount - minimum) % st.increment !== 0) { say("danger", text("not-multiple")); return; }
      var diff = Math.max(amount - base, 0), steps = Math.floor(diff / st.increment);
      var bp = base ? Math.floor(diff * 10000 / base) : null;
      var large = steps >= st.largeSteps || (bp !== null && bp >= st.largeBp);
      pending = { amount: amount, answers: base, multiple: multiple, increment: st.increment };
      dialog.querySelector("[data-confirm-amount]").textContent = "¥" + yuan(amount);
      dialog.querySelector("[data-confirm-capitals]").textContent = capitals(amount);
      var jump = text("steps").replace("%(n)s", steps).replace("%(amount)s", yuan(steps * st.increment));
      if (bp !== null) { jump += text("pct").replace("%(p)s", (bp / 100).toFixed(2)).replace("%%", "%"); }
      dialog.querySelector("[data-confirm-jump]").textContent = jump;
      dialog.querySelector("[data-confirm-large]").classList.toggle("d-none", !large);
      dialog.showModal();
    });
    dialog.addEventListener("close", function () {
      if (dialog.returnValue !== "ok" || !pending) { pending = null; return; }
      var data = new FormData(form);
      data.set("answers_price", pending.answers);
      data.set("answers_increment", pending.increment);  // adjusted meanwhile: refused, not misread
      data.set("amount", (pending.amount / 100).toFixed(2));
      data.delete("multiple");
      data.set("confirm", "1");
      pending = null;
      say("info", text("sending"));
      fetch(form.action, { method: "POST", body: data, credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
        .then(function (r) {
          say(r.ok && r.body.accepted ? "success" : "danger", r.body.message || text("failed"));
          if (r.ok || r.body.error) { q("[data-client-bid-id]").value = newId(); }
          if (r.ok) { var input = q("[data-bid-amount]"); input.value = ""; input.dispatchEvent(new Event("input")); }
          refresh();
        })
        .catch(function () { say("danger", text("failed")); });  // same client id: a retry cannot bid twice
    });
  }

  // --- the stream ------------------------------------------------------------------------------
  if (!window.EventSource) { return; }
  var source = new EventSource(attr("stream-url"));
  function on(name, fn) {
    source.addEventListener(name, function (ev) {
      var data = {};
      try { data = JSON.parse(ev.data); } catch (e) { return; }
      if (typeof data.server_now_ms === "number") { sync(data.server_now_ms); }
      fn(data, ev.lastEventId);
      tick();
    });
  }
  source.onopen = function () { connection("live"); };
  source.onerror = function () { connection(source.readyState === EventSource.CLOSED ? "off" : "retry"); };
  on("auction:state", function (s) { render(s); refresh(); });
  on("tick", function () {});
  on("auction:bid", function (b) {
    st.price = b.price_fen;
    st.answers = b.price_fen;
    st.minimum = b.price_fen + st.increment;
    if (b.deadline) { st.deadline = Date.parse(b.deadline); }
    showPrice();
    addBid({ seq: b.seq, bidder: b.bidder, amount_fen: b.price_fen, at: b.at, mine: false }, true);
    setText("[data-room-bids]", b.seq);
    refresh();  // my status, the quick amounts, my own rows marked
  });
  on("auction:increment", function (d) {
    st.increment = d.increment_fen;
    st.minimum = d.next_minimum_fen;
    root.querySelectorAll("[data-room-increment]").forEach(function (el) { el.textContent = yuan(d.increment_fen); });
    root.querySelectorAll("[data-answers-increment]").forEach(function (el) { el.value = d.increment_fen; });
    say("warning", text("increment").replace("%(amount)s", yuan(d.increment_fen)));
    refresh();
  });
  ["auction:phase", "auction:paused", "auction:resumed", "auction:ended"].forEach(function (name) { on(name, refresh); });
})();
