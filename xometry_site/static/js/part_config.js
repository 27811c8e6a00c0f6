// Live price of each part on the quote page: when an option changes, ask the price endpoint and
// show the unit price, amount, lead time, price breaks, review reasons and the quote total.
// Nothing is saved until "Save this part"; without JavaScript that button still does it all.
(function () {
  "use strict";
  if (!window.fetch || !window.URLSearchParams) { return; }

  function text(el, value) { if (el) { el.textContent = value; } }
  function fill(template, values) {
    Object.keys(values).forEach(function (k) { template = template.split("{" + k + "}").join(values[k]); });
    return template;
  }

  // Only the materials and finishes of the chosen process can be picked.
  function limitChoices(form, combos) {
    var process = form.elements.process.value;
    var allowed = combos[process] || { materials: [], finishes: {} };
    var material = form.elements.material;
    Array.prototype.forEach.call(material.options, function (o) {
      o.disabled = allowed.materials.indexOf(o.value) < 0;
    });
    if (material.selectedOptions[0] && material.selectedOptions[0].disabled) {
      material.value = allowed.materials[0] || "";
    }
    var finish = form.elements.finish;
    Array.prototype.forEach.call(finish.options, function (o) {
      var only = allowed.finishes.hasOwnProperty(o.value) ? allowed.finishes[o.value] : undefined;
      o.disabled = only === undefined || (only !== null && only.indexOf(material.value) < 0);
    });
    if (finish.selectedOptions[0] && finish.selectedOptions[0].disabled) {
      var first = Array.prototype.filter.call(finish.options, function (o) { return !o.disabled; })[0];
      finish.value = first ? first.value : "";
    }
  }

  function showHints(form, review) {
    form.querySelectorAll("[data-hint-for]").forEach(function (hint) {
      var mine = review && review.field === hint.getAttribute("data-hint-for");
      hint.hidden = !mine;
      if (mine) { hint.textContent = review.message; }
    });
  }

  function showFindings(part, findings) {
    var list = document.getElementById("part-" + part + "-dfm");
    if (!list) { return; }
    list.textContent = "";
    findings.forEach(function (f) {
      var li = document.createElement("li");
      li.className = "dfm dfm-" + f.severity;
      li.setAttribute("data-code", f.code);
      li.textContent = f.message;
      list.appendChild(li);
    });
    list.hidden = findings.length === 0;
  }

  function showBreaks(part, body, quantity) {
    var table = document.getElementById("part-" + part + "-breaks");
    if (!table) { return; }
    table.hidden = !body.instant;
    var tbody = table.tBodies[0];
    tbody.textContent = "";
    body.breaks.forEach(function (b, i) {
      var row = tbody.insertRow();
      if (b.quantity === quantity) { row.className = "chosen"; }
      row.insertCell().textContent = String(b.quantity);
      row.insertCell().textContent = body.text.breaks[i];
    });
  }

  function showPrice(form, body) {
    var part = form.getAttribute("data-part");
    var box = document.getElementById("part-" + part + "-price");
    var quantity = parseInt(form.elements.quantity.value, 10);
    var line = document.getElementById("line-" + part);
    showHints(form, body.review);
    showFindings(part, body.dfm);
    showBreaks(part, body, quantity);
    if (box) {
      var priceLine = box.querySelector(".price-line");
      var reviewLine = box.querySelector("[data-price=review-line]");
      var lead = box.querySelector("[data-price=lead]");
      var breakdown = box.querySelector(".breakdown");
      if (priceLine) { priceLine.hidden = !body.instant; }
      if (reviewLine) { reviewLine.hidden = body.instant; }
      if (lead) { lead.hidden = !body.instant; }
      if (breakdown) { breakdown.hidden = true; } // the saved price's lines no longer apply
      if (body.instant) {
        text(box.querySelector("[data-price=unit]"), body.text.unit_price);
        text(box.querySelector("[data-price=summary]"), fill(form.getAttribute("data-msg-summary"), { n: quantity, amount: body.text.total }));
        text(lead, fill(form.getAttribute("data-msg-lead"), { standard: body.lead_days.standard, expedited: body.lead_days.expedited }));
      } else {
        text(box.querySelector("[data-price=review]"), body.review ? body.review.message : "");
      }
    }
    if (line) {
      text(line.querySelector("[data-line=unit]"), body.instant ? body.text.unit_price : form.getAttribute("data-msg-review"));
      text(line.querySelector("[data-line=quantity]"), String(quantity));
      text(line.querySelector("[data-line=total]"), body.instant ? body.text.total : "—");
    }
    text(document.getElementById("quote-subtotal"), body.text.quote_subtotal);
    text(document.getElementById("quote-vat"), body.text.quote_vat);
    text(document.getElementById("quote-total"), body.text.quote_total);
  }

  function watch(form) {
    var combos = JSON.parse(form.getAttribute("data-combinations") || "{}");
    var timer = null;
    var sequence = 0;
    var box = document.getElementById("part-" + form.getAttribute("data-part") + "-price");

    function update() {
      var params = new URLSearchParams();
      ["process", "material", "finish", "quantity", "tolerance", "threads", "inspection"].forEach(function (name) {
        params.set(name, form.elements[name].value);
      });
      var mine = ++sequence;
      if (box) { box.classList.add("updating"); }
      var headers = { "Accept": "application/json" };
      // the page's signed ticket for this part lets the server price it without reloading it
      var ticket = form.getAttribute("data-price-ticket");
      if (ticket) { headers["X-Price-Ticket"] = ticket; }
      fetch(form.getAttribute("data-price-url") + "?" + params.toString(), {
        credentials: "same-origin",
        headers: headers
      }).then(function (response) {
        return response.json().then(function (body) { return { ok: response.ok, body: body }; });
      }).then(function (answer) {
        if (mine !== sequence) { return; } // an older answer arriving late
        if (box) { box.classList.remove("updating"); }
        if (answer.ok) {
          showPrice(form, answer.body);
        } else {
          var field = answer.body.error && answer.body.error.fields ? Object.keys(answer.body.error.fields)[0] : null;
          showHints(form, { field: field || "file", message: answer.body.error ? answer.body.error.message : form.getAttribute("data-msg-failed") });
        }
      }).catch(function () {
        if (mine !== sequence) { return; }
        if (box) { box.classList.remove("updating"); }
        showHints(form, { field: "file", message: form.getAttribute("data-msg-failed") });
      });
    }

    function changed(event) {
      if (event.target.name === "process" || event.target.name === "material") { limitChoices(form, combos); }
      window.clearTimeout(timer);
      timer = window.setTimeout(update, event.type === "input" ? 300 : 0);
    }
    limitChoices(form, combos);
    form.addEventListener("change", changed);
    form.addEventListener("input", function (event) {
      if (event.target.type === "number") { changed(event); }
    });
  }

  document.querySelectorAll("form.part-form").forEach(watch);
})();
