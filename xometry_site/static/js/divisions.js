// Province → city menus (progressive enhancement; the forms work without it).
// A form with data-cities-url refills its city menu when the province changes, in the page
// language, from GET <data-cities-url>?province=<code>; the no-JS "Update cities" button is hidden.
(function () {
  "use strict";

  function fillCities(citySelect, cities) {
    var placeholder = citySelect.options.length ? citySelect.options[0].cloneNode(true) : null;
    while (citySelect.options.length) {
      citySelect.remove(0);
    }
    if (placeholder) {
      placeholder.value = "";
      citySelect.add(placeholder);
    }
    cities.forEach(function (city) {
      var option = document.createElement("option");
      option.value = city.code;
      option.textContent = city.name;
      citySelect.add(option);
    });
    citySelect.value = cities.length === 1 ? cities[0].code : "";
  }

  function enhance(form) {
    var url = form.getAttribute("data-cities-url");
    var province = form.querySelector("select[name=province]");
    var city = form.querySelector("select[name=city]");
    if (!url || !province || !city || !window.fetch) {
      return;
    }
    var row = form.querySelector("[data-update-cities-row]");
    if (row) {
      row.hidden = true;
    }
    province.addEventListener("change", function () {
      if (!province.value) {
        fillCities(city, []);
        return;
      }
      city.disabled = true;
      fetch(url + "?province=" + encodeURIComponent(province.value), {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      })
        .then(function (response) {
          if (!response.ok) {
            throw new Error("HTTP " + response.status);
          }
          return response.json();
        })
        .then(function (data) {
          fillCities(city, data.cities || []);
        })
        .catch(function () {
          if (row) {
            row.hidden = false; // fall back to the no-JS button
          }
        })
        .then(function () {
          city.disabled = false;
        });
    });
  }

  document.querySelectorAll("form[data-cities-url]").forEach(enhance);
})();
