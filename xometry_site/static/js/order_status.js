// While an order waits for payment, ask its status every few seconds; once it changes (the
// signed WeChat Pay notification, or a transfer recorded by staff, moved it on) open the order
// page (data-order-url) afresh: the WeChat Pay page is the answer to a POST, never reloaded.
(function () {
  "use strict";
  var box = document.getElementById("next-step");
  if (!box || !window.fetch) { return; }
  var url = box.getAttribute("data-status-url");
  var shown = box.getAttribute("data-status");
  var page = box.getAttribute("data-order-url");
  var tries = 0;
  function poll() {
    if (++tries > 360) { return; } // half an hour of polling at most
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) {
        if (body && body.status !== shown) {
          if (page) { window.location.assign(page); } else { window.location.reload(); }
          return;
        }
        window.setTimeout(poll, 5000);
      })
      .catch(function () { window.setTimeout(poll, 10000); });
  }
  window.setTimeout(poll, 5000);
})();
