// Evaluation progress (owner, agency, centre, supervisor): the stream's milestones (check-in,
// submissions, signatures — never a score) trigger a re-read of the counts. No inline scripts (CSP).
(function () {
  "use strict";
  var table = document.querySelector("[data-progress-stream]");
  if (!table || !window.EventSource) { return; }
  var live = document.querySelector("[data-progress-live]");

  function render(state) {
    (state.members || []).forEach(function (m) {
      var row = table.querySelector('[data-member="' + m.id + '"]');
      if (!row) { return; }
      row.querySelector("[data-declared]").textContent = m.declared + " / " + m.expected;
      row.querySelector("[data-submitted]").textContent = m.submitted + " / " + m.expected;
    });
    if (state.all_submitted && live) { live.textContent = "✓"; }
  }
  function refresh() {
    fetch(table.getAttribute("data-progress-json"), { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (res) { return res.ok ? res.json() : null; })
      .then(function (state) { if (state) { render(state); } });
  }
  var source = new EventSource(table.getAttribute("data-progress-stream"));
  source.addEventListener("evaluation:progress", function (e) { render(JSON.parse(e.data)); });
  ["evaluation:checked_in", "evaluation:member_replaced", "evaluation:sheet_submitted", "evaluation:all_submitted",
   "evaluation:report_generated", "evaluation:report_signed", "evaluation:report_final"].forEach(function (name) {
    source.addEventListener(name, refresh);
  });
})();
