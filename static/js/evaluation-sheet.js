// Scoring sheet: live running total while typing, and an autosave of the draft a few seconds after
// the last change (tablet and desktop stay in step through the sheet's revision). The server computes
// and checks everything again; the page works without this script. No inline scripts (CSP).
(function () {
  "use strict";
  var form = document.getElementById("sheet-form");
  if (!form) { return; }
  var fieldset = form.querySelector("fieldset");
  if (fieldset && fieldset.disabled) { return; }
  var status = form.querySelector("[data-autosave-status]");
  var subtotalEl = form.querySelector("[data-subtotal]");
  var totalEl = form.querySelector("[data-total]");
  var priceScore = form.getAttribute("data-price-score");
  var timer = null;

  // hundredths as integers: no floating-point sums
  function hundredths(text) {
    var m = /^\s*(\d+)(?:\.(\d{1,2}))?\s*$/.exec(text || "");
    if (!m) { return null; }
    return parseInt(m[1], 10) * 100 + parseInt(((m[2] || "") + "00").slice(0, 2), 10);
  }
  function show(h) { return (h / 100).toFixed(2); }
  function recompute() {
    var sum = 0;
    form.querySelectorAll("[data-score]").forEach(function (input) {
      var h = hundredths(input.value);
      var max = hundredths(input.getAttribute("data-max"));
      var bad = input.value.trim() !== "" && (h === null || h > max);
      input.classList.toggle("is-invalid", bad);
      if (h !== null && !bad) { sum += h; }
    });
    if (subtotalEl) { subtotalEl.textContent = show(sum); }
    var p = hundredths(priceScore);
    var rejected = (form.querySelector("input[name=decision]:checked") || {}).value === "reject";
    if (totalEl && p !== null) { totalEl.textContent = rejected ? "—" : show(sum + p); }  // a rejected bidder has no total
  }
  function payload() {
    var data = { decision: (form.querySelector("input[name=decision]:checked") || {}).value || "score",
                 revision: form.elements.revision.value, reject_code: form.elements.reject_code.value,
                 reject_note: form.elements.reject_note.value };
    form.querySelectorAll("[data-score]").forEach(function (input) {
      data[input.name] = input.value;
    });
    form.querySelectorAll("textarea[name^=comment_]").forEach(function (t) { data[t.name] = t.value; });
    return data;
  }
  function save() {
    fetch(form.getAttribute("data-autosave-url"), {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json",
                 "X-CSRFToken": form.elements.csrf_token.value },
      body: JSON.stringify(payload())
    }).then(function (res) {
      return res.json().then(function (body) { return { ok: res.ok, body: body }; });
    }).then(function (r) {
      if (r.ok) {
        form.elements.revision.value = r.body.revision;
        if (status) { status.textContent = status.getAttribute("data-saved") || "✓"; }
      } else if (status) {
        status.textContent = r.body.message || "!";
      }
    }).catch(function () { if (status) { status.textContent = "…"; } });
  }
  form.addEventListener("input", function () {
    recompute();
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(save, 3000);
  });
  recompute();
})();
