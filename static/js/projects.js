// Registration form: add and remove lot rows (the page works without this script: it shows five
// rows and skips blank ones), and the live 大写 preview for rows added here. No inline scripts (CSP).
(function () {
  "use strict";
  var box = document.querySelector("[data-lot-rows]");
  var addBtn = document.querySelector("[data-add-lot]");
  if (!box || !addBtn) { return; }
  var max = parseInt(box.getAttribute("data-max"), 10) || 20;
  var ATTRS = ["name", "id", "for", "data-capitals-for", "aria-describedby"];

  function capitals(text) { return window.Trading && window.Trading.capitals ? window.Trading.capitals(text) : ""; }
  function rows() { return box.querySelectorAll("[data-lot-row]"); }
  function renumber() {
    var all = rows();
    all.forEach(function (row, i) {
      row.querySelectorAll("input, label, div[id]").forEach(function (el) {
        ATTRS.forEach(function (attr) {
          var v = el.getAttribute(attr);
          if (v) { el.setAttribute(attr, v.replace(/lots-\d+-/, "lots-" + i + "-")); }
        });
      });
      var no = row.querySelector("[data-lot-no]");
      if (no) { no.textContent = String(i + 1); }
      var remove = row.querySelector("[data-remove-lot]");
      if (remove) { remove.disabled = all.length <= 1; }
    });
    addBtn.disabled = all.length >= max;
  }
  box.addEventListener("click", function (e) {
    var btn = e.target.closest("[data-remove-lot]");
    if (!btn || rows().length <= 1) { return; }
    btn.closest("[data-lot-row]").remove();
    renumber();
  });
  addBtn.addEventListener("click", function () {
    var all = rows();
    if (all.length >= max) { return; }
    var clone = all[all.length - 1].cloneNode(true);
    clone.querySelectorAll("input").forEach(function (input) { input.value = ""; input.classList.remove("is-invalid"); });
    clone.querySelectorAll(".invalid-feedback").forEach(function (el) { el.remove(); });
    clone.querySelectorAll(".amount-capitals").forEach(function (el) { el.textContent = ""; });
    box.appendChild(clone);
    renumber();
    clone.querySelector("input").focus();
  });
  box.addEventListener("input", function (e) {
    var target = e.target.getAttribute && e.target.getAttribute("data-capitals-for");
    var out = target && document.getElementById(target);
    if (out) { out.textContent = capitals(e.target.value); }
  });
  document.querySelectorAll("[data-capitals-for]").forEach(function (input) {
    var out = document.getElementById(input.getAttribute("data-capitals-for"));
    if (out) { out.textContent = capitals(input.value); }
  });
  document.querySelectorAll("[data-add-lot], [data-remove-lot]").forEach(function (b) { b.classList.remove("d-none"); });
  renumber();
})();
