// Supervisor alerts (电子监察): new alerts and status changes arrive over Server-Sent Events and are
// added to the table without a reload. No inline scripts (CSP); text goes in through textContent.
(function () {
  "use strict";
  var table = document.querySelector("[data-alerts-stream]");
  if (!table || !window.EventSource) { return; }
  var body = table.querySelector("[data-alert-rows]");
  var empty = table.querySelector("[data-alerts-empty]");
  var conn = document.querySelector("[data-alerts-conn]");
  var en = table.getAttribute("data-lang") === "en";
  var severityLabels = JSON.parse(table.getAttribute("data-severity-labels"));
  var statusLabels = JSON.parse(table.getAttribute("data-status-labels"));
  var detail = table.getAttribute("data-detail-url");

  function cell(row, text, cls) {
    var td = document.createElement("td");
    if (cls) { td.className = cls; }
    if (text !== undefined) { td.textContent = text; }
    row.appendChild(td);
    return td;
  }
  function beijing(iso) {
    var d = new Date(iso);
    if (isNaN(d)) { return iso; }
    var bj = new Date(d.getTime() + 8 * 3600 * 1000);
    function two(n) { return (n < 10 ? "0" : "") + n; }
    return bj.getUTCFullYear() + "-" + two(bj.getUTCMonth() + 1) + "-" + two(bj.getUTCDate()) + " " +
      two(bj.getUTCHours()) + ":" + two(bj.getUTCMinutes());
  }
  function counts() {
    ["red", "yellow"].forEach(function (s) {
      var badge = document.querySelector('[data-testid="alerts-' + s + '-count"]');
      if (badge) { badge.textContent = body.querySelectorAll('tr[data-severity="' + s + '"]').length; }
    });
  }
  function add(a) {
    if (body.querySelector('tr[data-alert-id="' + a.id + '"]')) { return; }
    var row = document.createElement("tr");
    row.setAttribute("data-testid", "alert-row");
    row.setAttribute("data-alert-id", a.id);
    row.setAttribute("data-severity", a.severity);
    row.className = "alert-row-" + a.severity + " alert-row-new";
    var badge = document.createElement("span");
    badge.className = "badge " + (a.severity === "red" ? "text-bg-danger" : "text-bg-warning");
    badge.setAttribute("data-testid", "alert-severity");
    badge.textContent = severityLabels[a.severity] || a.severity;
    cell(row).appendChild(badge);
    var rule = cell(row);
    var code = document.createElement("span");
    code.className = "font-monospace small";
    code.textContent = a.rule;
    var name = document.createElement("span");
    name.className = "small";
    name.textContent = en ? a.rule_name_en : a.rule_name;
    rule.appendChild(code); rule.appendChild(document.createElement("br")); rule.appendChild(name);
    cell(row, en ? a.summary_en : a.summary);
    cell(row, a.lot_code || "—", "small");
    cell(row, beijing(a.raised_at), "small text-nowrap");
    cell(row, statusLabels[a.status] || a.status).setAttribute("data-alert-status", "");
    var link = document.createElement("a");
    link.href = detail.replace(/\/0$/, "/" + a.id);
    link.setAttribute("data-testid", "alert-link");
    link.textContent = table.getAttribute("data-text-view");
    cell(row).appendChild(link);
    var firstYellow = a.severity === "red" ? body.querySelector('tr[data-severity="yellow"]') : null;
    body.insertBefore(row, firstYellow || body.firstChild);
    if (empty) { empty.hidden = true; }
    counts();
  }
  function status(s) {
    var row = body.querySelector('tr[data-alert-id="' + s.id + '"]');
    if (!row) { return; }
    row.querySelector("[data-alert-status]").textContent = statusLabels[s.status] || s.status;
  }
  function connection(state) {
    if (!conn) { return; }
    conn.setAttribute("data-state", state);
    conn.textContent = conn.getAttribute(state === "live" ? "data-text-live" : "data-text-retry") || "";
    conn.className = "badge " + (state === "live" ? "text-bg-success" : "text-bg-secondary");
  }
  var source = new EventSource(table.getAttribute("data-alerts-stream"));
  source.onopen = function () { connection("live"); };
  source.onerror = function () { connection("retry"); };
  source.addEventListener("alert:new", function (e) { add(JSON.parse(e.data)); });
  source.addEventListener("alert:status", function (e) { status(JSON.parse(e.data)); });
})();
