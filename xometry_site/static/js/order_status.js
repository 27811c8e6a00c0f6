// While an order waits for payment, ask its status every few seconds; reload once it changes
// (the signed WeChat Pay notification, or a transfer recorded by staff, moved it on).
(function () {
  "use strict";
  var box = document.getElementById("next-step");
  if (!box || !window.fetch) { return; }
  var url = box.getAttribute("data-status-url");
  var shown = box.getAttribute("data-status");
  var tries = 0;
  function poll() {
    if (++tries > 360) { return; } // half an hour of polling at most
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) {
        if (body && body.status !== shown) { window.location.reload(); return; }
        window.setTimeout(poll, 5000);
      })
      .catch(function () { window.setTimeout(poll, 10000); });
  }
  window.setTimeout(poll, 5000);
})();
