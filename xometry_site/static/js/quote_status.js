// While the drawings are analysed, ask the quote's status several times a second at first (a STEP
// part is priced in about a second), then less often, and reload once it has a price (shown
// while manufacturability is still checked), and again once the analysis is done (orderable, or
// gone to an engineer). Without JavaScript the page refreshes itself every five seconds instead.
(function () {
  "use strict";
  var box = document.getElementById("quote-state");
  var url = box && box.getAttribute("data-status-url");
  if (!url || !window.fetch) { return; }
  var priced = box.getAttribute("data-priced") === "1";
  var started = Date.now();
  function next() {
    var waited = Date.now() - started;
    if (waited > 15 * 60 * 1000) { return; } // a quarter of an hour: stop asking
    var delay = waited < 5000 ? 150 : waited < 10000 ? 300 : waited < 60000 ? 1000 : 5000;
    window.setTimeout(poll, delay);
  }
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) {
        if (body && (!body.analysing || (body.priced && !priced))) {
          window.location.reload();
          return;
        }
        next();
      })
      .catch(next);
  }
  next();
})();
