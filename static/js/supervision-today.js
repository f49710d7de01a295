// Supervision dashboard: the "today's live trading" section (openings, evaluations, auctions) is
// fetched again from the server every 20 seconds while the page is visible, so the states stay
// current without a reload. The fragment is the server's own rendering (escaped by the template);
// no inline scripts (CSP).
(function () {
  "use strict";
  var PERIOD_MS = 20000;
  function section() { return document.querySelector("[data-today-url]"); }
  if (!section() || !window.fetch || !window.DOMParser) { return; }
  var url = section().getAttribute("data-today-url");
  function refresh() {
    if (document.hidden) { return; }
    fetch(url, {credentials: "same-origin", headers: {"Accept": "text/html"}}).then(function (r) {
      return r.ok ? r.text() : null;
    }).then(function (html) {
      if (!html) { return; }
      var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("[data-today-url]");
      var old = section();
      if (fresh && old) { old.replaceWith(document.importNode(fresh, true)); }
    }).catch(function () { /* the next period tries again */ });
  }
  window.setInterval(refresh, PERIOD_MS);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) { refresh(); } });
})();
