// Province → city → district menus (progressive enhancement; the forms work without it).
// A form with data-cities-url refills its city menu when the province changes, from
// GET <data-cities-url>&province=<code>, and its district menu when the city changes, from
// GET <data-cities-url>&city=<code> (the address carries the page language, so the browser may
// keep each answer); a city without districts hides the district menu. The no-JS
// "Update the lists" button is hidden.
(function () {
  "use strict";

  function fill(select, items) {
    var placeholder = select.options.length ? select.options[0].cloneNode(true) : null;
    while (select.options.length) {
      select.remove(0);
    }
    if (placeholder) {
      placeholder.value = "";
      select.add(placeholder);
    }
    items.forEach(function (item) {
      var option = document.createElement("option");
      option.value = item.code;
      option.textContent = item.name;
      select.add(option);
    });
    select.value = items.length === 1 ? items[0].code : "";
  }

  function enhance(form) {
    var url = form.getAttribute("data-cities-url");
    var province = form.querySelector("select[name=province]");
    var city = form.querySelector("select[name=city]");
    var district = form.querySelector("select[name=district]");
    var districtRow = form.querySelector("[data-district-row]");
    if (!url || !province || !city || !window.fetch || !window.URL) {
      return;
    }
    var row = form.querySelector("[data-update-cities-row]");
    if (row) {
      row.hidden = true;
    }

    function load(param, code, target) {
      var address = new URL(url, document.baseURI);
      address.searchParams.set(param, code);
      target.disabled = true;
      return fetch(address.toString(), {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      })
        .then(function (response) {
          if (!response.ok) {
            throw new Error("HTTP " + response.status);
          }
          return response.json();
        })
        .catch(function () {
          if (row) {
            row.hidden = false; // fall back to the no-JS button
          }
          return null;
        })
        .then(function (data) {
          target.disabled = false;
          return data;
        });
    }

    function showDistricts(items) {
      if (!district) {
        return;
      }
      fill(district, items);
      if (districtRow) {
        districtRow.hidden = Boolean(city.value) && items.length === 0;
      }
    }

    function cityChanged() {
      if (!district) {
        return;
      }
      if (!city.value) {
        showDistricts([]);
        return;
      }
      load("city", city.value, district).then(function (data) {
        if (data) {
          showDistricts(data.districts || []);
        }
      });
    }

    province.addEventListener("change", function () {
      if (!province.value) {
        fill(city, []);
        showDistricts([]);
        return;
      }
      load("province", province.value, city).then(function (data) {
        if (data) {
          fill(city, data.cities || []);
          cityChanged(); // a municipality's single city is chosen at once: list its districts
        }
      });
    });
    city.addEventListener("change", cityChanged);
  }

  document.querySelectorAll("form[data-cities-url]").forEach(enhance);
})();
