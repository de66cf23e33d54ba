// The drop zone: drag and drop, click to choose, or paste a photo. Everything else is htmx.
// While a prediction is on its way the previous bars go at once and "Predicting…" shows; the
// photo's preview appears only once the server has decoded it (never for a file it refused).
(function () {
  "use strict";

  function setup() {
    var form = document.getElementById("predict-form");
    var zone = document.getElementById("drop-zone");
    var input = document.getElementById("predict-file");
    var preview = document.getElementById("drop-preview");
    if (!form || !zone || !input) return;
    // The drop zone is the keyboard's way in (Enter or Space opens the chooser): the hidden
    // input behind it must not be a second, invisible tab stop. Without JS it stays focusable.
    input.tabIndex = -1;

    function send(file) {
      if (!file) return;
      var files = new DataTransfer();
      files.items.add(file);
      input.files = files.files;
      if (preview) {
        if (preview.src.indexOf("blob:") === 0) URL.revokeObjectURL(preview.src);
        preview.src = URL.createObjectURL(file);
      }
      htmx.trigger(form, "submit");
    }

    function isPrediction(event) {
      var target = event.detail.target;
      return target && target.id === "prediction-result";
    }

    input.addEventListener("change", function () { send(input.files[0]); });
    zone.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === " ") { event.preventDefault(); input.click(); }
    });
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (event) {
        event.preventDefault();
        zone.classList.add("dragging");
      });
    });
    ["dragleave", "drop"].forEach(function (name) {
      zone.addEventListener(name, function () { zone.classList.remove("dragging"); });
    });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      if (event.dataTransfer && event.dataTransfer.files.length) send(event.dataTransfer.files[0]);
    });
    document.addEventListener("paste", function (event) {
      var items = (event.clipboardData && event.clipboardData.files) || [];
      if (items.length) { event.preventDefault(); send(items[0]); }
    });
    document.body.addEventListener("click", function (event) {
      var sample = event.target.closest && event.target.closest("button.sample");
      if (sample && preview) preview.src = sample.dataset.preview;
    });
    document.body.addEventListener("htmx:beforeRequest", function (event) {
      if (!isPrediction(event)) return;
      event.detail.target.innerHTML = "";
      if (preview) preview.hidden = true;
    });
    document.body.addEventListener("htmx:afterSwap", function (event) {
      if (!isPrediction(event) || !preview) return;
      preview.hidden = !(preview.getAttribute("src") && event.detail.target.querySelector(".bars"));
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setup);
  else setup();
})();
