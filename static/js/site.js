// Small site-wide behaviour, no inline scripts (strict CSP).
// Countdowns are driven by the server clock: the page carries the server's "now" and each
// countdown its deadline, so a wrong client clock cannot shorten or lengthen a period.
(function () {
  "use strict";
  var body = document.body;
  var serverNow = Date.parse(body.getAttribute("data-server-now"));
  var offset = isNaN(serverNow) ? 0 : serverNow - Date.now();
  var en = document.documentElement.lang === "en";

  function pad(n) { return n < 10 ? "0" + n : "" + n; }
  function render(ms) {
    if (ms <= 0) { return en ? "ended" : "已截止"; }
    var s = Math.floor(ms / 1000), d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600),
        m = Math.floor(s % 3600 / 60), sec = s % 60;
    if (s < 3600) { return pad(m) + ":" + pad(sec); }
    return en ? d + "d " + h + "h " + m + "m " + sec + "s" : d + "天" + h + "时" + m + "分" + sec + "秒";
  }
  function tick() {
    var now = Date.now() + offset;
    document.querySelectorAll("[data-deadline]").forEach(function (el) {
      el.textContent = render(Date.parse(el.getAttribute("data-deadline")) - now);
    });
    var clock = document.querySelector("[data-clock]");
    if (clock) {
      var bj = new Date(now + 8 * 3600 * 1000);
      clock.textContent = bj.toISOString().slice(0, 16).replace("T", " ");
    }
  }
  if (document.querySelector("[data-deadline]") || document.querySelector("[data-clock]")) {
    tick(); setInterval(tick, 1000);
  }

  // Live 大写 preview next to money inputs: <input data-capitals-for="id-of-output">.
  // The official form (会计基础工作规范 Art. 52): 人民币 prefix, 整 after 元 or 角, none after 分 —
  // the same vectors as trading.core.money.to_capitals (tests/e2e/test_capitals.py compares them).
  function capitals(text) {
    var nzh = window.Nzh && (window.Nzh.cn || window.Nzh);
    if (!nzh) { return ""; }
    var v = (text || "").replace(/[,，\s¥元]/g, "");
    if (!/^\d{1,13}(\.\d{1,2})?$/.test(v)) { return ""; }
    var out = nzh.toMoney(v, { outSymbol: false });
    if (/[元角]$/.test(out)) { out += "整"; }
    return "人民币" + out;
  }
  window.Trading = window.Trading || {};
  window.Trading.capitals = capitals;
  document.querySelectorAll("[data-capitals-for]").forEach(function (input) {
    var out = document.getElementById(input.getAttribute("data-capitals-for"));
    var update = function () { if (out) { out.textContent = capitals(input.value); } };
    input.addEventListener("input", update); update();
  });
})();
