// Drag-and-drop and per-file progress for /quotes/new. Without JavaScript the same form posts
// as plain multipart; with it, the files are sent by XMLHttpRequest so progress can be shown.
(function () {
  "use strict";
  var form = document.getElementById("quote-form");
  if (!form || !window.FormData || !window.XMLHttpRequest) { return; }
  var input = document.getElementById("files");
  var zone = document.getElementById("dropzone");
  var list = document.getElementById("upload-list");
  var errorBox = document.getElementById("upload-errors");
  var submit = document.getElementById("upload-submit");
  var maxSize = parseInt(form.getAttribute("data-max-file-size"), 10);
  var maxFiles = parseInt(form.getAttribute("data-max-files"), 10);
  var accepted = form.getAttribute("data-accept").split(",");
  var combos = JSON.parse(form.getAttribute("data-combinations") || "{}");
  var chosen = []; // {file, row, bar, state}
  var sending = false;

  function msg(name, values) {
    var text = form.getAttribute("data-msg-" + name) || "";
    Object.keys(values || {}).forEach(function (k) { text = text.split("{" + k + "}").join(values[k]); });
    return text;
  }

  function showErrors(messages) {
    errorBox.textContent = "";
    messages.forEach(function (m) {
      var p = document.createElement("p");
      p.textContent = m;
      errorBox.appendChild(p);
    });
    errorBox.hidden = messages.length === 0;
    if (messages.length) { errorBox.scrollIntoView({ block: "nearest" }); }
  }

  function extensionOf(name) {
    var dot = name.lastIndexOf(".");
    return dot > 0 ? name.slice(dot).toLowerCase() : "";
  }

  function problemOf(file) {
    if (accepted.indexOf(extensionOf(file.name)) < 0) { return msg("bad-type", { name: file.name }); }
    if (file.size === 0) { return msg("empty", { name: file.name }); }
    if (file.size > maxSize) { return msg("too-large", { name: file.name }); }
    return "";
  }

  function humanSize(bytes) {
    if (bytes < 1024) { return bytes + " B"; }
    if (bytes < 1048576) { return (bytes / 1024).toFixed(1) + " KB"; }
    return (bytes / 1048576).toFixed(1) + " MB";
  }

  function addFiles(files) {
    for (var i = 0; i < files.length; i++) {
      var file = files[i];
      var row = document.createElement("li");
      row.className = "upload-item";
      var name = document.createElement("span");
      name.className = "upload-name";
      name.textContent = file.name + " (" + humanSize(file.size) + ")";
      var bar = document.createElement("progress");
      bar.max = 100;
      bar.value = 0;
      bar.setAttribute("aria-label", file.name);
      var state = document.createElement("span");
      state.className = "upload-state";
      var remove = document.createElement("button");
      remove.type = "button";
      remove.className = "link-button upload-remove";
      remove.textContent = msg("remove");
      var entry = { file: file, row: row, bar: bar, state: state };
      remove.addEventListener("click", function (e) {
        if (sending) { return; }
        var item = chosen.filter(function (c) { return c.remove === e.currentTarget; })[0];
        chosen.splice(chosen.indexOf(item), 1);
        item.row.remove();
      });
      entry.remove = remove;
      var problem = problemOf(file);
      if (problem) { row.classList.add("upload-bad"); state.textContent = problem; }
      row.appendChild(name);
      row.appendChild(bar);
      row.appendChild(state);
      row.appendChild(remove);
      list.appendChild(row);
      chosen.push(entry);
    }
  }

  input.addEventListener("change", function () {
    addFiles(input.files);
    input.value = "";
  });
  ["dragenter", "dragover"].forEach(function (type) {
    zone.addEventListener(type, function (e) { e.preventDefault(); zone.classList.add("dragging"); });
  });
  ["dragleave", "drop"].forEach(function (type) {
    zone.addEventListener(type, function (e) { e.preventDefault(); zone.classList.remove("dragging"); });
  });
  zone.addEventListener("drop", function (e) {
    if (e.dataTransfer && e.dataTransfer.files) { addFiles(e.dataTransfer.files); }
  });

  // Materials and finishes offered for the chosen process only.
  var processSelect = form.querySelector("select[name=process]");
  var materialSelect = form.querySelector("select[name=material]");
  var finishSelect = form.querySelector("select[name=finish]");
  function filterChoices() {
    var combo = combos[processSelect.value];
    if (!combo) { return; }
    [materialSelect, finishSelect].forEach(function (select) {
      var allowed = select === materialSelect ? combo.materials : Object.keys(combo.finishes);
      var groupLabel = processSelect.options[processSelect.selectedIndex].text;
      Array.prototype.forEach.call(select.querySelectorAll("optgroup"), function (group) {
        var show = group.label === groupLabel;
        group.hidden = !show;
        Array.prototype.forEach.call(group.querySelectorAll("option"), function (o) {
          o.disabled = !show || allowed.indexOf(o.value) < 0;
        });
      });
      var current = select.options[select.selectedIndex];
      if (current && current.disabled) {
        var first = select.querySelector("option:not([disabled])");
        if (first) { first.selected = true; }
      }
    });
  }
  if (processSelect && materialSelect && finishSelect) {
    processSelect.addEventListener("change", filterChoices);
    filterChoices();
  }

  function setProgress(loaded, total) {
    var sizes = chosen.reduce(function (sum, c) { return sum + c.file.size; }, 0);
    var overhead = Math.max(total - sizes, 0);
    var done = Math.max(loaded - overhead, 0);
    chosen.forEach(function (c) {
      var part = Math.min(Math.max(done, 0), c.file.size);
      c.bar.value = c.file.size ? Math.round(100 * part / c.file.size) : 100;
      done -= c.file.size;
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (sending) { return; }
    var problems = chosen.map(function (c) { return problemOf(c.file); }).filter(Boolean);
    if (!chosen.length) { problems.push(msg("none")); }
    if (chosen.length > maxFiles) { problems.push(msg("too-many")); }
    if (problems.length) { showErrors(problems); return; }
    showErrors([]);
    var data = new FormData();
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.type === "file" || el.disabled) { return; }
      data.append(el.name, el.value);
    });
    chosen.forEach(function (c) { data.append("files", c.file, c.file.name); });
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) { setProgress(e.loaded, e.total); }
    });
    var sent = false;
    var answered = false;
    xhr.upload.addEventListener("load", function () {
      sent = true;
      chosen.forEach(function (c) { c.bar.value = 100; c.state.textContent = msg("done"); });
    });
    xhr.addEventListener("load", function () {
      answered = true;
      var answer = {};
      try { answer = JSON.parse(xhr.responseText); } catch (ignore) { answer = {}; }
      if (xhr.status < 300 && answer.redirect) {
        window.location.assign(answer.redirect);
        return;
      }
      fail(answer.errors || (answer.error ? [answer.error] : [msg("failed")]));
    });
    // No answer (error, abort, timeout). The server answers a refused file at once and closes
    // the connection while the rest is still being sent: most browsers show that answer (above),
    // some report only the closed connection, so say what is most likely wrong.
    xhr.addEventListener("loadend", function () {
      if (!answered) { fail([msg(sent ? "failed" : "cut")]); }
    });
    sending = true;
    submit.disabled = true;
    form.classList.add("uploading");
    chosen.forEach(function (c) { c.state.textContent = msg("uploading"); });
    xhr.send(data);
  });

  function fail(messages) {
    sending = false;
    submit.disabled = false;
    form.classList.remove("uploading");
    chosen.forEach(function (c) { c.bar.value = 0; c.state.textContent = ""; });
    showErrors(messages);
  }
})();
