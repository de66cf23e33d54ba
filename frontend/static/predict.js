// The drop zone: drag and drop, click to choose, or paste a photo. Everything else is htmx.
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
      if (preview && file.type && file.type.indexOf("image/") === 0) {
        if (preview.src) URL.revokeObjectURL(preview.src);
        preview.src = URL.createObjectURL(file);
        preview.hidden = false;
      }
      htmx.trigger(form, "submit");
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
      if (sample && preview) { preview.src = sample.dataset.preview; preview.hidden = false; }
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setup);
  else setup();
})();
